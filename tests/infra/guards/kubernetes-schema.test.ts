/** Guard 1: every Kubernetes object in every stack plan validates against the kubernetes-models schemas. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planJson } from "../helpers";
import { NO_SCHEMA_ALLOWED, validatePlan, validateResource } from "./kubernetes-schema";

const STACKS = ["local", "dev", "staging", "prod", "onprem", "dr"];

describe("Kubernetes object schema guard", () => {
  for (const stack of STACKS) {
    it(`${stack}: every Kubernetes object validates against its schema`, async () => {
      const plan = await planJson(stack);
      const k8s = plan.resources.filter((r) => r.type.startsWith("kubernetes:"));
      assert.ok(k8s.length > 0, `${stack} has Kubernetes objects`);
      const problems = await validatePlan(plan.resources);
      assert.deepEqual(
        problems.map((p) => `${p.resource} ${p.message}`),
        [],
      );
    });
  }

  it("names the resource and the field path of a violation", async () => {
    const problems = await validateResource({
      type: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
      name: "r1",
      inputs: { metadata: { name: "r1" }, spec: { rules: [{ matches: [{ path: { type: "Prefix", value: "/" } }] }] } },
    });
    assert.ok(problems.length > 0);
    assert.ok(problems.every((p) => p.resource === "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::r1"));
    assert.ok(
      problems.some((p) => p.message.startsWith("/spec/rules/0/matches/0/path/type")),
      JSON.stringify(problems),
    );
  });

  it("fails an object kind with no schema unless it is allow-listed", async () => {
    const [p] = await validateResource({ type: "kubernetes:example.com/v1:Widget", name: "w", inputs: {} });
    assert.match(p.message, /no schema for kubernetes:example\.com\/v1:Widget/);
    assert.deepEqual(await validateResource({ type: Object.keys(NO_SCHEMA_ALLOWED)[0], name: "x", inputs: {} }), []);
  });

  it("checks a group no package ships against its stored CRD schema, unknown fields included", async () => {
    const type = "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject";
    const spec = {
      hosts: ["m1.example.com"],
      scaleTargetRef: { name: "m1", service: "m1", port: 8080 },
      timeouts: { conditionWait: "600s" },
    };
    assert.deepEqual(await validateResource({ type, name: "h", inputs: { metadata: { name: "m1" }, spec } }), []);
    const [p] = await validateResource({
      type,
      name: "h",
      inputs: { metadata: { name: "m1" }, spec: { ...spec, timeouts: { conditionWiat: "600s" } } },
    });
    assert.match(p.message, /\/spec\/timeouts: must NOT have additional properties .*conditionWiat/);
  });

  it("substitutes masked secrets with values of the field's type", async () => {
    const problems = await validateResource({
      type: "kubernetes:core/v1:Secret",
      name: "s",
      inputs: { metadata: { name: "s" }, type: "Opaque", stringData: "[secret]" },
    });
    assert.deepEqual(problems, []);
  });
});

describe("kubernetes-models version table", () => {
  it("records the installed version of every package the guard uses", async () => {
    const table = (await import("./fixtures/kubernetes-models-versions.json")) as unknown as {
      packages: { package: string; version: string }[];
    };
    const pkg = (await import("../../../package.json")) as unknown as { devDependencies: Record<string, string> };
    for (const p of table.packages)
      assert.equal(pkg.devDependencies[p.package], p.version, `fixture row ${p.package} must match package.json`);
  });
});

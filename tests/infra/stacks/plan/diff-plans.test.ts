/**
 * The plan diff on real plans of crafted stack files: each variant of the local stack is planned by the CLI
 * (`--config-file`, its own process), then diffed. Pins what a reviewer sees in a pull request's plan comment.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import { diffPlans, type PlanDiff } from "../../../../stacks/plan/diff";
import type { PlanDocument } from "../../../../stacks/plan/render";
import { planCli, REPO_ROOT } from "../../helpers";

type StackDoc = { config: Record<string, unknown> };
const K = (k: string) => `llm-platform:${k}`;

const baseDoc = () => parse(readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as StackDoc;

/** Variants of the repo's local stack: the diff is pinned on the real program's resources. */
const VARIANTS: Record<string, (d: StackDoc) => void> = {
  base: () => {},
  newImage: (d) => {
    d.config[K("runtime")] = { image: "ghcr.io/llm-platform/llm-runtime:0.2.0-cpu" };
  },
  secondModel: (d) => {
    const models = d.config[K("models")] as Record<string, unknown>[];
    models.push({ ...models[0], name: "demo-b" });
  },
  otherApiKeys: (d) => {
    d.config[K("apiKeys")] = { secure: "v1:another-ciphertext" };
  },
};

let dir: string;
const plans: Record<string, PlanDocument> = {};

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "plan-diff-"));
  await Promise.all(
    Object.entries(VARIANTS).map(async ([name, mutate]) => {
      const doc = baseDoc();
      mutate(doc);
      const file = path.join(dir, `Pulumi.local.${name}.yaml`);
      writeFileSync(file, stringify(doc));
      const r = await planCli(["local", "--config-file", file, "--json"]);
      assert.equal(r.code, 0, `plan of variant ${name} failed: ${r.stderr}`);
      plans[name] = JSON.parse(r.stdout) as PlanDocument;
      writeFileSync(path.join(dir, `${name}.json`), r.stdout);
    }),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

const keys = (refs: { type: string; name: string }[]) => refs.map((r) => `${r.type}::${r.name}`);
test("a new runtime image changes only the Deployment's container image", () => {
  const diff = diffPlans(plans.base, plans.newImage);
  assert.deepEqual(diff.added, []);
  assert.deepEqual(diff.removed, []);
  assert.deepEqual(keys(diff.changed), ["kubernetes:apps/v1:Deployment::laptop-demo"]);
  const change = diff.changed[0].changes.find((c) => c.path === "spec.template.spec.containers[0].image");
  assert.deepEqual(change, {
    path: "spec.template.spec.containers[0].image",
    kind: "changed",
    before: "ghcr.io/llm-platform/llm-runtime:0.1.0-cpu",
    after: "ghcr.io/llm-platform/llm-runtime:0.2.0-cpu",
  });
});

test("a second model adds its service's resources and widens only what every model shares", () => {
  const diff = diffPlans(plans.base, plans.secondModel);
  assert.deepEqual(diff.removed, []);
  for (const k of [
    "llm:serving:LlmService::laptop-demo-b",
    "kubernetes:apps/v1:Deployment::laptop-demo-b",
    "kubernetes:core/v1:Service::laptop-demo-b",
    "kubernetes:core/v1:Secret::laptop-demo-b-api-keys",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::laptop-demo-b-route",
    "kubernetes:keda.sh/v1alpha1:ScaledObject::laptop-demo-b-scaler",
  ])
    assert.ok(keys(diff.added).includes(k), `${k} should be added; added: ${keys(diff.added).join(", ")}`);
  // The gateway certificate gains the new host name; the namespace quota grows by the new model's share.
  assert.deepEqual(keys(diff.changed), [
    "kubernetes:cert-manager.io/v1:Certificate::laptop-gateway-cert",
    "kubernetes:core/v1:ResourceQuota::laptop-ns-llm-serving-quota",
  ]);
  assert.deepEqual(diff.changed[0].changes, [{ path: "spec.dnsNames[2]", kind: "added", after: "demo-b.llm.localtest.me" }]);
  assert.ok(
    diff.changed[1].changes.some((c) => c.path === "spec.hard.pods" && c.before === "2" && c.after === "4"),
    JSON.stringify(diff.changed[1].changes),
  );
});

test("removing the model again is the mirror image of adding it", () => {
  const forward = diffPlans(plans.base, plans.secondModel);
  const back = diffPlans(plans.secondModel, plans.base);
  assert.deepEqual(back.removed, forward.added);
  assert.deepEqual(back.added, []);
  assert.deepEqual(keys(back.changed), keys(forward.changed));
});

test("a changed secret cannot be seen and the diff says so rather than claiming no change", () => {
  const diff = diffPlans(plans.base, plans.otherApiKeys);
  assert.deepEqual(diff.changed, []);
  assert.deepEqual(
    diff.maskedUnchecked.find((m) => m.resource === "kubernetes:core/v1:Secret::laptop-demo-api-keys"),
    { resource: "kubernetes:core/v1:Secret::laptop-demo-api-keys", paths: ["stringData"] },
  );
});

test("the CLI prints the changed input paths and ends with the one-line summary, exit 0", async () => {
  const r = await planCli(["local", "--diff", path.join(dir, "newImage.json")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /~ kubernetes:apps\/v1:Deployment {2}laptop-demo/);
  assert.match(r.stdout, /~ spec\.template\.spec\.containers\[0\]\.image: ".*0\.2\.0-cpu" -> ".*0\.1\.0-cpu"/);
  assert.equal(r.stdout.trimEnd().split("\n").at(-1), "plan local: 0 to add, 1 to change, 0 to remove");
});

test("the CLI prints the diff as JSON with --json --diff", async () => {
  const r = await planCli(["local", "--json", "--diff", path.join(dir, "secondModel.json")]);
  assert.equal(r.code, 0, r.stderr);
  const diff = JSON.parse(r.stdout) as PlanDiff & { summary: string };
  assert.equal(diff.added.length, 0);
  assert.ok(keys(diff.removed).includes("kubernetes:apps/v1:Deployment::laptop-demo-b"));
  assert.match(diff.summary, /^plan local: 0 to add, 2 to change, [1-9][0-9]* to remove$/);
});

test("the CLI rejects a missing or foreign earlier plan with exit 1 and names the file", async () => {
  const missing = await planCli(["local", "--diff", path.join(dir, "nope.json")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--diff: cannot read .*nope\.json: ENOENT/);
  const foreign = path.join(dir, "foreign.json");
  writeFileSync(foreign, JSON.stringify({ name: "not a plan" }));
  const r = await planCli(["local", "--diff", foreign]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /foreign\.json: not a plan document \(stack must be a string; resources must be a list\)/);
});

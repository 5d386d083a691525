/** Each policy of the suite on a passing and a failing resource set. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { POLICIES, runPolicies } from "../../../../stacks/policy";
import { maskSecrets } from "../../../../stacks/policy/inspect";
import { nonRootContainers, secretsAreSecret, tlsOutsideLocal, workloadResources } from "../../../../stacks/policy/rules";
import type { PlannedResource } from "../../../../stacks/policy/types";

const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
const prod = { environment: "prod" };

const container = (overrides: Record<string, unknown> = {}) => ({
  name: "app",
  image: "img:1",
  resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
  securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
  ...overrides,
});

const deployment = (containers: unknown[], podSecurity: Record<string, unknown> = {}): PlannedResource => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "d",
  parent: null,
  inputs: { spec: { template: { spec: { securityContext: podSecurity, containers } } } },
});

describe("workload-resources", () => {
  test("passes when every container has CPU and memory requests and limits", () => {
    assert.deepEqual(workloadResources.check([deployment([container()])], prod), []);
  });
  test("names the container and the missing setting", () => {
    const out = workloadResources.check(
      [deployment([container({ resources: { requests: { cpu: "1", memory: "1Gi" } } })])],
      prod,
    );
    assert.deepEqual(
      out.map((v) => v.message),
      ["container 'app' has no cpu limit", "container 'app' has no memory limit"],
    );
  });
  test("covers init containers and other workload kinds", () => {
    const job: PlannedResource = {
      type: "kubernetes:batch/v1:Job",
      name: "j",
      parent: null,
      inputs: {
        spec: { template: { spec: { initContainers: [container({ name: "init", resources: {} })], containers: [container()] } } },
      },
    };
    assert.equal(workloadResources.check([job], prod).length, 4);
  });
});

describe("non-root-containers", () => {
  test("passes with runAsNonRoot on the pod and no escalation on the container", () => {
    const c = container({ securityContext: { allowPrivilegeEscalation: false } });
    assert.deepEqual(nonRootContainers.check([deployment([c], { runAsNonRoot: true })], prod), []);
  });
  test("fails on UID 0, missing runAsNonRoot and privilege escalation", () => {
    const c = container({ securityContext: { runAsUser: 0 } });
    const messages = nonRootContainers.check([deployment([c])], prod).map((v) => v.message);
    assert.deepEqual(messages, [
      "container 'app' does not set runAsNonRoot",
      "container 'app' runs as UID 0",
      "container 'app' allows privilege escalation",
    ]);
  });
});

describe("secrets-are-pulumi-secrets", () => {
  const k8sSecret = (stringData: unknown): PlannedResource => ({
    type: "kubernetes:core/v1:Secret",
    name: "s",
    parent: null,
    inputs: { stringData },
  });
  test("passes when Secret data is a Pulumi secret, as a whole or per key", () => {
    assert.deepEqual(secretsAreSecret.check([k8sSecret(secret({ a: "x" })), k8sSecret({ a: secret("x") })], prod), []);
  });
  test("fails on plain Secret data", () => {
    assert.deepEqual(
      secretsAreSecret.check([k8sSecret({ a: "x" })], prod).map((v) => v.message),
      ["stringData.a is not a Pulumi secret"],
    );
  });
  test("finds credential-like values in plain text anywhere in inputs (chart values, providers)", () => {
    const release: PlannedResource = {
      type: "kubernetes:helm.sh/v3:Release",
      name: "grafana",
      parent: null,
      inputs: { values: { grafana: { adminPassword: "admin", existingSecret: "name-is-fine" } } },
    };
    const provider: PlannedResource = {
      type: "pulumi:providers:kubernetes",
      name: "p",
      parent: null,
      inputs: { kubeconfig: secret("kc") },
    };
    assert.deepEqual(
      secretsAreSecret.check([release, provider], prod).map((v) => v.message),
      ["values.grafana.adminPassword holds a credential in plain text"],
    );
  });
});

describe("tls-outside-local", () => {
  const service = (type: string): PlannedResource => ({
    type: "kubernetes:core/v1:Service",
    name: "svc",
    parent: null,
    inputs: { spec: { type } },
  });
  const gateway: PlannedResource = {
    type: "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    name: "gw",
    parent: null,
    inputs: {
      metadata: { name: "gw" },
      spec: {
        listeners: [
          { name: "https", protocol: "HTTPS", port: 443, tls: { certificateRefs: [{ name: "cert" }] } },
          { name: "http", protocol: "HTTP", port: 80 },
        ],
      },
    },
  };
  const route = (name: string, sectionName: string, rule: Record<string, unknown>): PlannedResource => ({
    type: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    name,
    parent: null,
    inputs: { spec: { parentRefs: [{ name: "gw", sectionName }], rules: [rule] } },
  });
  const redirect = route("redirect", "http", { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] });
  const app = (section: string) => route("app", section, { backendRefs: [{ name: "svc", port: 8080 }] });

  test("passes with HTTPS listeners serving and HTTP only redirecting", () => {
    assert.deepEqual(tlsOutsideLocal.check([gateway, redirect, app("https"), service("ClusterIP")], prod), []);
  });
  test("fails on a route served over plain HTTP", () => {
    assert.deepEqual(
      tlsOutsideLocal.check([gateway, app("http")], prod).map((v) => v.message),
      ["serves traffic on plain HTTP listener 'http'"],
    );
  });
  test("fails on LoadBalancer and NodePort Services and on HTTPS listeners without a certificate", () => {
    const noCert = structuredClone(gateway);
    (noCert.inputs.spec as { listeners: Record<string, unknown>[] }).listeners[0].tls = {};
    const messages = tlsOutsideLocal.check([service("LoadBalancer"), service("NodePort"), noCert], prod).map((v) => v.message);
    assert.deepEqual(messages, [
      "Service of type LoadBalancer bypasses the TLS gateway",
      "Service of type NodePort bypasses the TLS gateway",
      "listener 'https' has no certificate",
    ]);
  });
  test("does not apply to local", () => {
    assert.deepEqual(tlsOutsideLocal.check([service("LoadBalancer")], { environment: "local" }), []);
  });
});

describe("the suite", () => {
  test("runs every policy and reports each by name", () => {
    const results = runPolicies([deployment([container({ resources: {} })])], prod);
    assert.deepEqual(
      results.map((r) => r.name),
      POLICIES.map((p) => p.name),
    );
    const failed = results.find((r) => r.name === "workload-resources");
    assert.equal(failed?.passed, false);
    assert.match(failed?.message ?? "", /kubernetes:apps\/v1:Deployment::d: container 'app' has no cpu request/);
  });
  test("maskSecrets replaces every secret, however deep", () => {
    assert.deepEqual(maskSecrets({ a: [secret("x"), { b: secret({ c: 1 }) }], d: "plain" }), {
      a: ["[secret]", { b: "[secret]" }],
      d: "plain",
    });
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  durationSeconds,
  externalTrafficThroughTls,
  highlyAvailableWorkloads,
  rolloutWaitsForStartup,
  servingDefaultDeny,
} from "../../../../stacks/policy/rules-kubernetes";
import type { PlannedResource } from "../../../../stacks/policy/types";

const res = (type: string, name: string, inputs: Record<string, unknown>, parent: string | null = null): PlannedResource => ({
  type: `kubernetes:${type}`,
  name,
  parent,
  inputs,
});

const gateway = (listeners: unknown[]) =>
  res("gateway.networking.k8s.io/v1:Gateway", "gw", { metadata: { name: "llm", namespace: "gw" }, spec: { listeners } });
const httpsListener = { name: "https", protocol: "HTTPS", port: 443, tls: { certificateRefs: [{ name: "tls" }] } };
const httpListener = { name: "http", protocol: "HTTP", port: 80 };
const clientTls = (minVersion: string) =>
  res("gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy", "ctp", {
    metadata: { name: "c", namespace: "gw" },
    spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "llm" }], tls: { minVersion } },
  });
const route = (name: string, sectionName: string, rule: Record<string, unknown>) =>
  res("gateway.networking.k8s.io/v1:HTTPRoute", name, {
    metadata: { name },
    spec: { parentRefs: [{ name: "llm", sectionName }], rules: [rule] },
  });
const redirect = route("redirect", "http", { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] });
const ctx = { environment: "local" };

test("external-traffic-through-tls passes an HTTPS gateway with TLS 1.2, a redirect-only HTTP listener and ClusterIP services", () => {
  const ok = [
    gateway([httpListener, httpsListener]),
    clientTls("1.2"),
    redirect,
    route("m1", "https", { backendRefs: [{ name: "m1", port: 8080 }] }),
    res("core/v1:Service", "m1", { spec: { type: "ClusterIP" } }),
    res("helm.sh/v3:Release", "kps", { values: { grafana: { service: { type: "ClusterIP" } } } }),
  ];
  assert.deepEqual(externalTrafficThroughTls.check(ok, ctx), []);
});

test("external-traffic-through-tls fails, even on local, for LoadBalancer services, chart values that expose one, and plain-HTTP routes", () => {
  const bad = [
    gateway([httpListener, httpsListener]),
    clientTls("1.2"),
    route("m1", "http", { backendRefs: [{ name: "m1", port: 8080 }] }),
    res("core/v1:Service", "lb", { spec: { type: "LoadBalancer" } }),
    res("helm.sh/v3:Release", "kps", { values: { grafana: { service: { type: "NodePort" } } } }),
  ];
  const messages = externalTrafficThroughTls.check(bad, ctx).map((v) => `${v.resource}: ${v.message}`);
  assert.equal(messages.length, 3);
  assert.ok(messages.some((m) => m.includes("Service::lb") && m.includes("LoadBalancer")));
  assert.ok(messages.some((m) => m.includes("chart value grafana.service.type")));
  assert.ok(messages.some((m) => m.includes("HTTPRoute::m1") && m.includes("plain HTTP")));
});

test("external-traffic-through-tls requires an HTTPS listener and TLS 1.2 or newer on it", () => {
  assert.match(externalTrafficThroughTls.check([gateway([httpListener]), redirect], ctx)[0].message, /has no HTTPS listener/);
  assert.match(
    externalTrafficThroughTls.check([gateway([httpsListener]), clientTls("1.1")], ctx)[0].message,
    /tls.minVersion 1.2 or 1.3/,
  );
  assert.match(externalTrafficThroughTls.check([gateway([httpsListener])], ctx)[0].message, /no ClientTrafficPolicy/);
  assert.deepEqual(externalTrafficThroughTls.check([gateway([httpsListener]), clientTls("1.3")], ctx), []);
  const noCert = gateway([{ ...httpsListener, tls: {} }]);
  assert.match(externalTrafficThroughTls.check([noCert, clientTls("1.2")], ctx)[0].message, /has no certificate/);
});

const layer = (cluster: string) => `llm:platform:KubernetesLayer::${cluster}`;
const servingNs = (cluster: string) =>
  res(
    "core/v1:Namespace",
    `${cluster}-ns`,
    { metadata: { name: "llm-serving", labels: { "llm-platform.io/tier": "serving" } } },
    layer(cluster),
  );
const deny = (cluster: string, spec: Record<string, unknown> = {}) =>
  res(
    "networking.k8s.io/v1:NetworkPolicy",
    `${cluster}-deny`,
    {
      metadata: { name: "default-deny", namespace: "llm-serving" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ...spec },
    },
    layer(cluster),
  );
const runtime = (cluster: string, ns: string) =>
  res(
    "apps/v1:Deployment",
    `${cluster}-${ns}-m1`,
    {
      metadata: { name: "m1", namespace: ns },
      spec: { template: { metadata: { labels: { "app.kubernetes.io/name": "llm-runtime" } } } },
    },
    layer(cluster),
  );

test("serving-namespace-default-deny passes when each cluster's serving namespace denies by default", () => {
  assert.deepEqual(
    servingDefaultDeny.check([servingNs("a"), deny("a"), runtime("a", "llm-serving"), servingNs("b"), deny("b")], ctx),
    [],
  );
});

test("serving-namespace-default-deny fails per cluster, for weakened policies, and for runtimes outside the serving namespace", () => {
  // b's namespace is not covered by a's policy, even with the same name.
  assert.match(servingDefaultDeny.check([servingNs("a"), deny("a"), servingNs("b")], ctx)[0].resource, /b-ns/);
  // A "deny" that allows all ingress is no deny.
  assert.equal(servingDefaultDeny.check([servingNs("a"), deny("a", { ingress: [{}] })], ctx).length, 1);
  assert.equal(servingDefaultDeny.check([servingNs("a"), deny("a", { policyTypes: ["Ingress"] })], ctx).length, 1);
  // A runtime in an unlabelled namespace still needs a default deny there.
  assert.match(servingDefaultDeny.check([servingNs("a"), deny("a"), runtime("a", "other")], ctx)[0].message, /namespace 'other'/);
});

const labels = { "app.kubernetes.io/name": "llm-runtime", "app.kubernetes.io/instance": "m1" };
const deployment = (replicas?: number) =>
  res("apps/v1:Deployment", "d", {
    metadata: { name: "m1", namespace: "s" },
    spec: { replicas, template: { metadata: { labels } } },
  });
const pdb = res("policy/v1:PodDisruptionBudget", "p", {
  metadata: { namespace: "s" },
  spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
});
const scaler = (min: number) =>
  res("keda.sh/v1alpha1:ScaledObject", "so", {
    metadata: { name: "m1", namespace: "s" },
    spec: { scaleTargetRef: { kind: "Deployment", name: "m1" }, minReplicaCount: min },
  });
const prod = { environment: "prod" };

test("highly-available-workloads passes with a PDB and two replicas, or a PDB and a scaler with min >= 2", () => {
  assert.deepEqual(highlyAvailableWorkloads.check([deployment(2), pdb], prod), []);
  assert.deepEqual(highlyAvailableWorkloads.check([deployment(), pdb, scaler(2)], prod), []);
});

test("highly-available-workloads fails in prod without a PDB, with one replica, or with a scaler min below 2", () => {
  assert.match(highlyAvailableWorkloads.check([deployment(2)], prod)[0].message, /no PodDisruptionBudget/);
  assert.match(highlyAvailableWorkloads.check([deployment(1), pdb], prod)[0].message, /runs 1 replica\(s\) without a scaler/);
  assert.match(highlyAvailableWorkloads.check([deployment(), pdb], prod)[0].message, /runs 1 replica/);
  assert.match(highlyAvailableWorkloads.check([deployment(), pdb, scaler(1)], prod)[0].message, /minReplicaCount is 1/);
  const otherPdb = res("policy/v1:PodDisruptionBudget", "p2", {
    metadata: { namespace: "s" },
    spec: { selector: { matchLabels: { app: "x" } } },
  });
  assert.equal(highlyAvailableWorkloads.check([deployment(2), otherPdb], prod).length, 1);
});

test("highly-available-workloads applies to dr too and to nothing outside prod and dr", () => {
  assert.equal(highlyAvailableWorkloads.check([deployment(1)], { environment: "dr" }).length, 2);
  assert.deepEqual(highlyAvailableWorkloads.check([deployment(1)], { environment: "staging" }), []);
});

const probed = (customTimeouts?: PlannedResource["customTimeouts"]): PlannedResource => ({
  ...res("apps/v1:Deployment", "model", {
    metadata: { name: "model" },
    spec: {
      template: {
        spec: {
          containers: [
            { name: "runtime", startupProbe: { httpGet: { path: "/readyz" }, periodSeconds: 10, failureThreshold: 90 } },
          ],
        },
      },
    },
  }),
  customTimeouts,
});

test("rollout-waits-for-startup: Pulumi's 10-minute default is shorter than a 15-minute startup probe", () => {
  const v = rolloutWaitsForStartup.check([probed()], prod);
  assert.equal(v.length, 2);
  assert.match(v[0].message, /customTimeouts\.create is unset \(Pulumi waits 10m\), not longer than the 900s/);
  assert.equal(v[0].resource, "kubernetes:apps/v1:Deployment::model");
});

test("rollout-waits-for-startup passes when both waits exceed the probe, fails on the one that does not", () => {
  assert.deepEqual(rolloutWaitsForStartup.check([probed({ create: "55m", update: "55m" })], prod), []);
  const v = rolloutWaitsForStartup.check([probed({ create: "1h", update: "15m" })], prod);
  assert.deepEqual(
    v.map((x) => x.message.split(" ")[0]),
    ["customTimeouts.update"],
  );
});

test("durationSeconds reads Go durations and refuses anything else", () => {
  assert.equal(durationSeconds("55m"), 3300);
  assert.equal(durationSeconds("1h30m"), 5400);
  assert.equal(durationSeconds("90s"), 90);
  assert.ok(Number.isNaN(durationSeconds("55")));
  assert.ok(Number.isNaN(durationSeconds("5 m")));
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { runtimeHopsTls } from "../../../../stacks/policy/rules-tls";
import type { PlannedResource } from "../../../../stacks/policy/types";

const LAYER = "llm:platform:KubernetesLayer::c1";
const res = (type: string, name: string, inputs: Record<string, unknown>): PlannedResource => ({
  type: `kubernetes:${type}`,
  name,
  parent: LAYER,
  inputs,
});
const labels = { "app.kubernetes.io/name": "llm-runtime", "app.kubernetes.io/instance": "m1" };
const ns = "llm-serving";
const https = { path: "/readyz", port: "http", scheme: "HTTPS" };
const container = (urls: string, tlsFlags: boolean, scheme?: string) => ({
  name: "runtime",
  args: [
    "--urls",
    urls,
    ...(tlsFlags ? ["--tls-cert-file", "/etc/llm-runtime-tls/tls.crt", "--tls-key-file", "/etc/llm-runtime-tls/tls.key"] : []),
  ],
  readinessProbe: { httpGet: { ...https, scheme } },
});
const deployment = (c: unknown) =>
  res("apps/v1:Deployment", "c1-m1", {
    metadata: { name: "m1", namespace: ns },
    spec: { template: { metadata: { labels }, spec: { containers: [c] } } },
  });
const service = res("core/v1:Service", "c1-m1", { metadata: { name: "m1", namespace: ns, labels } });
const route = res("gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route", {
  metadata: { name: "m1", namespace: ns },
  spec: { rules: [{ backendRefs: [{ name: "m1", port: 8080 }] }] },
});
const backendTls = (validation: Record<string, unknown>, namespace = ns) =>
  res("gateway.networking.k8s.io/v1:BackendTLSPolicy", "c1-m1-backend-tls", {
    metadata: { name: "m1", namespace },
    spec: { targetRefs: [{ group: "", kind: "Service", name: "m1" }], validation },
  });
const verified = { caCertificateRefs: [{ group: "", kind: "Secret", name: "llm-internal-ca" }], hostname: "m1.llm-serving.svc" };
const monitor = (endpoint: Record<string, unknown>) =>
  res("monitoring.coreos.com/v1:ServiceMonitor", "c1-monitor", {
    metadata: { name: "llm-runtime", namespace: ns },
    spec: { selector: { matchLabels: { "app.kubernetes.io/name": "llm-runtime" } }, endpoints: [{ port: "http", ...endpoint }] },
  });
const scrapeTls = {
  scheme: "https",
  tlsConfig: { ca: { secret: { name: "llm-internal-ca", key: "ca.crt" } }, serverName: "llm-runtime.llm-serving.svc" },
};
const prod = { environment: "prod" };
const messages = (resources: PlannedResource[], ctx = prod) =>
  runtimeHopsTls.check(resources, ctx).map((v) => `${v.resource}: ${v.message}`);

const good = [
  deployment(container("https://0.0.0.0:8080", true, "HTTPS")),
  service,
  route,
  backendTls(verified),
  monitor(scrapeTls),
];

test("runtime-hops-tls passes HTTPS runtimes verified by the gateway and scraped over verified TLS", () => {
  assert.deepEqual(messages(good), []);
});

test("runtime-hops-tls fails a plain-HTTP runtime, an unverified route and a plain scrape outside local", () => {
  const plain = [deployment(container("http://0.0.0.0:8080", false)), service, route, monitor({ scheme: "http" })];
  assert.deepEqual(messages(plain), [
    "kubernetes:apps/v1:Deployment::c1-m1: container 'runtime' listens on http://0.0.0.0:8080, not https://",
    "kubernetes:apps/v1:Deployment::c1-m1: container 'runtime' has no --tls-cert-file",
    "kubernetes:apps/v1:Deployment::c1-m1: container 'runtime' has no --tls-key-file",
    "kubernetes:apps/v1:Deployment::c1-m1: container 'runtime' readinessProbe is not HTTPS",
    "kubernetes:core/v1:Service::c1-m1: the gateway reaches it without TLS: no BackendTLSPolicy with a CA and hostname targets it",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor::c1-monitor: endpoint 'http' scrapes the runtime over plain HTTP",
  ]);
});

test("runtime-hops-tls: a policy that does not verify, or sits in another namespace, does not count", () => {
  const svcMessage =
    "kubernetes:core/v1:Service::c1-m1: the gateway reaches it without TLS: no BackendTLSPolicy with a CA and hostname targets it";
  for (const policy of [
    backendTls({ hostname: "m1.llm-serving.svc" }),
    backendTls({ caCertificateRefs: verified.caCertificateRefs }),
    backendTls(verified, "other"),
  ])
    assert.deepEqual(messages([...good.filter((r) => !r.type.endsWith("BackendTLSPolicy")), policy]), [svcMessage]);
});

test("runtime-hops-tls: a scrape that skips verification fails", () => {
  const skip = monitor({ scheme: "https", tlsConfig: { ...scrapeTls.tlsConfig, insecureSkipVerify: true } });
  const noCa = monitor({ scheme: "https", tlsConfig: { serverName: "x" } });
  assert.deepEqual(messages([...good.slice(0, 4), skip, noCa]), [
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor::c1-monitor: endpoint 'http' sets tlsConfig.insecureSkipVerify",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor::c1-monitor: endpoint 'http' does not verify the runtime (tlsConfig.ca and serverName)",
  ]);
});

test("runtime-hops-tls does not apply to local, where config may ask for plain HTTP", () => {
  const plain = [deployment(container("http://0.0.0.0:8080", false)), service, route, monitor({})];
  assert.deepEqual(messages(plain, { environment: "local" }), []);
});

// The held path (scale from zero): gateway -> KEDA HTTP add-on interceptor (keda namespace) -> runtime.
const heldRoute = res("gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route", {
  metadata: { name: "m1", namespace: ns },
  spec: { rules: [{ backendRefs: [{ name: "keda-add-ons-http-interceptor-proxy", namespace: "keda", port: 8443 }] }] },
});
const httpScaledObject = res("http.keda.sh/v1alpha1:HTTPScaledObject", "c1-m1-held", { metadata: { name: "m1", namespace: ns } });
const addOn = (tls: Record<string, unknown> | undefined) =>
  res("helm.sh/v3:Release", "c1-http-add-on", {
    chart: "keda-add-ons-http",
    namespace: "keda",
    values: { interceptor: tls === undefined ? {} : { tls } },
  });
const interceptorTls = res("gateway.networking.k8s.io/v1:BackendTLSPolicy", "c1-interceptor-backend-tls", {
  metadata: { name: "interceptor", namespace: "keda" },
  spec: {
    targetRefs: [{ group: "", kind: "Service", name: "keda-add-ons-http-interceptor-proxy" }],
    validation: { caCertificateRefs: [{ group: "", kind: "Secret", name: "llm-internal-ca" }], hostname: "interceptor.keda.svc" },
  },
});
const heldBase = [deployment(container("https://0.0.0.0:8080", true, "HTTPS")), service, heldRoute, httpScaledObject];

test("runtime-hops-tls fails a held path where the interceptor proxies plain HTTP or the gateway does not verify it", () => {
  const hso = "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject::c1-m1-held";
  const unverified =
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::c1-m1-route: the gateway reaches the interceptor (keda-add-ons-http-interceptor-proxy) without TLS: no BackendTLSPolicy with a CA and hostname targets it";
  // What main planned before: the chart's defaults (TLS off) and a route to the plain proxy port.
  assert.deepEqual(messages([...heldBase, addOn(undefined)]), [
    `${hso}: the held path is not TLS: interceptor.tls.enabled is not true: the interceptor proxies to the runtime over plain HTTP`,
    unverified,
  ]);
  assert.deepEqual(messages([...heldBase, addOn({ enabled: true, skipVerify: true }), interceptorTls]), [
    `${hso}: the held path is not TLS: interceptor.tls.skipVerify is true: the interceptor does not verify the runtime`,
  ]);
  assert.deepEqual(messages(heldBase), [
    `${hso}: the held path is not TLS: no keda-add-ons-http release in its cluster`,
    unverified,
  ]);
});

test("runtime-hops-tls passes a held path with verified TLS on both hops, and ignores it on local", () => {
  assert.deepEqual(messages([...heldBase, addOn({ enabled: true, skipVerify: false }), interceptorTls]), []);
  assert.deepEqual(messages([...heldBase, addOn(undefined)], { environment: "local" }), []);
});

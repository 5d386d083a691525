import assert from "node:assert/strict";
import { test } from "node:test";
import { CHARTS } from "../../../../components/charts";
import { LlmGateway, validateGatewayArgs, type GatewayArgs } from "../../../../components/traffic/gateway";
import { capture, find, get, gpuCluster, ofType } from "../../helpers";

const CR = (kind: string) => `kubernetes:${kind}`;
const lb = { annotations: { "metallb.universe.tf/address-pool": "llm-vip" }, scheme: "internal" as const };

async function gateway(overrides: Partial<GatewayArgs> = {}) {
  return (
    await capture(() => {
      new LlmGateway("gw", {
        cluster: gpuCluster({ loadBalancer: lb }),
        namespace: "envoy-gateway-system",
        domain: "llm.example.com",
        certificateSecret: "gw-tls",
        routeNamespaces: ["llm-serving", "monitoring"],
        highAvailability: true,
        proxy: { replicas: 2, cpu: "500m", memory: "512Mi" },
        monitoring: { dependsOn: [] },
        ...overrides,
      });
    })
  ).resources;
}

test("installs the pinned Envoy Gateway chart from its OCI registry, two controllers with a PDB", async () => {
  const r = find(await gateway(), "kubernetes:helm.sh/v3:Release", "gw-envoy-gateway");
  assert.equal(r.inputs.chart, "oci://docker.io/envoyproxy/gateway-helm");
  assert.equal(r.inputs.version, CHARTS.envoyGateway.version);
  assert.equal(get(r.inputs, "values", "deployment", "replicas"), 2);
  assert.equal(get(r.inputs, "values", "podDisruptionBudget", "minAvailable"), 1);
});

test("HTTPS listener terminates TLS with the certificate for *.domain; HTTP listener only takes same-namespace routes", async () => {
  const gw = find(await gateway(), CR("gateway.networking.k8s.io/v1:Gateway"), "gw-gateway");
  const [http, https] = get(gw.inputs, "spec", "listeners") as unknown[];
  assert.equal(get(https, "protocol"), "HTTPS");
  assert.equal(get(https, "port"), 443);
  assert.equal(get(https, "hostname"), "*.llm.example.com");
  assert.deepEqual(get(https, "tls"), { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "gw-tls" }] });
  assert.deepEqual(get(https, "allowedRoutes", "namespaces", "selector", "matchExpressions"), [
    { key: "kubernetes.io/metadata.name", operator: "In", values: ["llm-serving", "monitoring"] },
  ]);
  assert.equal(get(http, "protocol"), "HTTP");
  assert.deepEqual(get(http, "allowedRoutes", "namespaces"), { from: "Same" });
});

test("plain HTTP only redirects to HTTPS", async () => {
  const routes = ofType(await gateway(), CR("gateway.networking.k8s.io/v1:HTTPRoute"));
  assert.equal(routes.length, 1);
  const rule = (get(routes[0].inputs, "spec", "rules") as unknown[])[0];
  assert.equal(get(rule, "backendRefs"), undefined);
  assert.deepEqual(get(rule, "filters"), [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }]);
  assert.equal(get((get(routes[0].inputs, "spec", "parentRefs") as unknown[])[0], "sectionName"), "http");
});

test("requires TLS 1.2 or newer from clients on the gateway", async () => {
  const ctp = find(await gateway(), CR("gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"), "gw-client-tls");
  assert.equal(get(ctp.inputs, "spec", "tls", "minVersion"), "1.2");
  assert.deepEqual(get(ctp.inputs, "spec", "targetRefs"), [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "llm" }]);
});

test("the proxies' load-balancer Service carries the cluster record's annotations", async () => {
  const resources = await gateway();
  const proxy = find(resources, CR("gateway.envoyproxy.io/v1alpha1:EnvoyProxy"), "gw-proxy-config");
  const svc = get(proxy.inputs, "spec", "provider", "kubernetes", "envoyService");
  assert.equal(get(svc, "type"), "LoadBalancer");
  assert.deepEqual(get(svc, "annotations"), lb.annotations);
  assert.equal(get(proxy.inputs, "spec", "provider", "kubernetes", "envoyDeployment", "replicas"), 2);
  assert.deepEqual(get(proxy.inputs, "spec", "provider", "kubernetes", "envoyPDB"), { minAvailable: 1 });
  const cls = find(resources, CR("gateway.networking.k8s.io/v1:GatewayClass"), "gw-class");
  assert.equal(get(cls.inputs, "spec", "parametersRef", "name"), get(proxy.inputs, "metadata", "name"));
});

test("no proxy PDB and one proxy without high availability", async () => {
  const proxy = find(
    await gateway({ highAvailability: false, proxy: { replicas: 1, cpu: "100m", memory: "128Mi" } }),
    CR("gateway.envoyproxy.io/v1alpha1:EnvoyProxy"),
    "gw-proxy-config",
  );
  assert.equal(get(proxy.inputs, "spec", "provider", "kubernetes", "envoyPDB"), undefined);
});

test("scrapes the proxies' metrics (the scale-from-zero signal)", async () => {
  const pm = find(await gateway(), CR("monitoring.coreos.com/v1:PodMonitor"), "gw-proxy-metrics");
  assert.deepEqual(get(pm.inputs, "spec", "podMetricsEndpoints"), [
    { port: "metrics", path: "/stats/prometheus", interval: "15s" },
  ]);
});

test("rejects a single proxy under high availability and an empty route namespace list", () => {
  assert.match(
    validateGatewayArgs({
      highAvailability: true,
      proxy: { replicas: 1, cpu: "1", memory: "1Gi" },
      routeNamespaces: ["a"],
    }).join(),
    /proxy.replicas must be >= 2 when highAvailability is on/,
  );
  assert.match(
    validateGatewayArgs({ highAvailability: false, proxy: { replicas: 1, cpu: "1", memory: "1Gi" }, routeNamespaces: [] }).join(),
    /routeNamespaces must name at least one namespace/,
  );
});

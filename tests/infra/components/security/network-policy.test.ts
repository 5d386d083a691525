import assert from "node:assert/strict";
import { test } from "node:test";
import { ServingNetworkPolicy } from "../../../../components/security/network-policy";
import { capture, find, get, gpuCluster } from "../../helpers";

const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

async function policies() {
  return (
    await capture(() => {
      new ServingNetworkPolicy("np", {
        cluster: gpuCluster(),
        namespace: "llm-serving",
        runtimeLabels: { "app.kubernetes.io/name": "llm-runtime" },
        runtimePort: 8080,
        gateway: { namespace: "envoy-gateway-system", podLabels: { "app.kubernetes.io/name": "envoy" } },
        prometheus: { namespace: "monitoring", podLabels: { "app.kubernetes.io/name": "prometheus" } },
      });
    })
  ).resources;
}

test("denies all ingress and egress in the serving namespace by default", async () => {
  const deny = find(await policies(), NP, "np-default-deny");
  assert.equal(get(deny.inputs, "metadata", "namespace"), "llm-serving");
  assert.deepEqual(get(deny.inputs, "spec", "podSelector"), {});
  assert.deepEqual(get(deny.inputs, "spec", "policyTypes"), ["Ingress", "Egress"]);
  assert.equal(get(deny.inputs, "spec", "ingress"), undefined);
  assert.equal(get(deny.inputs, "spec", "egress"), undefined);
});

test("lets only the gateway's proxies reach the runtime port", async () => {
  const allow = find(await policies(), NP, "np-allow-gateway");
  const rule = (get(allow.inputs, "spec", "ingress") as unknown[])[0];
  assert.deepEqual(get(rule, "from"), [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "envoy-gateway-system" } },
      podSelector: { matchLabels: { "app.kubernetes.io/name": "envoy" } },
    },
  ]);
  assert.deepEqual(get(rule, "ports"), [{ protocol: "TCP", port: 8080 }]);
  assert.deepEqual(get(allow.inputs, "spec", "podSelector", "matchLabels"), { "app.kubernetes.io/name": "llm-runtime" });
});

test("lets Prometheus scrape the metrics port", async () => {
  const allow = find(await policies(), NP, "np-allow-prometheus");
  const rule = (get(allow.inputs, "spec", "ingress") as unknown[])[0];
  assert.equal(
    get((get(rule, "from") as unknown[])[0], "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
    "monitoring",
  );
  assert.deepEqual(get(rule, "ports"), [{ protocol: "TCP", port: 8080 }]);
});

test("allows DNS to kube-dns only", async () => {
  const dns = find(await policies(), NP, "np-allow-dns");
  const rule = (get(dns.inputs, "spec", "egress") as unknown[])[0];
  assert.deepEqual(get((get(rule, "to") as unknown[])[0], "podSelector", "matchLabels"), { "k8s-app": "kube-dns" });
  assert.deepEqual(
    (get(rule, "ports") as unknown[]).map((p) => get(p, "port")),
    [53, 53],
  );
});

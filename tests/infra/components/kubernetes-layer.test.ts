import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterRecord } from "../../../components/clusters/record";
import { KubernetesLayer, validateLayer, type KubernetesLayerArgs, type LayerModel } from "../../../components/kubernetes-layer";
import { capture, find, get, gpuCluster, ofType } from "../helpers";

const model: LayerModel = {
  name: "m1",
  source: { kind: "s3", uri: "s3://bucket/m1/" },
  gpus: 1,
  resources: { cpu: "4", memory: "16Gi" },
  replicas: { min: 2, max: 4 },
  targetQueueDepth: 4,
  maxConcurrent: 8,
  maxQueue: 64,
  cacheSize: "40Gi",
};

function layerArgs(cluster: ClusterRecord, overrides: Partial<KubernetesLayerArgs> = {}): KubernetesLayerArgs {
  return {
    cluster,
    domain: "llm.example.com",
    highAvailability: true,
    issuer: { kind: "ca", secretName: "corp-ca" },
    observability: {
      retention: "15d",
      storageSize: "50Gi",
      prometheusResources: { cpu: "1", memory: "4Gi" },
      slo: { ttftP95Seconds: 2, errorRatio: 0.01 },
      runbookBaseUrl: "https://example.com/runbooks",
    },
    grafanaAdminPassword: "pw",
    models: [model],
    runtime: { image: "ghcr.io/org/runtime:1.0.0", apiKeys: "k" },
    ...overrides,
  };
}

const layer = async (cluster: () => ClusterRecord, overrides: Partial<KubernetesLayerArgs> = {}) =>
  (
    await capture(() => {
      new KubernetesLayer("c1", layerArgs(cluster(), overrides));
    })
  ).resources;

const releases = (resources: Awaited<ReturnType<typeof layer>>) =>
  ofType(resources, "kubernetes:helm.sh/v3:Release")
    .map((r) => String(r.inputs.chart))
    .sort();

test("installs every platform chart, the gpu-operator only where the record asks for it", async () => {
  assert.deepEqual(releases(await layer(() => gpuCluster())), [
    "cert-manager",
    "gpu-operator",
    "keda",
    "kube-prometheus-stack",
    "oci://docker.io/envoyproxy/gateway-helm",
  ]);
  const preinstalled = await layer(() => gpuCluster({ gpu: { ...gpuCluster().gpu, installOperator: false } }));
  assert.ok(!releases(preinstalled).includes("gpu-operator"));
  assert.equal(
    ofType(preinstalled, "kubernetes:core/v1:Namespace").filter((n) => get(n.inputs, "metadata", "name") === "gpu-operator")
      .length,
    0,
  );
});

test("never installs the gpu-operator on a CPU-only cluster", async () => {
  const cpu = () => gpuCluster({ substrate: "local", gpu: { ...gpuCluster().gpu, enabled: false, installOperator: true } });
  const resources = await layer(cpu, { models: [{ ...model, gpus: 0 }] });
  assert.ok(!releases(resources).includes("gpu-operator"));
});

test("every Kubernetes object of the layer is created with the cluster record's provider", async () => {
  const withoutProvider: string[] = [];
  let checked = 0;
  await capture(() => {
    const c = gpuCluster();
    pulumi.runtime.registerStackTransformation((args) => {
      // Every "kubernetes:" type is a custom resource (the provider itself is "pulumi:providers:kubernetes").
      if (args.type.startsWith("kubernetes:")) {
        checked++;
        if ((args.opts as pulumi.CustomResourceOptions).provider !== c.provider)
          withoutProvider.push(`${args.type}::${args.name}`);
      }
      return undefined;
    });
    new KubernetesLayer("c1", layerArgs(c));
  });
  assert.ok(checked > 40, `only ${checked} objects seen`);
  assert.deepEqual(withoutProvider, []);
});

test("serves each model at https://<model>.<domain> with a certificate that covers it and Grafana", async () => {
  const resources = await layer(() => gpuCluster(), { models: [model, { ...model, name: "m2" }] });
  const cert = find(resources, "kubernetes:cert-manager.io/v1:Certificate", "c1-gateway-cert");
  assert.deepEqual(get(cert.inputs, "spec", "dnsNames"), ["grafana.llm.example.com", "m1.llm.example.com", "m2.llm.example.com"]);
  const gw = find(resources, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "c1-gateway-gateway");
  const https = (get(gw.inputs, "spec", "listeners") as unknown[]).find((l) => get(l, "protocol") === "HTTPS");
  assert.equal(get(https, "tls", "certificateRefs", "0", "name"), get(cert.inputs, "spec", "secretName"));
  assert.deepEqual(
    get(find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m2-route").inputs, "spec", "hostnames"),
    ["m2.llm.example.com"],
  );
});

test("the serving namespace is restricted, labelled as serving, and sized by the models", async () => {
  const resources = await layer(() => gpuCluster());
  const ns = find(resources, "kubernetes:core/v1:Namespace", "c1-ns-llm-serving");
  assert.equal(get(ns.inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"), "restricted");
  assert.equal(get(ns.inputs, "metadata", "labels", "llm-platform.io/tier"), "serving");
  const quota = find(resources, "kubernetes:core/v1:ResourceQuota", "c1-ns-llm-serving-quota");
  assert.equal(get(quota.inputs, "spec", "hard", "requests.nvidia.com/gpu"), "5");
});

test("GPU pods request the record's GPU resource, select its nodes and tolerate its taints", async () => {
  const taint = { key: "dedicated", operator: "Equal" as const, value: "gpu", effect: "NoSchedule" as const };
  const resources = await layer(() =>
    gpuCluster({
      gpu: { ...gpuCluster().gpu, resourceName: "nvidia.com/gpu", nodeSelector: { pool: "a100" }, tolerations: [taint] },
    }),
  );
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  assert.deepEqual(get(pod, "nodeSelector"), { pool: "a100" });
  assert.deepEqual(get(pod, "tolerations"), [taint]);
  assert.equal(get(pod, "containers", "0", "resources", "limits", "nvidia.com/gpu"), "1");
});

test("rejects models that take a reserved host name or ask for GPUs on a CPU-only cluster", () => {
  const cpu = gpuCluster({ gpu: { ...gpuCluster().gpu, enabled: false } });
  assert.match(validateLayer({ cluster: cpu, models: [model] }).join(), /asks for 1 GPU\(s\) but cluster 'c1' has no GPUs/);
  assert.match(
    validateLayer({ cluster: gpuCluster(), models: [{ ...model, name: "grafana" }] }).join(),
    /grafana.<domain> is reserved/,
  );
});

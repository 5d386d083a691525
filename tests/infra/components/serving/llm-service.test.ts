import assert from "node:assert/strict";
import { test } from "node:test";
import { LlmService } from "../../../../components/serving/llm-service";
import { capture, find, get, gpuCluster, isSecret, ofType } from "../../helpers";

const model = {
  name: "m1",
  source: { kind: "s3" as const, uri: "s3://bucket/m1/" },
  gpus: 1,
  resources: { cpu: "4", memory: "16Gi" },
  replicas: { min: 2, max: 4 },
  maxConcurrent: 8,
  maxQueue: 64,
  cacheSize: "40Gi",
};

async function deploy(overrides: Partial<typeof model> = {}, cluster = {}) {
  return capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(cluster),
      namespace: "llm-serving",
      model: { ...model, ...overrides },
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1\nk2",
    });
  });
}

test("requests the model's GPUs and tolerates the GPU taint on GPU clusters", async () => {
  const { resources } = await deploy();
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const runtime = (get(pod, "containers") as unknown[])[0];
  assert.equal(get(runtime, "resources", "limits", "nvidia.com/gpu"), "1");
  assert.deepEqual(get(pod, "tolerations"), [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  assert.deepEqual(get(pod, "nodeSelector"), { "nvidia.com/gpu.present": "true" });
});

test("requests no GPU on a CPU-only cluster", async () => {
  const { resources } = await deploy({ gpus: 0 }, { gpu: { ...gpuCluster().gpu, enabled: false } });
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  assert.equal(get((get(pod, "containers") as unknown[])[0], "resources", "limits", "nvidia.com/gpu"), undefined);
  assert.equal(get(pod, "tolerations"), undefined);
});

test("probes readiness and liveness on the runtime's endpoints", async () => {
  const { resources } = await deploy();
  const c = (
    get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec", "containers") as unknown[]
  )[0];
  assert.equal(get(c, "readinessProbe", "httpGet", "path"), "/readyz");
  assert.equal(get(c, "livenessProbe", "httpGet", "path"), "/healthz");
  assert.equal(get(c, "startupProbe", "httpGet", "path"), "/readyz");
});

test("keeps API keys in a Secret whose data is a Pulumi secret", async () => {
  const { resources } = await deploy();
  const secret = find(resources, "kubernetes:core/v1:Secret", "c1-m1-api-keys");
  assert.ok(isSecret(secret.inputs.stringData), "stringData must be a Pulumi secret");
});

test("fills the model cache with an init container for object-store sources", async () => {
  const { resources } = await deploy();
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const init = get(pod, "initContainers") as unknown[];
  assert.equal(init.length, 1);
  assert.match(String((get(init[0], "command") as string[])[2]), /aws s3 sync 's3:\/\/bucket\/m1\/'/);
});

test("adds a PodDisruptionBudget only when at least two replicas serve", async () => {
  assert.equal(ofType((await deploy()).resources, "kubernetes:policy/v1:PodDisruptionBudget").length, 1);
  assert.equal(
    ofType((await deploy({ replicas: { min: 1, max: 2 } })).resources, "kubernetes:policy/v1:PodDisruptionBudget").length,
    0,
  );
});

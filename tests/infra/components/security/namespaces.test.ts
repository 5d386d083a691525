import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  INFERENCE_PRIORITY_CLASS,
  NAMESPACES,
  PlatformNamespaces,
  platformNamespaces,
  servingQuota,
  validateNamespaces,
} from "../../../../components/security/namespaces";
import { kedaMemoryLimitMi } from "../../../../components/autoscaling/keda";
import { cpuMillis, memoryMi } from "../../../../components/security/quantity";
import { capture, find, get, gpuCluster, ofType } from "../../helpers";

const base = { gpuOperator: true, monitoringStorage: "50Gi", prometheus: { cpu: "1", memory: "4Gi" }, replicas: 2 };

test("serving quota covers every model at max replicas plus one surge pod, GPUs included", () => {
  const q = servingQuota(
    [
      { cpu: "4", memory: "16Gi", gpus: 1, cacheSize: "40Gi", replicas: { max: 3 } },
      { cpu: "500m", memory: "2Gi", gpus: 2, replicas: { max: 1 } },
    ],
    "nvidia.com/gpu",
  );
  assert.equal(q["requests.cpu"], "17"); // 4*4 + 0.5*2
  assert.equal(q["requests.memory"], "68Gi"); // 16*4 + 2*2
  assert.equal(q["requests.nvidia.com/gpu"], "8"); // 1*4 + 2*2
  assert.equal(q["requests.storage"], "160Gi");
  assert.equal(q.pods, "6");
  assert.equal(q["services.loadbalancers"], "0");
});

test("a model on the shared cache counts two versions' claims and its fill Job, not a copy per pod", () => {
  const q = servingQuota(
    [
      {
        cpu: "4",
        memory: "16Gi",
        gpus: 1,
        sharedCache: { size: "100Gi", jobCpu: "1", jobMemory: "1Gi" },
        replicas: { max: 3 },
      },
    ],
    "nvidia.com/gpu",
  );
  assert.equal(q["requests.storage"], "200Gi");
  assert.equal(q["requests.cpu"], "17"); // 4*4 + the Job's 1
  assert.equal(q["limits.memory"], "65Gi"); // 16*4 + 1
  assert.equal(q.pods, "5");
});

test("no GPU quota on CPU-only serving", () => {
  const q = servingQuota([{ cpu: "2", memory: "2Gi", gpus: 0, replicas: { max: 1 } }], "nvidia.com/gpu");
  assert.equal(q["requests.nvidia.com/gpu"], undefined);
});

test("platform namespaces get the Pod Security level their workloads need; gpu-operator only when asked", () => {
  const levels = Object.fromEntries(platformNamespaces(base).map((n) => [n.name, n.podSecurity]));
  assert.equal(levels[NAMESPACES.certManager], "restricted");
  assert.equal(levels[NAMESPACES.keda], "restricted");
  assert.equal(levels[NAMESPACES.monitoring], "privileged"); // node-exporter
  assert.equal(levels[NAMESPACES.gpuOperator], "privileged");
  assert.ok(!platformNamespaces({ ...base, gpuOperator: false }).some((n) => n.name === NAMESPACES.gpuOperator));
});

test("monitoring quota grows with the Prometheus size and replicas from settings", () => {
  const mon = (r: number) => platformNamespaces({ ...base, replicas: r }).find((n) => n.name === NAMESPACES.monitoring)!.quota;
  assert.equal(mon(2)["requests.cpu"], "18"); // 2 x 1 CPU + 16 for the rest
  assert.equal(mon(2)["requests.storage"], "130Gi"); // 2 x 50Gi + 30Gi
  assert.equal(mon(1)["requests.cpu"], "17");
});

test("creates each namespace with PSS labels, a quota, a LimitRange and the inference PriorityClass", async () => {
  const { resources } = await capture(() => {
    new PlatformNamespaces("c1-ns", {
      cluster: gpuCluster(),
      namespaces: [
        {
          name: "llm-serving",
          podSecurity: "restricted",
          quota: { pods: "4" },
          defaults: { cpu: "100m", memory: "128Mi", memoryLimit: "512Mi" },
          labels: { "llm-platform.io/tier": "serving" },
        },
      ],
    });
  });
  const ns = find(resources, "kubernetes:core/v1:Namespace", "c1-ns-llm-serving");
  assert.equal(get(ns.inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"), "restricted");
  assert.equal(get(ns.inputs, "metadata", "labels", "llm-platform.io/tier"), "serving");
  assert.deepEqual(get(find(resources, "kubernetes:core/v1:ResourceQuota", "c1-ns-llm-serving-quota").inputs, "spec", "hard"), {
    pods: "4",
  });
  const limits = get(
    find(resources, "kubernetes:core/v1:LimitRange", "c1-ns-llm-serving-limits").inputs,
    "spec",
    "limits",
  ) as unknown[];
  assert.deepEqual(get(limits[0], "defaultRequest"), { cpu: "100m", memory: "128Mi" });
  const pc = ofType(resources, "kubernetes:scheduling.k8s.io/v1:PriorityClass");
  assert.equal(pc.length, 1);
  assert.equal(get(pc[0].inputs, "metadata", "name"), INFERENCE_PRIORITY_CLASS);
  assert.equal(pc[0].inputs.globalDefault, false);
  assert.ok((pc[0].inputs.value as number) < 1_000_000_000, "must stay below system-critical priorities");
});

test("rejects a namespace listed twice", () => {
  assert.deepEqual(validateNamespaces([{ name: "x" }, { name: "y" }, { name: "x" }]), ["namespace 'x' is listed twice"]);
  assert.deepEqual(validateNamespaces(platformNamespaces(base)), []);
});

test("the serving quota never caps a model below its max replicas plus a surge pod", () => {
  const footprint = fc.record({
    cpu: fc.integer({ min: 1, max: 64 }).map(String),
    memory: fc.integer({ min: 1, max: 512 }).map((g) => `${g}Gi`),
    gpus: fc.integer({ min: 0, max: 8 }),
    replicas: fc.record({ max: fc.integer({ min: 1, max: 100 }) }),
  });
  fc.assert(
    fc.property(fc.array(footprint, { minLength: 1, maxLength: 5 }), (models) => {
      const q = servingQuota(models, "nvidia.com/gpu");
      const need = (f: (m: (typeof models)[number]) => number) => models.reduce((a, m) => a + (m.replicas.max + 1) * f(m), 0);
      const gpus = need((m) => m.gpus);
      return (
        cpuMillis(q["requests.cpu"]) >= need((m) => cpuMillis(m.cpu)) &&
        memoryMi(q["requests.memory"]) >= need((m) => memoryMi(m.memory)) &&
        Number(q.pods) === need(() => 1) &&
        (gpus === 0 ? q["requests.nvidia.com/gpu"] === undefined : Number(q["requests.nvidia.com/gpu"]) === gpus)
      );
    }),
  );
});

test("the keda quota holds KEDA's own pods as the chart values size them, HA included, plus a rollout's surge pod", () => {
  // HA: operator, metrics server and webhooks at 2 replicas each: 2 x (1Gi + 1Gi + 256Mi) + a 1Gi surge pod.
  assert.equal(kedaMemoryLimitMi(true), 5632);
  assert.equal(kedaMemoryLimitMi(false), 3328);
  const keda = (ha: boolean) =>
    platformNamespaces({ ...base, kedaMemoryLimitMi: kedaMemoryLimitMi(ha) }).find((n) => n.name === NAMESPACES.keda)!.quota;
  assert.ok(memoryMi(keda(true)["limits.memory"]) >= kedaMemoryLimitMi(true));
  assert.equal(keda(false)["limits.memory"], "4Gi"); // the floor: room for the chart's hooks and jobs
});

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Keda,
  queueScaledObject,
  runningTarget,
  scalingTriggers,
  validateQueueScaling,
  type QueueScalingArgs,
} from "../../../../components/autoscaling/keda";
import { CHARTS } from "../../../../components/charts";
import { capture, find, get, gpuCluster } from "../../helpers";

const args: QueueScalingArgs = {
  scaledObjectName: "m1",
  namespace: "llm-serving",
  deploymentName: "m1",
  model: "m1",
  replicas: { min: 2, max: 6 },
  targetQueueDepth: 4,
  maxConcurrent: 8,
  prometheusUrl: "http://kps-prometheus.monitoring.svc:9090",
};

test("installs the pinned KEDA chart with standby replicas, PDBs and resources", async () => {
  const { resources } = await capture(() => {
    new Keda("k", { cluster: gpuCluster(), namespace: "keda", highAvailability: true });
  });
  const r = find(resources, "kubernetes:helm.sh/v3:Release", "k-keda");
  assert.equal(r.inputs.chart, "keda");
  assert.equal(r.inputs.version, CHARTS.keda.version);
  assert.equal(get(r.inputs, "repositoryOpts", "repo"), "https://kedacore.github.io/charts");
  assert.equal(get(r.inputs, "values", "operator", "replicaCount"), 2);
  assert.deepEqual(get(r.inputs, "values", "podDisruptionBudget", "operator"), { minAvailable: 1 });
  assert.ok(get(r.inputs, "values", "resources", "operator", "limits", "memory"));
});

test("scales on the model's waiting requests from the in-cluster Prometheus, with the configured target", () => {
  const [waiting, running] = scalingTriggers(args);
  assert.equal(get(waiting, "type"), "prometheus");
  assert.equal(get(waiting, "metadata", "query"), 'sum(llm_requests_waiting{namespace="llm-serving",model="m1"})');
  assert.equal(get(waiting, "metadata", "threshold"), "4");
  assert.equal(get(waiting, "metadata", "serverAddress"), "http://kps-prometheus.monitoring.svc:9090");
  assert.equal(get(running, "metadata", "query"), 'sum(llm_requests_running{namespace="llm-serving",model="m1"})');
  assert.equal(get(running, "metadata", "threshold"), String(runningTarget(8)));
});

test("the running target stays below the runtime's concurrency limit", () => {
  for (const c of [1, 2, 8, 64, 256]) {
    assert.ok(runningTarget(c) >= 1);
    assert.ok(runningTarget(c) <= c);
  }
  assert.equal(runningTarget(8), 6);
});

test("a model that may scale to zero also wakes on the requests the HTTP add-on's interceptor holds for it", () => {
  const triggers = scalingTriggers({
    ...args,
    replicas: { min: 0, max: 2 },
    scaleFromZero: { scalerNamespace: "keda", httpScaledObject: "m1" },
  });
  assert.equal(triggers.length, 3);
  assert.deepEqual(triggers[2], {
    type: "external-push",
    metadata: { scalerAddress: "keda-add-ons-http-external-scaler.keda:9090", httpScaledObject: "m1" },
  });
  assert.equal(scalingTriggers(args).length, 2, "no interceptor trigger when min >= 1");
});

test("the ScaledObject carries min/max replicas from config and targets the Deployment", async () => {
  const { resources } = await capture(() => {
    queueScaledObject("so", args, { provider: gpuCluster().provider });
  });
  const so = find(resources, "kubernetes:keda.sh/v1alpha1:ScaledObject", "so");
  assert.equal(get(so.inputs, "spec", "minReplicaCount"), 2);
  assert.equal(get(so.inputs, "spec", "maxReplicaCount"), 6);
  assert.deepEqual(get(so.inputs, "spec", "scaleTargetRef"), { apiVersion: "apps/v1", kind: "Deployment", name: "m1" });
  assert.equal(get(so.inputs, "metadata", "name"), "m1");
});

test("rejects bounds that cannot work, naming the inputs", () => {
  assert.match(
    validateQueueScaling({ ...args, replicas: { min: 3, max: 2 } }).join(),
    /replicas.min \(3\) must be <= replicas.max \(2\)/,
  );
  assert.match(validateQueueScaling({ ...args, replicas: { min: 0, max: 2 } }).join(), /replicas.min 0 needs scaleFromZero/);
  assert.deepEqual(validateQueueScaling(args), []);
});

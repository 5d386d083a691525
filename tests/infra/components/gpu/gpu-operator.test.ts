import assert from "node:assert/strict";
import { test } from "node:test";
import { CHARTS } from "../../../../components/charts";
import { GpuOperator, validateGpuOperator } from "../../../../components/gpu/gpu-operator";
import { capture, find, get, gpuCluster } from "../../helpers";

test("installs the pinned gpu-operator with DCGM metrics for Prometheus and NFD", async () => {
  const { resources } = await capture(() => {
    new GpuOperator("g", { cluster: gpuCluster(), namespace: "gpu-operator" });
  });
  const r = find(resources, "kubernetes:helm.sh/v3:Release", "g-gpu-operator");
  assert.equal(r.inputs.chart, "gpu-operator");
  assert.equal(r.inputs.version, CHARTS.gpuOperator.version);
  assert.equal(get(r.inputs, "repositoryOpts", "repo"), "https://helm.ngc.nvidia.com/nvidia");
  assert.equal(get(r.inputs, "values", "dcgmExporter", "serviceMonitor", "enabled"), true);
  assert.equal(get(r.inputs, "values", "dcgmExporter", "serviceMonitor", "honorLabels"), true);
  assert.equal(get(r.inputs, "values", "nfd", "enabled"), true);
  assert.equal(get(r.inputs, "values", "devicePlugin", "enabled"), true);
});

test("operand daemonsets tolerate exactly the GPU nodes' taints", async () => {
  const tolerations = [{ key: "gpu-team", operator: "Equal" as const, value: "llm", effect: "NoExecute" as const }];
  const { resources } = await capture(() => {
    new GpuOperator("g", { cluster: gpuCluster({ gpu: { ...gpuCluster().gpu, tolerations } }), namespace: "gpu-operator" });
  });
  const r = find(resources, "kubernetes:helm.sh/v3:Release", "g-gpu-operator");
  assert.deepEqual(get(r.inputs, "values", "daemonsets", "tolerations"), tolerations);
  assert.deepEqual(get(r.inputs, "values", "node-feature-discovery", "worker", "tolerations"), tolerations);
});

test("refuses CPU-only clusters and clusters whose substrate provides the device plugin", () => {
  const gpu = gpuCluster().gpu;
  assert.match(
    validateGpuOperator({ name: "laptop", gpu: { ...gpu, enabled: false } }).join(),
    /CPU-only cluster gets no gpu-operator/,
  );
  assert.match(
    validateGpuOperator({ name: "eks", gpu: { ...gpu, installOperator: false } }).join(),
    /already provides the device plugin/,
  );
  assert.deepEqual(validateGpuOperator({ name: "dc1", gpu }), []);
});

test("leaves driver and container toolkit to node images that ship them", async () => {
  const values = async (driverPreinstalled?: boolean) => {
    const { resources } = await capture(() => {
      new GpuOperator("g", {
        cluster: gpuCluster({ gpu: { ...gpuCluster().gpu, driverPreinstalled } }),
        namespace: "gpu-operator",
      });
    });
    return get(find(resources, "kubernetes:helm.sh/v3:Release", "g-gpu-operator").inputs, "values");
  };
  const pre = await values(true);
  assert.deepEqual([get(pre, "driver", "enabled"), get(pre, "toolkit", "enabled")], [false, false]);
  const own = await values(undefined);
  assert.deepEqual([get(own, "driver", "enabled"), get(own, "toolkit", "enabled")], [true, true]);
});

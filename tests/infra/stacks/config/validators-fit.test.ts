/** A model fits, in allocatable resources, every machine type of every GPU pool it may land on. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatIssue } from "../../../../stacks/config/issues";
import type { Settings } from "../../../../stacks/config/schema";
import {
  AZURE_GPU_VM_SHAPES,
  AZURE_GPU_VM_SIZES,
  EC2_GPU_INSTANCE_SHAPES,
  EC2_GPU_INSTANCE_TYPES,
} from "../../../../stacks/config/cloud-catalog";
import {
  aksAllocatable,
  cpuMillicores,
  eksAllocatable,
  memoryMiB,
  validateModelFitsPools,
} from "../../../../stacks/config/validators";
import { settingsOf } from "./fixtures";

const messages = (s: Pick<Settings, "clusters" | "models">) => validateModelFitsPools(s).map(formatIssue);

describe("allocatable resources", () => {
  test("EKS AMI formula: g6.xlarge (4 vCPU, 16 GiB, 58 pods) keeps 3920m and 15391Mi", () => {
    // CPU: 60m + 10m + 2 x 5m; memory: 11Mi x 58 + 255Mi, and 100Mi eviction threshold.
    const a = eksAllocatable(EC2_GPU_INSTANCE_SHAPES["g6.xlarge"]);
    assert.equal(a.cpuMilli, 4000 - 80);
    assert.equal(a.memoryMiB, 16384 - (11 * 58 + 255) - 100);
    assert.equal(eksAllocatable(EC2_GPU_INSTANCE_SHAPES["g6.2xlarge"]).cpuMilli, 8000 - 90);
  });

  test("AKS rules: 24 cores reserve the 32-core row, memory the lesser of 20Mi x 250 + 50Mi and 25%", () => {
    const a = aksAllocatable(AZURE_GPU_VM_SHAPES.Standard_NC24ads_A100_v4);
    assert.equal(a.cpuMilli, 24000 - 420);
    assert.equal(a.memoryMiB, 225280 - 5050 - 100);
    // A small VM: 25% of 28Gi (7168Mi) exceeds 5050Mi, so 5050Mi; 4 cores reserve 140m.
    assert.equal(aksAllocatable(AZURE_GPU_VM_SHAPES.Standard_NC4as_T4_v3).cpuMilli, 4000 - 140);
    assert.equal(aksAllocatable({ vcpu: 2, memoryMiB: 8192, gpus: 1 }).memoryMiB, 8192 - 2048 - 100);
  });

  test("quantities", () => {
    assert.equal(cpuMillicores("6"), 6000);
    assert.equal(cpuMillicores("500m"), 500);
    assert.equal(cpuMillicores("1.5"), 1500);
    assert.equal(memoryMiB("28Gi"), 28672);
    assert.equal(memoryMiB("512Mi"), 512);
  });

  test("the shape tables cover the GPU catalog and agree on GPU counts", () => {
    for (const [t, gpus] of Object.entries(EC2_GPU_INSTANCE_TYPES)) {
      assert.equal(EC2_GPU_INSTANCE_SHAPES[t]?.gpus, gpus, t);
      assert.ok((EC2_GPU_INSTANCE_SHAPES[t].maxPods ?? 0) > 0, t);
    }
    for (const [t, gpus] of Object.entries(AZURE_GPU_VM_SIZES)) assert.equal(AZURE_GPU_VM_SHAPES[t]?.gpus, gpus, t);
  });
});

describe("validateModelFitsPools", () => {
  test("every cloud stack's models fit its pools", () => {
    for (const stack of ["dev", "staging", "prod", "dr"]) assert.deepEqual(messages(settingsOf(stack)), [], stack);
  });

  test("dev as it was (g6.xlarge first) fails, naming the model's key, the pool's key and the numbers", () => {
    const s = settingsOf("dev");
    const c = s.clusters[0];
    assert.equal(c.substrate, "eks");
    if (c.substrate !== "eks") return;
    const old = { ...s, clusters: [{ ...c, gpuPools: [{ ...c.gpuPools[0], instanceTypes: ["g6.xlarge", "g6.2xlarge"] }] }] };
    assert.deepEqual(messages(old), [
      'models[0].resources.cpu: does not fit clusters[0].gpuPools[0].instanceTypes[0] (g6.xlarge): 6000m requested, 3920m allocatable of 4 vCPU, 16Gi (EKS AMI reserves 80m CPU and 893Mi for 58 pods, plus the 100Mi eviction threshold), got "6"',
      'models[0].resources.memory: does not fit clusters[0].gpuPools[0].instanceTypes[0] (g6.xlarge): 28.0Gi requested, 15.0Gi allocatable of 4 vCPU, 16Gi (EKS AMI reserves 80m CPU and 893Mi for 58 pods, plus the 100Mi eviction threshold); the autoscaler would never scale this pool up for it, got "28Gi"',
    ]);
  });

  test("memory that fits capacity but not allocatable fails", () => {
    const s = settingsOf("dev");
    const m = { ...s.models[0], resources: { cpu: "4", memory: "31Gi" } };
    // g6.2xlarge: 32Gi capacity, 31775Mi (31.03Gi) allocatable; 31Gi = 31744Mi fits, 32Gi does not.
    assert.deepEqual(messages({ ...s, models: [m] }), []);
    const over = messages({ ...s, models: [{ ...m, resources: { cpu: "4", memory: "32Gi" } }] });
    assert.equal(over.length, 1);
    assert.match(
      over[0],
      /^models\[0\]\.resources\.memory: does not fit clusters\[0\]\.gpuPools\[0\]\.instanceTypes\[0\] \(g6\.2xlarge\)/,
    );
  });

  test("a model needing more GPUs than a type has fails, on AKS too", () => {
    const s = settingsOf("staging");
    const issues = messages({ ...s, models: [{ ...s.models[0], gpus: 2 }] });
    assert.deepEqual(issues, [
      "models[0].gpus: needs 2 GPUs per replica but clusters[0].gpuPools[0].vmSize (Standard_NC24ads_A100_v4) has 1, got 2",
    ]);
  });

  test("pools of clusters the model is not placed on are not checked", () => {
    const s = settingsOf("dev");
    const m = { ...s.models[0], gpus: 4, clusters: ["elsewhere"] };
    assert.deepEqual(messages({ ...s, models: [m] }), []);
  });
});

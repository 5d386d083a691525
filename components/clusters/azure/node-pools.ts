/**
 * GPU agent pools: one per configured pool, autoscaled from `min` (zero allowed) to `max`, tainted and
 * labelled like every GPU node of the platform, encrypted at host, on the cluster's node subnet. The GPU
 * driver is left to NVIDIA's gpu-operator unless the stack asks for the AKS-managed one.
 */
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as pulumi from "@pulumi/pulumi";
import { GPU_NODE_LABELS, type TaintSpec } from "../record";

export interface AksGpuPoolSpec {
  name: string;
  vmSize: string;
  min: number;
  max: number;
  priority: "Regular" | "Spot";
  osDiskSizeGb: number;
}

/** AKS taints carry a value; pods tolerate the key with `Equal` and this value. */
export const GPU_TAINT: TaintSpec = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" };
export const POOL_LABEL = "llm-platform/pool";

export const aksTaint = (t: TaintSpec) => `${t.key}=${t.value ?? ""}:${t.effect}`;

export interface GpuPoolsSpec {
  resourceGroupName: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  version: string;
  subnetId: pulumi.Input<string>;
  pools: AksGpuPoolSpec[];
  gpuDriver: "gpu-operator" | "aks";
  tags: Record<string, string>;
}

export function createGpuPools(name: string, spec: GpuPoolsSpec, opts: pulumi.CustomResourceOptions) {
  return spec.pools.map(
    (pool) =>
      new containerservice.AgentPool(
        `${name}-gpu-${pool.name}`,
        {
          resourceGroupName: spec.resourceGroupName,
          resourceName: spec.clusterName,
          agentPoolName: pool.name,
          mode: "User",
          orchestratorVersion: spec.version,
          vmSize: pool.vmSize,
          osType: "Linux",
          osSKU: "AzureLinux",
          osDiskType: "Managed",
          osDiskSizeGB: pool.osDiskSizeGb,
          enableEncryptionAtHost: true,
          vnetSubnetID: spec.subnetId,
          enableAutoScaling: true,
          minCount: pool.min,
          maxCount: pool.max,
          count: pool.min,
          nodeLabels: { ...GPU_NODE_LABELS, [POOL_LABEL]: pool.name },
          nodeTaints: [aksTaint(GPU_TAINT)],
          gpuProfile: { driver: spec.gpuDriver === "gpu-operator" ? "None" : "Install" },
          ...(pool.priority === "Spot" ? { scaleSetPriority: "Spot", scaleSetEvictionPolicy: "Delete", spotMaxPrice: -1 } : {}),
          upgradeSettings: { maxSurge: "1" },
          tags: spec.tags,
        },
        // The autoscaler owns the node count once the pool exists.
        { ...opts, ignoreChanges: ["count"] },
      ),
  );
}

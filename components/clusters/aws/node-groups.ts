/**
 * Managed node groups: a small on-demand system group for the platform's own pods, and one group per GPU
 * pool on the NVIDIA AL2023 AMI, tainted so only pods that ask for GPUs land there, scaling from `min`
 * (zero allowed) to `max` under the cluster autoscaler. Root volumes are gp3, encrypted with the cluster key;
 * instance metadata requires IMDSv2 with one hop, so pods cannot borrow the node's role.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GPU_NODE_LABELS, type TaintSpec } from "../record";
import { createRole, managedPolicyArn, serviceTrust } from "./iam";

export interface GpuPoolSpec {
  name: string;
  instanceTypes: string[];
  min: number;
  max: number;
  capacityType: "ON_DEMAND" | "SPOT";
  diskSizeGb: number;
}

export interface NodeGroupsSpec {
  clusterName: pulumi.Input<string>;
  eksClusterName: string;
  region: string;
  version: string;
  partition: pulumi.Input<string>;
  keyArn: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  systemPool: { instanceTypes: string[]; min: number; max: number };
  gpuPools: GpuPoolSpec[];
  tags: Record<string, string>;
}

/** Labels every GPU node carries; the serving pods select them. */
/** The taint every GPU node carries; only pods that tolerate it (GPU workloads) are scheduled there. */
export const GPU_TAINT: TaintSpec = { key: "nvidia.com/gpu", effect: "NoSchedule" };
export const POOL_LABEL = "llm-platform/pool";

const EKS_TAINT_EFFECT = { NoSchedule: "NO_SCHEDULE", NoExecute: "NO_EXECUTE", PreferNoSchedule: "PREFER_NO_SCHEDULE" } as const;
export const eksTaint = (t: TaintSpec) => ({ key: t.key, value: t.value, effect: EKS_TAINT_EFFECT[t.effect] });

const SYSTEM_DISK_GB = 50;

function launchTemplate(name: string, spec: NodeGroupsSpec, diskSizeGb: number, opts: pulumi.CustomResourceOptions) {
  return new aws.ec2.LaunchTemplate(
    name,
    {
      region: spec.region,
      updateDefaultVersion: true,
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: {
            volumeSize: diskSizeGb,
            volumeType: "gp3",
            encrypted: "true",
            kmsKeyId: spec.keyArn,
            deleteOnTermination: "true",
          },
        },
      ],
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      tagSpecifications: [
        { resourceType: "instance", tags: spec.tags },
        { resourceType: "volume", tags: spec.tags },
      ],
      tags: spec.tags,
    },
    opts,
  );
}

export function createNodeGroups(name: string, spec: NodeGroupsSpec, opts: pulumi.CustomResourceOptions) {
  const { region, tags } = spec;
  const { role, attachments } = createRole(
    `${name}-nodes`,
    {
      trust: serviceTrust("ec2.amazonaws.com"),
      // The VPC CNI's permissions go to its own Pod Identity role (addons.ts), not to every node.
      managedPolicyArns: [
        managedPolicyArn(spec.partition, "AmazonEKSWorkerNodePolicy"),
        managedPolicyArn(spec.partition, "AmazonEC2ContainerRegistryPullOnly"),
      ],
      tags,
    },
    opts,
  );
  const common = {
    region,
    clusterName: spec.clusterName,
    version: spec.version,
    nodeRoleArn: role.arn,
    subnetIds: spec.subnetIds,
    updateConfig: { maxUnavailable: 1 },
    tags,
  };
  // The autoscaler owns the desired size once the group exists.
  const groupOpts = { ...opts, dependsOn: attachments, ignoreChanges: ["scalingConfig.desiredSize"] };

  const systemLt = launchTemplate(`${name}-system`, spec, SYSTEM_DISK_GB, opts);
  const system = new aws.eks.NodeGroup(
    `${name}-system`,
    {
      ...common,
      nodeGroupName: "system",
      amiType: "AL2023_x86_64_STANDARD",
      capacityType: "ON_DEMAND",
      instanceTypes: spec.systemPool.instanceTypes,
      scalingConfig: { minSize: spec.systemPool.min, maxSize: spec.systemPool.max, desiredSize: spec.systemPool.min },
      launchTemplate: { id: systemLt.id, version: pulumi.interpolate`${systemLt.latestVersion}` },
      labels: { [POOL_LABEL]: "system" },
    },
    groupOpts,
  );

  const gpu = spec.gpuPools.map((pool) => {
    const lt = launchTemplate(`${name}-gpu-${pool.name}`, spec, pool.diskSizeGb, opts);
    return new aws.eks.NodeGroup(
      `${name}-gpu-${pool.name}`,
      {
        ...common,
        nodeGroupName: `gpu-${pool.name}`,
        amiType: "AL2023_x86_64_NVIDIA",
        capacityType: pool.capacityType,
        instanceTypes: pool.instanceTypes,
        // desiredSize starts at min: GPU pools with min 0 cost nothing until a pod asks for a GPU.
        scalingConfig: { minSize: pool.min, maxSize: pool.max, desiredSize: pool.min },
        launchTemplate: { id: lt.id, version: pulumi.interpolate`${lt.latestVersion}` },
        labels: { ...GPU_NODE_LABELS, [POOL_LABEL]: pool.name },
        // At zero nodes the autoscaler learns these labels and taints from the node group (eks:DescribeNodegroup).
        taints: [eksTaint(GPU_TAINT)],
      },
      groupOpts,
    );
  });

  return { role, system, gpu };
}

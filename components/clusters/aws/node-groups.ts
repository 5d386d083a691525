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

/** The taint every GPU node carries; only pods that tolerate it (GPU workloads) are scheduled there. */
export const GPU_TAINT: TaintSpec = { key: "nvidia.com/gpu", effect: "NoSchedule" };
export const POOL_LABEL = "llm-platform/pool";

const EKS_TAINT_EFFECT = { NoSchedule: "NO_SCHEDULE", NoExecute: "NO_EXECUTE", PreferNoSchedule: "PREFER_NO_SCHEDULE" } as const;
export const eksTaint = (t: TaintSpec) => ({ key: t.key, value: t.value, effect: EKS_TAINT_EFFECT[t.effect] });

const SYSTEM_DISK_GB = 50;

/**
 * The label the cluster autoscaler's AWS provider reads as "this node has GPUs" (GPULabel in
 * cloudprovider/aws/aws_cloud_provider.go): a joining node that carries it counts as GPU-capable before
 * the device plugin reports its GPUs, so the autoscaler does not add another node meanwhile.
 */
export const ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator";

/** The GPU of each EC2 instance family the GPU pools allow (stacks/config/cloud-catalog.ts), as the label's value. */
export const EC2_GPU_MODELS: Readonly<Record<string, string>> = {
  g4dn: "nvidia-t4",
  g5: "nvidia-a10g",
  g6: "nvidia-l4",
  gr6: "nvidia-l4",
  g6e: "nvidia-l40s",
  p4d: "nvidia-a100",
  p4de: "nvidia-a100",
  p5: "nvidia-h100",
  p5e: "nvidia-h200",
  p5en: "nvidia-h200",
  "p6-b200": "nvidia-b200",
};

/** The pool's one GPU model; a pool mixing GPU models or naming an unknown family is an error naming it. */
export function gpuModel(pool: Pick<GpuPoolSpec, "name" | "instanceTypes">): string {
  const models = [...new Set(pool.instanceTypes.map((t) => EC2_GPU_MODELS[t.split(".")[0]] ?? `unknown (${t})`))];
  if (models.length !== 1 || models[0].startsWith("unknown"))
    throw new Error(
      `gpuPools '${pool.name}'.instanceTypes must share one known GPU model (the ${ACCELERATOR_LABEL} label), got ${models.join(", ")}`,
    );
  return models[0];
}

/** ASG tag prefixes the autoscaler reads a node template from (cloudprovider/aws/README.md, node-template tags). */
const TEMPLATE_LABEL = "k8s.io/cluster-autoscaler/node-template/label/";
const TEMPLATE_TAINT = "k8s.io/cluster-autoscaler/node-template/taint/";

/** The autoscaler's node-template tags for a GPU group: labels as `label/<key>`, taints as `taint/<key>` = `value:Effect`. */
export function nodeTemplateTags(labels: Record<string, string>, taints: readonly TaintSpec[]): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(labels).map(([k, v]) => [`${TEMPLATE_LABEL}${k}`, v])),
    ...Object.fromEntries(taints.map((t) => [`${TEMPLATE_TAINT}${t.key}`, `${t.value ?? ""}:${t.effect}`])),
  };
}

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
    const labels = { ...GPU_NODE_LABELS, [ACCELERATOR_LABEL]: gpuModel(pool), [POOL_LABEL]: pool.name };
    const group = new aws.eks.NodeGroup(
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
        labels,
        taints: [eksTaint(GPU_TAINT)],
      },
      groupOpts,
    );
    // At zero nodes the autoscaler reads labels and taints from the node group (eks:DescribeNodegroup) only
    // until the group has had a node; after a scale-down to zero it reads the ASG's node-template tags, which
    // EKS does not copy from the node group's tags, so they are set on the ASG itself.
    const asgName = group.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? "");
    for (const [key, value] of Object.entries(nodeTemplateTags(labels, [GPU_TAINT])))
      new aws.autoscaling.Tag(
        `${name}-gpu-${pool.name}-${key.slice("k8s.io/cluster-autoscaler/node-template/".length).replace(/[^a-z0-9]+/gi, "-")}`,
        { region, autoscalingGroupName: asgName, tag: { key, value, propagateAtLaunch: false } },
        { ...opts, parent: group },
      );
    return group;
  });

  return { role, system, gpu };
}

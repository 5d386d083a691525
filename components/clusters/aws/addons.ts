/**
 * What a bare EKS cluster needs before workloads: the managed add-ons (VPC CNI with network-policy
 * enforcement, kube-proxy, CoreDNS, the Pod Identity agent, the EBS CSI driver), an encrypted gp3 default
 * storage class, the AWS Load Balancer Controller (the Gateway's Service becomes an NLB) and the cluster
 * autoscaler. Each controller gets its own Pod Identity role.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createRole, managedPolicyArn, podIdentityTrust, type PolicyDocument } from "./iam";
import { clusterAutoscalerPolicy, ebsCsiKeyPolicy, loadBalancerControllerPolicy, podIdentity } from "./identity";
import { POOL_LABEL } from "./node-groups";

/** Pinned chart versions (the cluster autoscaler's image follows the control plane's minor version). */
export const CHARTS = {
  loadBalancerController: { chart: "aws-load-balancer-controller", version: "1.13.4", repo: "https://aws.github.io/eks-charts" },
  // Chart 9.59.0 has appVersion 1.35.0 (its ClusterRole covers volumeattachments, which 1.35 reads); the image is
  // the newest 1.35 patch released (tag cluster-autoscaler-1.35.2), pinned here rather than derived as `.0`.
  clusterAutoscaler: {
    chart: "cluster-autoscaler",
    version: "9.59.0",
    repo: "https://kubernetes.github.io/autoscaler",
    imageTag: "v1.35.2",
  },
} as const;

/** The autoscaler must run the control plane's minor; a cluster on another minor needs a new pin, not a guess. */
export function clusterAutoscalerImageTag(clusterVersion: string): string {
  const tag = CHARTS.clusterAutoscaler.imageTag;
  if (!tag.startsWith(`v${clusterVersion}.`)) {
    throw new Error(
      `clusters[].version ${clusterVersion}: the pinned cluster-autoscaler image ${tag} is for another minor; pin a chart and image for ${clusterVersion} in CHARTS.clusterAutoscaler`,
    );
  }
  return tag;
}

/** The encrypted default storage class this component creates. */
export const STORAGE_CLASS = "gp3-encrypted";

export interface AddonsSpec {
  clusterName: pulumi.Input<string>;
  eksClusterName: string;
  region: string;
  version: string;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  keyArn: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  tags: Record<string, string>;
}

function addonRole(
  name: string,
  spec: AddonsSpec,
  managed: string,
  inline: PolicyDocument | undefined,
  opts: pulumi.CustomResourceOptions,
) {
  return createRole(
    name,
    { trust: podIdentityTrust(), managedPolicyArns: [managedPolicyArn(spec.partition, managed)], inline, tags: spec.tags },
    opts,
  );
}

/** Add-ons the nodes need to become Ready (networking, identity); created before the node groups. */
export function createNodeAddons(name: string, spec: AddonsSpec, opts: pulumi.CustomResourceOptions): aws.eks.Addon[] {
  const { region, tags } = spec;
  const cni = addonRole(`${name}-vpc-cni`, spec, "AmazonEKS_CNI_Policy", undefined, opts);
  const addon = (addonName: string, extra: Partial<aws.eks.AddonArgs> = {}, dependsOn: pulumi.Resource[] = []) =>
    new aws.eks.Addon(
      `${name}-${addonName}`,
      {
        region,
        clusterName: spec.clusterName,
        addonName,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags,
        ...extra,
      },
      { ...opts, dependsOn },
    );
  return [
    addon(
      "vpc-cni",
      {
        podIdentityAssociations: [{ roleArn: cni.role.arn, serviceAccount: "aws-node" }],
        // The network-policy agent enforces the NetworkPolicies the Kubernetes layer declares.
        configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
      },
      cni.attachments,
    ),
    addon("kube-proxy"),
    addon("eks-pod-identity-agent"),
  ];
}

/** Add-ons that run as Deployments and so wait for nodes. */
export function createWorkloadAddons(name: string, spec: AddonsSpec, opts: pulumi.CustomResourceOptions): aws.eks.Addon[] {
  const { region, tags } = spec;
  const ebs = addonRole(`${name}-ebs-csi`, spec, "service-role/AmazonEBSCSIDriverPolicy", ebsCsiKeyPolicy(spec.keyArn), opts);
  return [
    new aws.eks.Addon(
      `${name}-coredns`,
      { region, clusterName: spec.clusterName, addonName: "coredns", resolveConflictsOnCreate: "OVERWRITE", tags },
      opts,
    ),
    new aws.eks.Addon(
      `${name}-aws-ebs-csi-driver`,
      {
        region,
        clusterName: spec.clusterName,
        addonName: "aws-ebs-csi-driver",
        resolveConflictsOnCreate: "OVERWRITE",
        podIdentityAssociations: [{ roleArn: ebs.role.arn, serviceAccount: "ebs-csi-controller-sa" }],
        tags,
      },
      { ...opts, dependsOn: ebs.attachments },
    ),
  ];
}

/** The default storage class: gp3, encrypted with the cluster key, bound where the pod lands. */
export function createStorageClass(name: string, keyArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
  return new k8s.storage.v1.StorageClass(
    `${name}-${STORAGE_CLASS}`,
    {
      metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true", kmsKeyId: keyArn, "csi.storage.k8s.io/fstype": "ext4" },
      reclaimPolicy: "Delete",
      volumeBindingMode: "WaitForFirstConsumer",
      allowVolumeExpansion: true,
    },
    opts,
  );
}

const systemNodes = { [POOL_LABEL]: "system" };

/** The AWS Load Balancer Controller and the cluster autoscaler, each with its own Pod Identity role. */
export function createControllers(
  name: string,
  spec: AddonsSpec,
  opts: pulumi.CustomResourceOptions,
  cluster: { provider: k8s.Provider; after: pulumi.Resource[] },
): { releases: k8s.helm.v3.Release[]; roles: aws.iam.Role[] } {
  const { region, tags } = spec;
  const lbc = podIdentity(
    `${name}-lb-controller`,
    {
      clusterName: spec.clusterName,
      region,
      namespace: "kube-system",
      serviceAccount: "aws-load-balancer-controller",
      inline: loadBalancerControllerPolicy(spec.partition),
      tags,
    },
    opts,
  );
  const ca = podIdentity(
    `${name}-cluster-autoscaler`,
    {
      clusterName: spec.clusterName,
      region,
      namespace: "kube-system",
      serviceAccount: "cluster-autoscaler",
      inline: clusterAutoscalerPolicy({
        clusterName: spec.eksClusterName,
        partition: spec.partition,
        region,
        accountId: spec.accountId,
      }),
      tags,
    },
    opts,
  );
  const lbcRelease = new k8s.helm.v3.Release(
    `${name}-aws-load-balancer-controller`,
    {
      name: "aws-load-balancer-controller",
      chart: CHARTS.loadBalancerController.chart,
      version: CHARTS.loadBalancerController.version,
      repositoryOpts: { repo: CHARTS.loadBalancerController.repo },
      namespace: "kube-system",
      values: {
        clusterName: spec.clusterName,
        // Given explicitly: with a one-hop metadata limit the controller cannot discover them from IMDS.
        region,
        vpcId: spec.vpcId,
        replicaCount: 2,
        // ALB-only features; their permissions are left out of the controller's policy (IAM_DEVIATIONS).
        enableShield: false,
        enableWaf: false,
        enableWafv2: false,
        serviceAccount: { create: true, name: "aws-load-balancer-controller" },
        nodeSelector: systemNodes,
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      },
    },
    { parent: opts.parent, provider: cluster.provider, dependsOn: [...cluster.after, lbc.association] },
  );
  const caRelease = new k8s.helm.v3.Release(
    `${name}-cluster-autoscaler`,
    {
      name: "cluster-autoscaler",
      chart: CHARTS.clusterAutoscaler.chart,
      version: CHARTS.clusterAutoscaler.version,
      repositoryOpts: { repo: CHARTS.clusterAutoscaler.repo },
      namespace: "kube-system",
      values: {
        cloudProvider: "aws",
        awsRegion: region,
        autoDiscovery: { clusterName: spec.clusterName },
        image: { tag: clusterAutoscalerImageTag(spec.version) },
        rbac: { serviceAccount: { create: true, name: "cluster-autoscaler" } },
        nodeSelector: systemNodes,
        extraArgs: {
          // Spread GPU pools of the same shape evenly; pick the node group that wastes the least.
          "balance-similar-node-groups": true,
          expander: "least-waste",
          "skip-nodes-with-system-pods": false,
          "scale-down-unneeded-time": "10m",
        },
        resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { cpu: "500m", memory: "600Mi" } },
      },
    },
    { parent: opts.parent, provider: cluster.provider, dependsOn: [...cluster.after, ca.association] },
  );
  return { releases: [lbcRelease, caRelease], roles: [lbc.role, ca.role] };
}

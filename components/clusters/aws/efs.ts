/**
 * The shared model cache of an EKS cluster: an EFS file system encrypted with the cluster key, a mount target
 * in every private subnet behind a security group that admits only NFS from the VPC, a file system policy
 * that refuses unencrypted connections, the EFS CSI driver (EKS add-on; its controller's Pod Identity role
 * carries the driver's published policy, compared in tests/infra/guards/iam-parity.test.ts) and a storage
 * class that provisions one access point per claim, owned by the runtime's UID.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NON_ROOT_UID } from "../../security/pod-security";
import { createRole, podIdentityTrust, policy, toJson, type PolicyDocument } from "./iam";

/** The ReadWriteMany storage class the model cache claims use on EKS. */
export const EFS_STORAGE_CLASS = "efs-models";

/** Tag the driver puts on (and requires of) the access points it manages. */
const EFS_CSI_TAG = "efs.csi.aws.com/cluster";

/**
 * The EFS CSI controller (dynamic provisioning with access points): the EFS statements of the driver's
 * docs/iam-policy-example.json, same scoping. S3 Files statements are left out (IAM_DEVIATIONS).
 */
export function efsCsiControllerPolicy(): PolicyDocument {
  return policy(
    {
      Sid: "DescribeFileSystems",
      Effect: "Allow",
      Action: [
        "elasticfilesystem:DescribeAccessPoints",
        "elasticfilesystem:DescribeFileSystems",
        "elasticfilesystem:DescribeMountTargets",
        "ec2:DescribeAvailabilityZones",
      ],
      Resource: "*",
    },
    {
      Sid: "CreateTaggedAccessPoints",
      Effect: "Allow",
      Action: "elasticfilesystem:CreateAccessPoint",
      Resource: "*",
      Condition: { StringLike: { [`aws:RequestTag/${EFS_CSI_TAG}`]: "true" } },
    },
    {
      Sid: "TagOwnAccessPoints",
      Effect: "Allow",
      Action: "elasticfilesystem:TagResource",
      Resource: "*",
      Condition: { StringLike: { [`aws:ResourceTag/${EFS_CSI_TAG}`]: "true" } },
    },
    {
      Sid: "DeleteOwnAccessPoints",
      Effect: "Allow",
      Action: "elasticfilesystem:DeleteAccessPoint",
      Resource: "*",
      Condition: { StringEquals: { [`aws:ResourceTag/${EFS_CSI_TAG}`]: "true" } },
    },
  );
}

/** Clients may mount through a mount target, and only over TLS (the driver mounts with `tls` by default). */
export function efsFileSystemPolicy(fileSystemArn: pulumi.Input<string>): PolicyDocument {
  return policy(
    {
      Sid: "MountThroughMountTargets",
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
      Resource: fileSystemArn,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
    },
    {
      Sid: "RefuseUnencryptedTransport",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "*",
      Resource: fileSystemArn,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  );
}

export interface ModelFileSystemSpec {
  region: string;
  clusterName: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  privateSubnetIds: pulumi.Input<string>[];
  keyArn: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** The file system, its network, the CSI driver add-on and its role; the storage class comes after the provider. */
export function createModelFileSystem(name: string, spec: ModelFileSystemSpec, opts: pulumi.CustomResourceOptions) {
  const { region, tags } = spec;
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-efs`,
    {
      region,
      vpcId: spec.vpcId,
      description: "EFS model cache: NFS from the cluster VPC only",
      ingress: [
        { protocol: "tcp", fromPort: 2049, toPort: 2049, cidrBlocks: [spec.vpcCidr], description: "NFS (TLS via efs-utils)" },
      ],
      tags: { ...tags, Name: `${name}-efs` },
    },
    opts,
  );
  const fileSystem = new aws.efs.FileSystem(
    `${name}-models`,
    {
      region,
      encrypted: true,
      kmsKeyId: spec.keyArn,
      performanceMode: "generalPurpose",
      // Elastic: read throughput follows demand (many pods loading a model at once) with nothing to provision.
      throughputMode: "elastic",
      tags: { ...tags, Name: `${name}-models` },
    },
    opts,
  );
  new aws.efs.FileSystemPolicy(
    `${name}-models`,
    { region, fileSystemId: fileSystem.id, policy: toJson(efsFileSystemPolicy(fileSystem.arn)) },
    { ...opts, parent: fileSystem },
  );
  const mountTargets = spec.privateSubnetIds.map(
    (subnetId, i) =>
      new aws.efs.MountTarget(
        `${name}-models-${i}`,
        { region, fileSystemId: fileSystem.id, subnetId, securityGroups: [securityGroup.id] },
        { ...opts, parent: fileSystem },
      ),
  );
  // The add-on creates the Pod Identity association for its controller's service account from this role.
  const controller = createRole(`${name}-efs-csi`, { trust: podIdentityTrust(), inline: efsCsiControllerPolicy(), tags }, opts);
  const driver = new aws.eks.Addon(
    `${name}-aws-efs-csi-driver`,
    {
      region,
      clusterName: spec.clusterName,
      addonName: "aws-efs-csi-driver",
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "OVERWRITE",
      podIdentityAssociations: [{ roleArn: controller.role.arn, serviceAccount: "efs-csi-controller-sa" }],
      tags,
    },
    { ...opts, dependsOn: [...controller.attachments, ...mountTargets] },
  );
  return { fileSystem, securityGroup, mountTargets, driver, controllerRole: controller.role };
}

/**
 * One access point per claim under /models, owned by the runtime's UID and GID (EFS enforces that identity,
 * so the cache Job writes and the runtime reads as the same user whatever the pod's own UID).
 */
export function createEfsStorageClass(name: string, fileSystemId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
  return new k8s.storage.v1.StorageClass(
    `${name}-${EFS_STORAGE_CLASS}`,
    {
      metadata: { name: EFS_STORAGE_CLASS },
      provisioner: "efs.csi.aws.com",
      parameters: {
        provisioningMode: "efs-ap",
        fileSystemId,
        directoryPerms: "750",
        uid: String(NON_ROOT_UID),
        gid: String(NON_ROOT_UID),
        basePath: "/models",
      },
      mountOptions: ["tls"],
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    },
    opts,
  );
}

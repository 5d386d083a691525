/**
 * The EKS control plane: private API endpoint (public only from the allowed CIDRs), Kubernetes secrets
 * envelope-encrypted with the cluster's customer-managed key, every control-plane log type to CloudWatch
 * with a retention, access entries (API mode, no aws-auth ConfigMap), and the kubeconfig the Kubernetes
 * provider uses, as a Pulumi secret.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createRole, managedPolicyArn, serviceTrust } from "./iam";

/** Every control-plane log type EKS offers: the audit log is the one incident response needs. */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export interface ControlPlaneSpec {
  clusterName: string;
  region: string;
  version: string;
  partition: pulumi.Input<string>;
  keyArn: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  serviceCidr: string;
  publicAccessCidrs: string[];
  adminRoleArns: string[];
  logRetentionDays: number;
  tags: Record<string, string>;
}

export function logGroupName(clusterName: string): string {
  return `/aws/eks/${clusterName}/cluster`;
}

export function createControlPlane(name: string, spec: ControlPlaneSpec, opts: pulumi.CustomResourceOptions) {
  const { region, tags } = spec;
  const { role, attachments } = createRole(
    `${name}-control-plane`,
    {
      trust: serviceTrust("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]),
      managedPolicyArns: [managedPolicyArn(spec.partition, "AmazonEKSClusterPolicy")],
      tags,
    },
    opts,
  );
  // Created before the cluster so EKS writes into a group with our retention and key, not one it creates.
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-control-plane`,
    { region, name: logGroupName(spec.clusterName), retentionInDays: spec.logRetentionDays, kmsKeyId: spec.keyArn, tags },
    opts,
  );
  const publicEndpoint = spec.publicAccessCidrs.length > 0;
  const cluster = new aws.eks.Cluster(
    name,
    {
      region,
      name: spec.clusterName,
      version: spec.version,
      roleArn: role.arn,
      vpcConfig: {
        subnetIds: spec.subnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: publicEndpoint,
        // An empty list would mean 0.0.0.0/0 to EKS; the endpoint is off in that case instead.
        publicAccessCidrs: publicEndpoint ? spec.publicAccessCidrs : undefined,
      },
      encryptionConfig: { provider: { keyArn: spec.keyArn }, resources: ["secrets"] },
      enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
      kubernetesNetworkConfig: { ipFamily: "ipv4", serviceIpv4Cidr: spec.serviceCidr },
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
      // The add-ons are managed as EKS add-ons (addons.ts), with versions and identities we choose.
      bootstrapSelfManagedAddons: false,
      upgradePolicy: { supportType: "STANDARD" },
      tags,
    },
    { ...opts, dependsOn: [...attachments, logGroup] },
  );

  const admins = spec.adminRoleArns.map((principalArn, i) => {
    const entry = new aws.eks.AccessEntry(
      `${name}-admin-${i}`,
      { region, clusterName: cluster.name, principalArn, type: "STANDARD", tags },
      { ...opts, parent: cluster },
    );
    return new aws.eks.AccessPolicyAssociation(
      `${name}-admin-${i}`,
      {
        region,
        clusterName: cluster.name,
        principalArn,
        policyArn: pulumi.interpolate`arn:${spec.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
        accessScope: { type: "cluster" },
      },
      { ...opts, parent: cluster, dependsOn: [entry] },
    );
  });

  return { cluster, logGroup, admins };
}

/**
 * A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens; the AWS CLI must be on the
 * deployer's PATH), kept secret because it names the endpoint and CA of a private control plane.
 */
export function kubeconfig(cluster: aws.eks.Cluster, region: string): pulumi.Output<string> {
  const doc = pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority.data]).apply(([clusterName, server, ca]) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: clusterName, cluster: { server, "certificate-authority-data": ca } }],
      contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
      "current-context": clusterName,
      users: [
        {
          name: clusterName,
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "aws",
              args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
              interactiveMode: "Never",
            },
          },
        },
      ],
    }),
  );
  return pulumi.secret(doc);
}

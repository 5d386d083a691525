/**
 * EksCluster: an EKS GPU cluster with everything the Kubernetes layer assumes (network, encryption, node
 * pools that scale from zero, add-ons, load balancer controller, artifacts, the EFS model cache, workload
 * identities), returned
 * as the same `ClusterRecord` the on-prem and local clusters return.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GPU_NODE_LABELS, gpuFacts, type ClusterRecord } from "../record";
import { CERT_MANAGER_IDENTITY, EXTERNAL_DNS_IDENTITY, SERVING_IDENTITY } from "../workload-identity";
import { createControllers, createNodeAddons, createStorageClass, createWorkloadAddons } from "./addons";
import { createArtifacts } from "./artifacts";
import { createEfsStorageClass, createModelFileSystem } from "./efs";
import { createControlPlane, kubeconfig, logGroupName } from "./cluster";
import { certManagerDnsPolicy, externalDnsPolicy, modelReaderPolicy, podIdentity } from "./identity";
import { autoScalingServiceLinkedRole, createKey } from "./kms";
import { createNetwork } from "./network";
import { createNodeGroups, GPU_TAINT, gpuModel, type GpuPoolSpec } from "./node-groups";

/** Where the EKS Pod Identity agent serves credentials on every node (hostNetwork, plain HTTP). */
export const POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;

export interface EksClusterArgs {
  region: string;
  version: string;
  vpcCidr: string;
  availabilityZones: number;
  natGateways: "perZone" | "single";
  serviceCidr: string;
  publicAccessCidrs: string[];
  adminRoleArns: string[];
  logRetentionDays: number;
  systemPool: { instanceTypes: string[]; min: number; max: number };
  gpuPools: GpuPoolSpec[];
  loadBalancer: { annotations: Record<string, string>; scheme: "internet-facing" | "internal" };
  artifacts: { role: "primary" | "replica"; modelBucket: string; repository: string };
  dr?: { region: string; modelBucket: string };
  /** Route 53 zone cert-manager may answer DNS-01 challenges in (looked up by name without an id); unset grants cert-manager nothing. */
  dnsZone?: { name: string; id?: string };
  /** Route 53 zone external-dns publishes the failover records in (traffic/failover.ts); unset installs no identity. */
  failoverZoneId?: string;
  /**
   * EC2 Auto Scaling's service-linked role, which the cluster key's policy names: `create` it (default; a
   * fresh account has none) or use the `existing` one (an account that has had an Auto Scaling group, or
   * a second stack in the same account). See autoScalingServiceLinkedRole in kms.ts.
   */
  autoScalingServiceLinkedRole?: "create" | "existing";
  /** Tags on every AWS resource, next to the cluster's own. */
  tags?: Record<string, string>;
}

/** Rejects contradictory inputs before anything is created, naming the inputs. */
export function checkEksArgs(name: string, args: EksClusterArgs): void {
  const problems: string[] = [];
  if (args.dr && args.artifacts.role === "replica")
    problems.push("dr is set but artifacts.role is 'replica': only the primary stack replicates its artifacts");
  if (args.dr && args.dr.region === args.region) problems.push(`dr.region must differ from region (${args.region})`);
  for (const p of [args.systemPool, ...args.gpuPools])
    if (p.max < p.min) problems.push(`pool max (${p.max}) must be >= min (${p.min})`);
  if (args.gpuPools.length === 0) problems.push("gpuPools must name at least one pool");
  for (const p of args.gpuPools)
    try {
      gpuModel(p);
    } catch (e) {
      problems.push((e as Error).message);
    }
  if (problems.length > 0) throw new Error(`EksCluster '${name}': ${problems.join("; ")}`);
}

/** Service annotations that make the AWS Load Balancer Controller put an NLB in front of the Gateway. */
export function nlbAnnotations(scheme: "internet-facing" | "internal"): Record<string, string> {
  return {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme,
    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
  };
}

export class EksCluster extends pulumi.ComponentResource {
  readonly record: ClusterRecord;
  readonly cluster: aws.eks.Cluster;
  readonly key: aws.kms.Key;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:clusters:EksCluster", name, {}, opts);
    checkEksArgs(name, args);
    const { region } = args;
    const tags = { ...args.tags, "llm-platform/cluster": name };
    const child = { parent: this };
    const caller = aws.getCallerIdentityOutput({}, child);
    const partition = aws.getPartitionOutput({}, child).partition;
    const accountId = caller.accountId;

    const slr = autoScalingServiceLinkedRole(name, args.autoScalingServiceLinkedRole ?? "create", child);
    const { key } = createKey(
      `${name}-cluster`,
      {
        region,
        accountId,
        partition,
        description: `EKS ${name}: Kubernetes secrets, node and persistent volumes, control-plane logs, models, images`,
        alias: `llm-platform/${name}`,
        logGroupArns: [pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:${logGroupName(name)}`],
        autoScaling: true,
        tags,
      },
      // KMS checks that every principal in the policy exists when the key is created.
      { ...child, dependsOn: slr ? [slr] : [] },
    );
    this.key = key;

    const network = createNetwork(
      name,
      { clusterName: name, region, vpcCidr: args.vpcCidr, zones: args.availabilityZones, natGateways: args.natGateways, tags },
      child,
    );
    const { cluster } = createControlPlane(
      name,
      {
        clusterName: name,
        region,
        version: args.version,
        partition,
        keyArn: key.arn,
        subnetIds: network.privateSubnetIds,
        serviceCidr: args.serviceCidr,
        publicAccessCidrs: args.publicAccessCidrs,
        adminRoleArns: args.adminRoleArns,
        logRetentionDays: args.logRetentionDays,
        tags,
      },
      child,
    );
    this.cluster = cluster;

    const addonSpec = {
      clusterName: cluster.name,
      eksClusterName: name,
      region,
      version: args.version,
      accountId,
      partition,
      keyArn: key.arn,
      vpcId: network.vpc.id,
      tags,
    };
    const nodeAddons = createNodeAddons(name, addonSpec, child);
    const nodes = createNodeGroups(
      name,
      {
        clusterName: cluster.name,
        eksClusterName: name,
        region,
        version: args.version,
        partition,
        keyArn: key.arn,
        subnetIds: network.privateSubnetIds,
        systemPool: args.systemPool,
        gpuPools: args.gpuPools,
        tags,
      },
      { ...child, dependsOn: nodeAddons },
    );
    const workloadAddons = createWorkloadAddons(name, addonSpec, { ...child, dependsOn: [nodes.system] });

    const provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: kubeconfig(cluster, region), enableServerSideApply: true },
      { ...child, dependsOn: [nodes.system] },
    );
    const storageClass = createStorageClass(name, key.arn, { ...child, provider, dependsOn: workloadAddons });
    const controllers = createControllers(name, addonSpec, child, { provider, after: [...workloadAddons] });
    // The shared model cache: each model version is downloaded once per cluster, not once per pod.
    const efs = createModelFileSystem(
      name,
      {
        region,
        clusterName: cluster.name,
        vpcId: network.vpc.id,
        vpcCidr: args.vpcCidr,
        privateSubnetIds: network.privateSubnetIds,
        keyArn: key.arn,
        tags,
      },
      { ...child, dependsOn: [nodes.system] },
    );
    const sharedStorageClass = createEfsStorageClass(name, efs.fileSystem.id, { ...child, provider, dependsOn: [efs.driver] });

    const artifacts = createArtifacts(
      name,
      {
        region,
        accountId,
        partition,
        keyArn: key.arn,
        role: args.artifacts.role,
        modelBucket: args.artifacts.modelBucket,
        repository: args.artifacts.repository,
        dr: args.dr,
        tags,
      },
      child,
    );

    const serving = podIdentity(
      `${name}-serving`,
      {
        clusterName: cluster.name,
        region,
        ...SERVING_IDENTITY,
        inline: modelReaderPolicy({ bucketArn: artifacts.modelBucketArn, keyArn: artifacts.modelKeyArn, region }),
        tags,
      },
      child,
    );
    let certManager: ReturnType<typeof podIdentity> | undefined;
    let zoneId: pulumi.Output<string> | undefined;
    if (args.dnsZone) {
      zoneId = args.dnsZone.id
        ? pulumi.output(args.dnsZone.id)
        : aws.route53.getZoneOutput({ name: args.dnsZone.name, privateZone: false }, child).zoneId;
      certManager = podIdentity(
        `${name}-cert-manager`,
        {
          clusterName: cluster.name,
          region,
          ...CERT_MANAGER_IDENTITY,
          inline: certManagerDnsPolicy({ partition, zoneId }),
          tags,
        },
        child,
      );
    }

    const externalDns =
      args.failoverZoneId === undefined
        ? undefined
        : podIdentity(
            `${name}-external-dns`,
            {
              clusterName: cluster.name,
              region,
              ...EXTERNAL_DNS_IDENTITY,
              inline: externalDnsPolicy({ partition, zoneId: args.failoverZoneId }),
              tags,
            },
            child,
          );

    // Pod Identity needs nothing on the service account or pod: the agent matches the association.
    const identity = (ref: { namespace: string; serviceAccount: string }) => ({
      ...ref,
      serviceAccountAnnotations: {},
      podLabels: {},
    });
    this.record = {
      name,
      substrate: "eks",
      provider,
      // The AL2023 NVIDIA AMI ships the driver and container toolkit, not the device plugin or DCGM exporter.
      gpu: gpuFacts(GPU_NODE_LABELS, [GPU_TAINT], { installOperator: true, driverPreinstalled: true }),
      storageClass: storageClass.metadata.name,
      sharedCache: { storageClass: sharedStorageClass.metadata.name },
      loadBalancer: {
        annotations: { ...nlbAnnotations(args.loadBalancer.scheme), ...args.loadBalancer.annotations },
        scheme: args.loadBalancer.scheme,
      },
      kmsKeyArn: key.arn,
      ready: [
        ...nodes.gpu,
        ...workloadAddons,
        storageClass,
        sharedStorageClass,
        ...controllers.releases,
        serving.association,
        ...(externalDns ? [externalDns.association] : []),
      ],
      identities: {
        serving: identity(SERVING_IDENTITY),
        certManager: certManager ? identity(CERT_MANAGER_IDENTITY) : undefined,
        externalDns: externalDns ? identity(EXTERNAL_DNS_IDENTITY) : undefined,
      },
      dns01: zoneId ? { route53: { region, hostedZoneID: zoneId } } : undefined,
      credentialEndpoints: [POD_IDENTITY_AGENT],
      registry: artifacts.repositoryUrl,
    };
    this.registerOutputs({ clusterName: cluster.name, endpoint: cluster.endpoint, kmsKeyArn: key.arn });
  }
}

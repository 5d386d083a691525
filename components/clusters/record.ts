/**
 * The small record every cluster component returns. The Kubernetes layer (security, traffic, observability,
 * serving) reads only this, so it never knows which substrate it runs on.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface Toleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface TaintSpec {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface ClusterRecord {
  /** Cluster name from config; prefixes every resource of the Kubernetes layer on this cluster. */
  name: string;
  substrate: "local" | "onprem" | "eks" | "aks";
  provider: k8s.Provider;
  gpu: {
    /** false on CPU-only clusters (local): serving runs the CPU build and requests no GPU. */
    enabled: boolean;
    /** Extended resource the device plugin advertises. */
    resourceName: string;
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
    /** Install NVIDIA's gpu-operator (device plugin, DCGM exporter); false where the substrate provides them. */
    installOperator: boolean;
    /**
     * The node image already carries the NVIDIA driver and container toolkit (EKS AL2023 NVIDIA AMI): the
     * operator must run with its driver and toolkit disabled. Unset means false.
     */
    driverPreinstalled?: boolean;
  };
  storageClass: pulumi.Input<string>;
  /**
   * A ReadWriteMany storage class for the shared model cache (EFS on EKS, Azure Files premium on AKS, the
   * configured NFS/CephFS class on-prem): each model version is fetched once per cluster and mounted read-only
   * by every replica. Unset (local, or on-prem without one): every pod copies the model into its own volume.
   */
  sharedCache?: {
    storageClass: pulumi.Input<string>;
    /** The smallest volume the class provisions (Azure Files premium: 100Gi); smaller requests are raised to it. */
    minimumSize?: string;
  };
  loadBalancer: {
    annotations: Record<string, pulumi.Input<string>>;
    scheme: "internet-facing" | "internal";
  };
  /** Customer-managed key that encrypts this cluster's secrets and volumes, where the substrate has one. */
  kmsKeyArn?: pulumi.Output<string>;
  /** Resources the workloads must wait for (node groups, add-ons). */
  ready: pulumi.Resource[];
  /**
   * Cloud identities bound to Kubernetes service accounts (EKS Pod Identity, AKS workload identity). The
   * Kubernetes layer runs the workload under `serviceAccount` in `namespace`, with these annotations on the
   * account and labels on the pods. Absent on substrates without cloud identities.
   */
  identities?: {
    /** The serving pods: read the model store. */
    serving?: WorkloadIdentity;
    /** cert-manager's controller: ACME DNS-01 in the stack's zone. */
    certManager?: WorkloadIdentity;
    /** external-dns: the failover records in the stack's Route 53 zone. */
    externalDns?: WorkloadIdentity;
  };
  /** Where cert-manager solves DNS-01 challenges, when the cluster granted it a DNS identity. */
  dns01?: {
    route53?: { region: string; hostedZoneID: pulumi.Output<string> };
    /** The managed identity cert-manager's service account is federated with (AKS workload identity). */
    azureDns?: { managedIdentityClientId: pulumi.Output<string> };
  };
  /**
   * Node-local endpoints that hand pods the credentials of their cloud identity (the EKS Pod Identity agent).
   * Plain HTTP on a link-local address, so egress policies must open them explicitly.
   */
  credentialEndpoints?: { cidr: string; port: number }[];
  /** Image registry of this cluster (ECR repository URL, ACR login server), when it has one. */
  registry?: pulumi.Output<string>;
}

export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
  serviceAccountAnnotations: Record<string, pulumi.Input<string>>;
  podLabels: Record<string, string>;
}

/** A pod tolerates exactly the taints its nodes carry. */
export function tolerationsFor(taints: readonly TaintSpec[]): Toleration[] {
  return taints.map((t) =>
    t.value === undefined
      ? { key: t.key, operator: "Exists", effect: t.effect }
      : { key: t.key, operator: "Equal", value: t.value, effect: t.effect },
  );
}

/** The extended resource NVIDIA's device plugin advertises. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** Label our cloud GPU node pools carry (the gpu-operator's node feature discovery sets the same one on-prem). */
export const GPU_NODE_LABELS: Readonly<Record<string, string>> = { "nvidia.com/gpu.present": "true" };

/** The GPU facts of a cluster whose GPU nodes carry `labels` and `taints`: pods select and tolerate exactly those. */
export function gpuFacts(
  labels: Readonly<Record<string, string>>,
  taints: readonly TaintSpec[],
  opts: { installOperator: boolean; driverPreinstalled?: boolean },
): ClusterRecord["gpu"] {
  return {
    enabled: true,
    resourceName: GPU_RESOURCE,
    nodeSelector: { ...labels },
    tolerations: tolerationsFor(taints),
    installOperator: opts.installOperator,
    ...(opts.driverPreinstalled === undefined ? {} : { driverPreinstalled: opts.driverPreinstalled }),
  };
}

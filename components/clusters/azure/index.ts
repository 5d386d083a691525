/**
 * AksCluster: an AKS GPU cluster with what the Kubernetes layer assumes (network, Key Vault encryption,
 * GPU pools that scale from zero, registry and model storage, workload identities), returned as the same
 * `ClusterRecord` the other substrates return.
 */
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as resources from "@pulumi/azure-native/resources";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NON_ROOT_UID } from "../../security/pod-security";
import { GPU_NODE_LABELS, gpuFacts, type ClusterRecord } from "../record";
import { CERT_MANAGER_IDENTITY, SERVING_IDENTITY, type ServiceAccountRef } from "../workload-identity";
import { createArtifacts } from "./artifacts";
import { createControlPlane, kubeconfig } from "./cluster";
import { assignRole, type Grant, type PrincipalType } from "./identity";
import { createDiskEncryptionSet, createVault } from "./keyvault";
import { createNetwork } from "./network";
import { createGpuPools, GPU_TAINT, type AksGpuPoolSpec } from "./node-pools";

export interface AksClusterArgs {
  location: string;
  version: string;
  vnetCidr: string;
  podCidr: string;
  serviceCidr: string;
  authorizedIpRanges: string[];
  privateCluster: boolean;
  tier: "Free" | "Standard";
  logRetentionDays: number;
  systemPool: { vmSize: string; min: number; max: number };
  gpuPools: AksGpuPoolSpec[];
  gpuDriver: "gpu-operator" | "aks";
  loadBalancer: { annotations: Record<string, string>; scheme: "internet-facing" | "internal" };
  artifacts: { storageAccount: string; container: string; registry: string; keyVault: string };
  drLocation?: string;
  /**
   * Azure DNS zone cert-manager answers ACME DNS-01 challenges in. When set, cert-manager's service account
   * gets a managed identity federated with the cluster's OIDC issuer and DNS Zone Contributor on that zone only.
   */
  dnsZone?: { subscriptionId: string; resourceGroupName: string; name: string };
  tags?: Record<string, string>;
  /**
   * What kind of principal runs `pulumi up` (the client config's object id): ARM checks it against the
   * directory. CI runs as a service principal (the default); a person deploying from a laptop sets `User`.
   */
  deployerPrincipalType?: PrincipalType;
}

/** The encrypted default storage class this component creates. */
export const STORAGE_CLASS = "managed-csi-cmk";
/** The ReadWriteMany class of the shared model cache. */
export const AZURE_FILES_STORAGE_CLASS = "azurefile-models";

export function checkAksArgs(name: string, args: AksClusterArgs): void {
  const problems: string[] = [];
  if (args.drLocation === args.location) problems.push(`drLocation must differ from location (${args.location})`);
  if (!args.privateCluster && args.authorizedIpRanges.length === 0)
    problems.push("a public API server needs authorizedIpRanges (or set privateCluster: true)");
  for (const p of [args.systemPool, ...args.gpuPools])
    if (p.max < p.min) problems.push(`pool max (${p.max}) must be >= min (${p.min})`);
  if (args.gpuPools.length === 0) problems.push("gpuPools must name at least one pool");
  if (problems.length > 0) throw new Error(`AksCluster '${name}': ${problems.join("; ")}`);
}

export function azureLbAnnotations(scheme: "internet-facing" | "internal"): Record<string, string> {
  return scheme === "internal" ? { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" } : {};
}

export class AksCluster extends pulumi.ComponentResource {
  readonly record: ClusterRecord;

  constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:clusters:AksCluster", name, {}, opts);
    checkAksArgs(name, args);
    const { location } = args;
    const tags = { ...args.tags, "llm-platform/cluster": name };
    const child = { parent: this };
    const client = authorization.getClientConfigOutput(child);
    const sub = client.subscriptionId;
    const deployerType = args.deployerPrincipalType ?? "ServicePrincipal";
    const grant = (grantName: string, g: Grant, dependsOn: pulumi.Resource[] = []) =>
      assignRole(`${name}-${grantName}`, sub, g, { ...child, dependsOn });

    const rg = new resources.ResourceGroup(name, { resourceGroupName: `rg-${name}`, location, tags }, child);
    const resourceGroupName = rg.name;
    const identity = (id: string) =>
      new managedidentity.UserAssignedIdentity(
        `${name}-${id}`,
        { resourceGroupName, location, resourceName: `id-${name}-${id}`, tags },
        child,
      );
    const controlPlaneId = identity("control-plane");
    const kubeletId = identity("kubelet");
    const servingId = identity("serving");
    const dataId = identity("data");

    const net = createNetwork(
      name,
      { resourceGroupName, location, vnetCidr: args.vnetCidr, scheme: args.loadBalancer.scheme, tags },
      child,
    );

    const { vault, key } = createVault(
      name,
      { resourceGroupName, location, vaultName: args.artifacts.keyVault, tenantId: client.tenantId, tags },
      child,
    );
    // The deployer creates the keys (RBAC vault: even its creator needs a data-plane role).
    const deployerKeys = grant("deployer-keys", {
      role: "keyVaultCryptoOfficer",
      principalId: client.objectId,
      scope: vault.id,
      principalType: deployerType,
    });
    // KMS pins the key version it is given; disks, storage and the registry follow the newest version.
    const kmsKey = key("kms", "pinned", [deployerKeys]);
    const dataKey = key("data", "versionless", [deployerKeys]);

    const des = createDiskEncryptionSet(
      name,
      { resourceGroupName, location, vaultId: vault.id, keyUrl: dataKey.keyUriWithVersion, tags },
      child,
    );
    const desPrincipal = des.identity.apply((i) => i?.principalId ?? "");
    const grants = [
      // The cluster identity creates node disks and PVC disks that name the disk encryption set, which ARM
      // authorizes as a linked read of the set (LinkedAuthorizationFailed without it). The AKS BYOK guide asks
      // for read access; Reader on the set alone is the least that grants Microsoft.Compute/diskEncryptionSets/read.
      grant("cp-des", { role: "reader", principalId: controlPlaneId.principalId, scope: des.id }),
      // The control plane: wrap secrets with the KMS key, place nodes in our subnet, run nodes as the kubelet identity.
      grant("cp-kms", { role: "keyVaultCryptoUser", principalId: controlPlaneId.principalId, scope: kmsKey.id }),
      grant("cp-network", { role: "networkContributor", principalId: controlPlaneId.principalId, scope: net.nodes.id }),
      grant("cp-kubelet", { role: "managedIdentityOperator", principalId: controlPlaneId.principalId, scope: kubeletId.id }),
      // Disks, the storage account and the registry unwrap their data keys with the data key.
      grant("des-key", { role: "keyVaultCryptoServiceEncryptionUser", principalId: desPrincipal, scope: dataKey.id }),
      grant("data-key", { role: "keyVaultCryptoServiceEncryptionUser", principalId: dataId.principalId, scope: dataKey.id }),
    ];

    const artifacts = createArtifacts(
      name,
      {
        resourceGroupName,
        location,
        storageAccount: args.artifacts.storageAccount,
        container: args.artifacts.container,
        registry: args.artifacts.registry,
        drLocation: args.drLocation,
        dataIdentity: { id: dataId.id, clientId: dataId.clientId },
        vaultUri: vault.properties.apply((p) => p.vaultUri ?? ""),
        keyName: dataKey.name,
        keyId: dataKey.keyUri,
        tags,
      },
      { ...child, dependsOn: grants },
    );

    const { cluster } = createControlPlane(
      name,
      {
        clusterName: name,
        resourceGroupName,
        location,
        version: args.version,
        tier: args.tier,
        tenantId: client.tenantId,
        subnetId: net.nodes.id,
        podCidr: args.podCidr,
        serviceCidr: args.serviceCidr,
        authorizedIpRanges: args.authorizedIpRanges,
        privateCluster: args.privateCluster,
        logRetentionDays: args.logRetentionDays,
        systemPool: args.systemPool,
        controlPlaneIdentityId: controlPlaneId.id,
        kubelet: { id: kubeletId.id, clientId: kubeletId.clientId, principalId: kubeletId.principalId },
        kmsKeyId: kmsKey.keyUriWithVersion,
        vaultId: vault.id,
        diskEncryptionSetId: des.id,
        tags,
      },
      { ...child, dependsOn: grants },
    );

    const gpuPools = createGpuPools(
      name,
      {
        resourceGroupName,
        clusterName: cluster.name,
        version: args.version,
        subnetId: net.nodes.id,
        pools: args.gpuPools,
        gpuDriver: args.gpuDriver,
        tags,
      },
      child,
    );

    // Workloads: nodes pull from the registry; the serving pods read the model container, nothing else.
    const acrPull = grant("kubelet-acr", { role: "acrPull", principalId: kubeletId.principalId, scope: artifacts.registry.id });
    const modelRead = grant("serving-models", {
      role: "storageBlobDataReader",
      principalId: servingId.principalId,
      scope: artifacts.containerScope,
    });
    // Workload identity: a service account's tokens, issued by this cluster, stand for one managed identity.
    const issuer = cluster.oidcIssuerProfile.apply((p) => p?.issuerURL ?? "");
    const federate = (id: string, identityResource: managedidentity.UserAssignedIdentity, account: ServiceAccountRef) =>
      new managedidentity.FederatedIdentityCredential(
        `${name}-${id}`,
        {
          resourceGroupName,
          resourceName: identityResource.name,
          federatedIdentityCredentialResourceName: id,
          issuer,
          subject: `system:serviceaccount:${account.namespace}:${account.serviceAccount}`,
          audiences: ["api://AzureADTokenExchange"],
        },
        { ...child, parent: identityResource },
      );
    const federation = federate("serving", servingId, SERVING_IDENTITY);
    const workloadIdentity = (account: ServiceAccountRef, id: managedidentity.UserAssignedIdentity) => ({
      ...account,
      serviceAccountAnnotations: { "azure.workload.identity/client-id": id.clientId },
      podLabels: { "azure.workload.identity/use": "true" },
    });

    // cert-manager: DNS-01 in the stack's zone, which may live in another subscription; nothing else.
    let certManager: { id: managedidentity.UserAssignedIdentity; ready: pulumi.Resource[] } | undefined;
    if (args.dnsZone) {
      const zone = args.dnsZone;
      const id = identity("cert-manager");
      const zoneGrant = assignRole(
        `${name}-cert-manager-dns`,
        zone.subscriptionId,
        {
          role: "dnsZoneContributor",
          principalId: id.principalId,
          scope: `/subscriptions/${zone.subscriptionId}/resourceGroups/${zone.resourceGroupName}/providers/Microsoft.Network/dnsZones/${zone.name}`,
        },
        child,
      );
      certManager = { id, ready: [zoneGrant, federate("cert-manager", id, CERT_MANAGER_IDENTITY)] };
    }
    // The deployer administers the cluster through Azure RBAC (local accounts are disabled).
    const deployerAdmin = grant("deployer-admin", {
      role: "aksRbacClusterAdmin",
      principalId: client.objectId,
      scope: cluster.id,
      principalType: deployerType,
    });

    const provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: kubeconfig(resourceGroupName, cluster.name, child), enableServerSideApply: true },
      { ...child, dependsOn: [deployerAdmin] },
    );
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-${STORAGE_CLASS}`,
      {
        metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "disk.csi.azure.com",
        parameters: {
          skuName: "Premium_ZRS",
          diskEncryptionSetID: des.id,
          diskEncryptionType: "EncryptionAtRestWithCustomerKey",
        },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { ...child, provider },
    );

    // The shared model cache: Azure Files premium over SMB 3 (encrypted in transit), owned by the runtime's
    // UID with no access for others (the built-in azurefile-csi-premium class mounts everything 0777).
    const sharedStorageClass = new k8s.storage.v1.StorageClass(
      `${name}-${AZURE_FILES_STORAGE_CLASS}`,
      {
        metadata: { name: AZURE_FILES_STORAGE_CLASS },
        provisioner: "file.csi.azure.com",
        parameters: { skuName: "Premium_LRS", protocol: "smb" },
        mountOptions: [
          "dir_mode=0750",
          "file_mode=0640",
          `uid=${NON_ROOT_UID}`,
          `gid=${NON_ROOT_UID}`,
          "mfsymlinks",
          "cache=strict",
          "nosharesock",
          "actimeo=30",
        ],
        reclaimPolicy: "Delete",
        volumeBindingMode: "Immediate",
      },
      { ...child, provider },
    );

    this.record = {
      name,
      substrate: "aks",
      provider,
      gpu: gpuFacts(GPU_NODE_LABELS, [GPU_TAINT], { installOperator: true, driverPreinstalled: args.gpuDriver === "aks" }),
      storageClass: storageClass.metadata.name,
      // Premium file shares start at 100 GiB.
      sharedCache: { storageClass: sharedStorageClass.metadata.name, minimumSize: "100Gi" },
      loadBalancer: {
        annotations: { ...azureLbAnnotations(args.loadBalancer.scheme), ...args.loadBalancer.annotations },
        scheme: args.loadBalancer.scheme,
      },
      kmsKeyArn: kmsKey.keyUri,
      ready: [...gpuPools, storageClass, sharedStorageClass, acrPull, modelRead, federation, ...(certManager?.ready ?? [])],
      identities: {
        serving: workloadIdentity(SERVING_IDENTITY, servingId),
        certManager: certManager ? workloadIdentity(CERT_MANAGER_IDENTITY, certManager.id) : undefined,
      },
      dns01: certManager ? { azureDns: { managedIdentityClientId: certManager.id.clientId } } : undefined,
      registry: artifacts.registry.loginServer,
    };
    this.registerOutputs({ clusterName: cluster.name, kmsKeyId: kmsKey.keyUri });
  }
}

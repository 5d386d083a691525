/**
 * Key Vault (RBAC authorization, purge protection, soft delete) with two RSA keys that rotate on a policy:
 * `kms` envelope-encrypts Kubernetes secrets (AKS KMS plugin), `data` encrypts node and persistent disks
 * (through a disk encryption set), the model storage account and the registry.
 */
import * as compute from "@pulumi/azure-native/compute";
import type * as azure from "@pulumi/azure-native";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as pulumi from "@pulumi/pulumi";

export interface VaultSpec {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  vaultName: string;
  tenantId: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** Rotate yearly, expire after two years, warn a month before: Key Vault's rotation policy in ISO 8601. */
export const KEY_ROTATION = { rotateAfter: "P1Y", expiry: "P2Y", notifyBefore: "P30D" } as const;

/**
 * How a key follows rotation. `versionless`: its users (disk encryption set, storage, registry) take the newest
 * version themselves, so old versions may expire. `pinned`: AKS KMS takes a versioned key id and keeps using
 * that version until the cluster is updated to a new one; an expired version would stop the API server from
 * decrypting secrets, so its versions get no expiry. The yearly rotation still makes a new version; `pulumi
 * refresh` then `pulumi up` moves the cluster's keyId to it (AKS re-encrypts), see docs/cloud.md.
 */
export type KeyUse = "versionless" | "pinned";

export function rotationPolicy(use: KeyUse): azure.types.input.keyvault.RotationPolicyArgs {
  return use === "pinned"
    ? { lifetimeActions: [{ action: { type: "rotate" }, trigger: { timeAfterCreate: KEY_ROTATION.rotateAfter } }] }
    : {
        attributes: { expiryTime: KEY_ROTATION.expiry },
        lifetimeActions: [
          { action: { type: "rotate" }, trigger: { timeAfterCreate: KEY_ROTATION.rotateAfter } },
          { action: { type: "notify" }, trigger: { timeBeforeExpiry: KEY_ROTATION.notifyBefore } },
        ],
      };
}

export function createVault(name: string, spec: VaultSpec, opts: pulumi.CustomResourceOptions) {
  const { resourceGroupName, location, tags } = spec;
  const vault = new keyvault.Vault(
    name,
    {
      resourceGroupName,
      location,
      vaultName: spec.vaultName,
      properties: {
        tenantId: spec.tenantId,
        sku: { family: "A", name: "standard" },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        // Without purge protection a deleted key could be purged and every disk and secret it wraps lost.
        enablePurgeProtection: true,
        // Reachable over the network, guarded by Entra ID and RBAC alone: AKS KMS in public mode needs that, and
        // the deployer creates the keys from outside the VNet. A private vault needs KMS's private mode with API
        // server VNet integration, a private endpoint and a deployer inside the network (not built).
        publicNetworkAccess: "Enabled",
        networkAcls: { bypass: "AzureServices", defaultAction: "Allow" },
      },
      tags,
    },
    opts,
  );
  const key = (keyName: string, use: KeyUse, dependsOn: pulumi.Resource[]) =>
    new keyvault.Key(
      `${name}-${keyName}`,
      {
        resourceGroupName,
        vaultName: vault.name,
        keyName,
        properties: {
          kty: "RSA",
          keySize: 2048,
          keyOps: ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
          rotationPolicy: rotationPolicy(use),
        },
        tags,
      },
      { ...opts, parent: vault, dependsOn },
    );
  return { vault, key };
}

/** Disk encryption set: node OS disks and persistent volumes encrypted with the `data` key, following rotation. */
export function createDiskEncryptionSet(
  name: string,
  a: {
    resourceGroupName: pulumi.Input<string>;
    location: string;
    vaultId: pulumi.Input<string>;
    keyUrl: pulumi.Input<string>;
    tags: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
) {
  return new compute.DiskEncryptionSet(
    name,
    {
      resourceGroupName: a.resourceGroupName,
      location: a.location,
      diskEncryptionSetName: `des-${name}`,
      identity: { type: "SystemAssigned" },
      encryptionType: "EncryptionAtRestWithCustomerKey",
      activeKey: { keyUrl: a.keyUrl, sourceVault: { id: a.vaultId } },
      rotationToLatestKeyVersionEnabled: true,
      tags: a.tags,
    },
    opts,
  );
}

/**
 * Model and image storage on Azure: a Premium registry (CMK, no admin user, no anonymous pull, geo-replica
 * in the DR location), and a model storage account that is geo-redundant with a readable secondary
 * (RA-GZRS), encrypted with the customer key (versionless, so it follows rotation), versioned, TLS 1.2+,
 * no public blob access and no shared keys: readers authenticate with Entra ID only.
 */
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as storage from "@pulumi/azure-native/storage";
import * as pulumi from "@pulumi/pulumi";

export interface ArtifactsSpec {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  storageAccount: string;
  container: string;
  registry: string;
  drLocation?: string;
  /** User-assigned identity that unwraps the data key for storage and the registry. */
  dataIdentity: { id: pulumi.Input<string>; clientId: pulumi.Input<string> };
  vaultUri: pulumi.Input<string>;
  keyName: pulumi.Input<string>;
  /** Versionless key id (https://<vault>.vault.azure.net/keys/<name>): follows rotation. */
  keyId: pulumi.Input<string>;
  tags: Record<string, string>;
}

export const NONCURRENT_VERSION_DAYS = 90;

export function createArtifacts(name: string, spec: ArtifactsSpec, opts: pulumi.CustomResourceOptions) {
  const { resourceGroupName, location, tags } = spec;
  const userIdentityIds = [spec.dataIdentity.id];

  const registry = new containerregistry.Registry(
    `${name}-registry`,
    {
      resourceGroupName,
      location,
      registryName: spec.registry,
      // Premium: customer-managed keys and geo-replication.
      sku: { name: "Premium" },
      adminUserEnabled: false,
      anonymousPullEnabled: false,
      zoneRedundancy: "Enabled",
      identity: {
        type: "UserAssigned",
        userAssignedIdentities: pulumi.output(spec.dataIdentity.id).apply((id) => ({ [id]: {} })),
      },
      encryption: { status: "enabled", keyVaultProperties: { keyIdentifier: spec.keyId, identity: spec.dataIdentity.clientId } },
      policies: { retentionPolicy: { status: "enabled", days: 14 } },
      tags,
    },
    opts,
  );
  if (spec.drLocation)
    new containerregistry.Replication(
      `${name}-registry-dr`,
      { resourceGroupName, registryName: registry.name, location: spec.drLocation, zoneRedundancy: "Enabled", tags },
      { ...opts, parent: registry },
    );

  const account = new storage.StorageAccount(
    `${name}-models`,
    {
      resourceGroupName,
      location,
      accountName: spec.storageAccount,
      kind: "StorageV2",
      sku: { name: "Standard_RAGZRS" },
      accessTier: "Hot",
      identity: { type: "UserAssigned", userAssignedIdentities: userIdentityIds },
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: "TLS1_2",
      encryption: {
        keySource: "Microsoft.Keyvault",
        keyVaultProperties: { keyName: spec.keyName, keyVaultUri: spec.vaultUri },
        encryptionIdentity: { encryptionUserAssignedIdentity: spec.dataIdentity.id },
        requireInfrastructureEncryption: true,
        services: { blob: { enabled: true, keyType: "Account" }, file: { enabled: true, keyType: "Account" } },
      },
      tags,
    },
    opts,
  );
  const child = { ...opts, parent: account };
  const blobService = new storage.BlobServiceProperties(
    `${name}-models`,
    {
      resourceGroupName,
      accountName: account.name,
      blobServicesName: "default",
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: true, days: 30 },
      containerDeleteRetentionPolicy: { enabled: true, days: 30 },
    },
    child,
  );
  const container = new storage.BlobContainer(
    `${name}-models`,
    { resourceGroupName, accountName: account.name, containerName: spec.container, publicAccess: "None" },
    { ...child, dependsOn: [blobService] },
  );
  new storage.ManagementPolicy(
    `${name}-models`,
    {
      resourceGroupName,
      accountName: account.name,
      managementPolicyName: "default",
      policy: {
        rules: [
          {
            name: "expire-old-versions",
            enabled: true,
            type: "Lifecycle",
            definition: {
              filters: { blobTypes: ["blockBlob"] },
              actions: { version: { delete: { daysAfterCreationGreaterThan: NONCURRENT_VERSION_DAYS } } },
            },
          },
        ],
      },
    },
    { ...child, dependsOn: [blobService] },
  );
  const containerScope = pulumi.interpolate`${account.id}/blobServices/default/containers/${spec.container}`;
  return { registry, account, container, containerScope };
}

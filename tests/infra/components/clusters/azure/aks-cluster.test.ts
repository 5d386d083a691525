import assert from "node:assert/strict";
import { test } from "node:test";
import { AksCluster, checkAksArgs, type AksClusterArgs } from "../../../../../components/clusters/azure";
import { BUILT_IN_ROLES } from "../../../../../components/clusters/azure/identity";
import type { ClusterRecord } from "../../../../../components/clusters/record";
import { capture, find, get, isSecret, ofType } from "../../../helpers";

const base: AksClusterArgs = {
  location: "westeurope",
  version: "1.35",
  vnetCidr: "10.30.0.0/16",
  podCidr: "10.244.0.0/16",
  serviceCidr: "172.16.0.0/16",
  authorizedIpRanges: ["203.0.113.0/24"],
  privateCluster: false,
  tier: "Standard",
  logRetentionDays: 90,
  systemPool: { vmSize: "Standard_D4ds_v5", min: 2, max: 3 },
  gpuPools: [{ name: "a100", vmSize: "Standard_NC24ads_A100_v4", min: 0, max: 2, priority: "Regular", osDiskSizeGb: 200 }],
  gpuDriver: "gpu-operator",
  loadBalancer: { annotations: {}, scheme: "internet-facing" },
  artifacts: { storageAccount: "modelsacct", container: "models", registry: "registry1", keyVault: "kv-c1" },
  drLocation: "northeurope",
};

async function build(overrides: Partial<AksClusterArgs> = {}) {
  let record: ClusterRecord | undefined;
  const out = await capture(() => {
    record = new AksCluster("c1", { ...base, ...overrides }).record;
  });
  return { ...out, record: record! };
}

const roleOf = (r: { inputs: Record<string, unknown> }) => String(get(r.inputs, "roleDefinitionId")).split("/").pop();

test("encrypts secrets with the Key Vault KMS plugin; the vault keeps purge protection and RBAC, keys rotate", async () => {
  const { resources } = await build();
  const aks = find(resources, "azure-native:containerservice:ManagedCluster", "c1");
  assert.equal(get(aks.inputs, "securityProfile", "azureKeyVaultKms", "enabled"), true);
  assert.match(String(get(aks.inputs, "securityProfile", "azureKeyVaultKms", "keyId")), /\/keys\/kms\//);
  const vault = find(resources, "azure-native:keyvault:Vault", "c1");
  assert.equal(get(vault.inputs, "properties", "enablePurgeProtection"), true);
  assert.equal(get(vault.inputs, "properties", "enableRbacAuthorization"), true);
  for (const k of ofType(resources, "azure-native:keyvault:Key")) {
    const actions = get(k.inputs, "properties", "rotationPolicy", "lifetimeActions") as unknown[];
    assert.ok(
      actions.some((a) => get(a, "action", "type") === "rotate"),
      `${k.name} rotates`,
    );
  }
});

test("uses CNI overlay, OIDC and workload identity, Entra ID only, and the authorized ranges", async () => {
  const { resources } = await build();
  const aks = find(resources, "azure-native:containerservice:ManagedCluster", "c1");
  assert.equal(get(aks.inputs, "networkProfile", "networkPluginMode"), "overlay");
  assert.equal(get(aks.inputs, "networkProfile", "dnsServiceIP"), "172.16.0.10");
  assert.equal(get(aks.inputs, "oidcIssuerProfile", "enabled"), true);
  assert.equal(get(aks.inputs, "securityProfile", "workloadIdentity", "enabled"), true);
  assert.equal(get(aks.inputs, "disableLocalAccounts"), true);
  assert.deepEqual(get(aks.inputs, "apiServerAccessProfile", "authorizedIPRanges"), ["203.0.113.0/24"]);
  assert.ok(get(aks.inputs, "diskEncryptionSetID"));
});

test("GPU pools autoscale between the bounds, carry the GPU taint and labels, and leave the driver to the operator", async () => {
  const { resources, record } = await build();
  const pool = find(resources, "azure-native:containerservice:AgentPool", "c1-gpu-a100");
  assert.equal(get(pool.inputs, "enableAutoScaling"), true);
  assert.deepEqual([get(pool.inputs, "minCount"), get(pool.inputs, "maxCount")], [0, 2]);
  assert.deepEqual(get(pool.inputs, "nodeTaints"), ["nvidia.com/gpu=present:NoSchedule"]);
  assert.equal(get(pool.inputs, "nodeLabels", "nvidia.com/gpu.present"), "true");
  assert.equal(get(pool.inputs, "gpuProfile", "driver"), "None");
  assert.equal(get(pool.inputs, "enableEncryptionAtHost"), true);
  assert.deepEqual(record.gpu.tolerations, [
    { key: "nvidia.com/gpu", operator: "Equal", value: "present", effect: "NoSchedule" },
  ]);
  assert.equal(record.gpu.driverPreinstalled, false);
});

test("model storage: customer key, versioned, geo-redundant, no public or shared-key access, TLS 1.2", async () => {
  const { resources } = await build();
  const account = find(resources, "azure-native:storage:StorageAccount", "c1-models");
  assert.equal(get(account.inputs, "encryption", "keySource"), "Microsoft.Keyvault");
  assert.equal(get(account.inputs, "sku", "name"), "Standard_RAGZRS");
  assert.equal(get(account.inputs, "allowBlobPublicAccess"), false);
  assert.equal(get(account.inputs, "allowSharedKeyAccess"), false);
  assert.equal(get(account.inputs, "minimumTlsVersion"), "TLS1_2");
  assert.equal(
    get(find(resources, "azure-native:storage:BlobServiceProperties", "c1-models").inputs, "isVersioningEnabled"),
    true,
  );
  assert.equal(get(find(resources, "azure-native:storage:BlobContainer", "c1-models").inputs, "publicAccess"), "None");
});

test("identities get exactly their roles: kubelet pulls images, serving reads the model container", async () => {
  const { resources } = await build();
  const acr = find(resources, "azure-native:authorization:RoleAssignment", "c1-kubelet-acr");
  assert.equal(roleOf(acr), BUILT_IN_ROLES.acrPull);
  assert.equal(get(acr.inputs, "principalId"), "c1-kubelet-principal-id");
  const models = find(resources, "azure-native:authorization:RoleAssignment", "c1-serving-models");
  assert.equal(roleOf(models), BUILT_IN_ROLES.storageBlobDataReader);
  assert.equal(get(models.inputs, "scope"), "c1-models-id/blobServices/default/containers/models");
  const servingGrants = ofType(resources, "azure-native:authorization:RoleAssignment").filter(
    (r) => get(r.inputs, "principalId") === "c1-serving-principal-id",
  );
  assert.equal(servingGrants.length, 1);
  const fic = find(resources, "azure-native:managedidentity:FederatedIdentityCredential", "c1-serving");
  assert.equal(get(fic.inputs, "subject"), "system:serviceaccount:llm-serving:llm-runtime");
});

test("cert-manager gets an identity only with a DNS zone: federated to its service account, DNS Zone Contributor on that zone", async () => {
  const zone = { subscriptionId: "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7", resourceGroupName: "rg-dns", name: "llm.example.com" };
  const { resources, record } = await build({ dnsZone: zone });
  const grants = ofType(resources, "azure-native:authorization:RoleAssignment").filter(
    (r) => get(r.inputs, "principalId") === "c1-cert-manager-principal-id",
  );
  assert.equal(grants.length, 1);
  assert.equal(roleOf(grants[0]), BUILT_IN_ROLES.dnsZoneContributor);
  assert.equal(
    get(grants[0].inputs, "scope"),
    "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-dns/providers/Microsoft.Network/dnsZones/llm.example.com",
  );
  // The role definition is named in the zone's subscription, which may not be the cluster's.
  assert.match(String(get(grants[0].inputs, "roleDefinitionId")), /^\/subscriptions\/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7\//);
  const fic = find(resources, "azure-native:managedidentity:FederatedIdentityCredential", "c1-cert-manager");
  assert.equal(get(fic.inputs, "subject"), "system:serviceaccount:cert-manager:cert-manager");
  assert.deepEqual(get(fic.inputs, "audiences"), ["api://AzureADTokenExchange"]);
  assert.equal(record.identities?.certManager?.podLabels["azure.workload.identity/use"], "true");
  assert.ok(record.dns01?.azureDns);

  const without = await build();
  assert.equal(without.record.identities?.certManager, undefined);
  assert.equal(without.record.dns01, undefined);
  assert.equal(
    ofType(without.resources, "azure-native:managedidentity:UserAssignedIdentity").filter((r) => r.name === "c1-cert-manager")
      .length,
    0,
  );
});

test("the registry is Premium with a customer key and a replica in the DR location", async () => {
  const { resources } = await build();
  const acr = find(resources, "azure-native:containerregistry:Registry", "c1-registry");
  assert.equal(get(acr.inputs, "adminUserEnabled"), false);
  assert.equal(get(acr.inputs, "encryption", "status"), "enabled");
  assert.equal(
    get(find(resources, "azure-native:containerregistry:Replication", "c1-registry-dr").inputs, "location"),
    "northeurope",
  );
});

test("returns the shared record: kubeconfig secret, internal LB annotation when internal, encrypted class", async () => {
  const { resources, record } = await build({ loadBalancer: { annotations: {}, scheme: "internal" } });
  assert.ok(isSecret(find(resources, "pulumi:providers:kubernetes", "c1-k8s").inputs.kubeconfig));
  assert.equal(record.loadBalancer.annotations["service.beta.kubernetes.io/azure-load-balancer-internal"], "true");
  assert.equal(record.identities?.serving?.podLabels["azure.workload.identity/use"], "true");
  const sc = find(resources, "kubernetes:storage.k8s.io/v1:StorageClass", "c1-managed-csi-cmk");
  assert.ok(get(sc.inputs, "parameters", "diskEncryptionSetID"));
});

test("rejects a public API server without authorized ranges, naming the inputs", () => {
  assert.throws(
    () => checkAksArgs("c1", { ...base, authorizedIpRanges: [] }),
    /AksCluster 'c1': a public API server needs authorizedIpRanges/,
  );
});

test("the cluster identity can read the disk encryption set its node and PVC disks name; the set can unwrap the data key", async () => {
  const { resources } = await build();
  const grants = ofType(resources, "azure-native:authorization:RoleAssignment");
  const onDes = grants.filter(
    (r) => get(r.inputs, "scope") === "c1-id" && get(r.inputs, "principalId") === "c1-control-plane-principal-id",
  );
  assert.equal(onDes.length, 1, "RoleAssignment for the control-plane identity on DiskEncryptionSet c1 (scope)");
  assert.equal(roleOf(onDes[0]), BUILT_IN_ROLES.reader);
  const desKey = find(resources, "azure-native:authorization:RoleAssignment", "c1-des-key");
  assert.equal(get(desKey.inputs, "principalId"), "c1-principal-id");
  assert.equal(roleOf(desKey), BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser);
});

test("every role assignment sends principalType: managed identities and, by default, the deployer as ServicePrincipal", async () => {
  const { resources } = await build();
  for (const r of ofType(resources, "azure-native:authorization:RoleAssignment"))
    assert.equal(get(r.inputs, "principalType"), "ServicePrincipal", `RoleAssignment ${r.name}: principalType`);
  const asUser = await build({ deployerPrincipalType: "User" });
  for (const n of ["c1-deployer-keys", "c1-deployer-admin"])
    assert.equal(get(find(asUser.resources, "azure-native:authorization:RoleAssignment", n).inputs, "principalType"), "User");
});

test("the node NSG admits gateway HTTPS to the load balancer's frontend IP (floating IP keeps it as destination)", async () => {
  const { resources } = await build();
  const nsg = find(resources, "azure-native:network:NetworkSecurityGroup", "c1-nodes");
  const rules = get(nsg.inputs, "securityRules") as Record<string, unknown>[];
  const https = rules.find((r) => r.name === "allow-gateway-https");
  assert.ok(https, "NetworkSecurityGroup c1-nodes has allow-gateway-https");
  // The node subnet is not where the packet is addressed: DenyAllInBound would drop it.
  assert.equal(https.destinationAddressPrefix, "*", "allow-gateway-https.destinationAddressPrefix");
  assert.deepEqual(https.destinationPortRanges, ["443", "80"]);
  assert.equal(https.sourceAddressPrefix, "Internet");
  const internal = await build({ loadBalancer: { annotations: {}, scheme: "internal" } });
  assert.deepEqual(
    get(find(internal.resources, "azure-native:network:NetworkSecurityGroup", "c1-nodes").inputs, "securityRules"),
    [],
  );
});

test("Container Insights has a data collection rule to the workspace, associated with the cluster", async () => {
  const { resources } = await build();
  const dcr = find(resources, "azure-native:monitor:DataCollectionRule", "c1-container-insights");
  const [ext] = get(dcr.inputs, "dataSources", "extensions") as Record<string, unknown>[];
  assert.equal(ext.extensionName, "ContainerInsights");
  assert.deepEqual(ext.streams, ["Microsoft-ContainerInsights-Group-Default"]);
  assert.deepEqual(get(dcr.inputs, "destinations", "logAnalytics"), [{ name: "ciworkspace", workspaceResourceId: "c1-id" }]);
  assert.deepEqual(get(dcr.inputs, "dataFlows"), [
    { streams: ["Microsoft-ContainerInsights-Group-Default"], destinations: ["ciworkspace"] },
  ]);
  const assoc = find(resources, "azure-native:monitor:DataCollectionRuleAssociation", "c1-container-insights");
  assert.equal(get(assoc.inputs, "resourceUri"), "c1-id");
  assert.equal(get(assoc.inputs, "dataCollectionRuleId"), "c1-container-insights-id");
  const aks = find(resources, "azure-native:containerservice:ManagedCluster", "c1");
  assert.equal(get(aks.inputs, "addonProfiles", "omsagent", "config", "useAADAuth"), "true");
});

test("the KMS key version the cluster pins never expires; versionless users' key may", async () => {
  const { resources } = await build();
  const aks = find(resources, "azure-native:containerservice:ManagedCluster", "c1");
  const keyId = String(get(aks.inputs, "securityProfile", "azureKeyVaultKms", "keyId"));
  assert.match(keyId, /\/keys\/kms\/[^/]+$/, "AKS KMS takes a versioned key id");
  const kms = find(resources, "azure-native:keyvault:Key", "c1-kms");
  assert.equal(
    get(kms.inputs, "properties", "rotationPolicy", "attributes", "expiryTime"),
    undefined,
    "Key c1-kms: rotationPolicy.attributes.expiryTime",
  );
  assert.equal(get(kms.inputs, "properties", "attributes", "expires"), undefined, "Key c1-kms: attributes.expires");
  const data = find(resources, "azure-native:keyvault:Key", "c1-data");
  assert.equal(get(data.inputs, "properties", "rotationPolicy", "attributes", "expiryTime"), "P2Y");
  assert.equal(
    get(
      find(resources, "azure-native:storage:StorageAccount", "c1-models").inputs,
      "encryption",
      "keyVaultProperties",
      "keyVersion",
    ),
    undefined,
    "the storage account follows the newest data key version",
  );
});

test("the Container Insights rule's name stays within ARM's 64 characters for the longest cluster name allowed", async () => {
  const long = `c${"x".repeat(62)}`;
  const { resources } = await capture(() => {
    new AksCluster(long, { ...base, location: "germanywestcentral" });
  });
  const dcr = resources.find((r) => r.type === "azure-native:monitor:DataCollectionRule");
  const name = String(get(dcr?.inputs, "dataCollectionRuleName"));
  assert.ok(name.startsWith("MSCI-germanywestcentral-cxx"), name);
  assert.equal(name.length, 64);
});

test("the shared model cache is Azure Files premium over SMB, owned by the runtime's UID, at least 100Gi", async () => {
  const { resources, record } = await build();
  const sc = find(resources, "kubernetes:storage.k8s.io/v1:StorageClass", "c1-azurefile-models");
  assert.equal(get(sc.inputs, "provisioner"), "file.csi.azure.com");
  assert.deepEqual(get(sc.inputs, "parameters"), { skuName: "Premium_LRS", protocol: "smb" });
  const mount = get(sc.inputs, "mountOptions") as string[];
  for (const o of ["uid=10001", "gid=10001", "dir_mode=0750", "file_mode=0640"]) assert.ok(mount.includes(o), o);
  assert.equal(record.sharedCache?.minimumSize, "100Gi");
});

/**
 * The AKS control plane: Azure CNI overlay with Cilium network policy, API server limited to authorized
 * ranges (or private), Entra ID with Azure RBAC and no local accounts, OIDC issuer and workload identity,
 * Kubernetes secrets encrypted by the Key Vault KMS plugin, node disks through the disk encryption set,
 * Container Insights and control-plane logs to Log Analytics, and the kubeconfig as a Pulumi secret.
 */
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as pulumi from "@pulumi/pulumi";
import { dnsServiceIp } from "../cidr";

/** Control-plane log categories sent to Log Analytics (audit-admin: the writes, without the read noise). */
export const CONTROL_PLANE_LOG_CATEGORIES = [
  "kube-apiserver",
  "kube-audit-admin",
  "kube-controller-manager",
  "kube-scheduler",
  "cluster-autoscaler",
  "guard",
];

export interface ControlPlaneSpec {
  clusterName: string;
  resourceGroupName: pulumi.Input<string>;
  location: string;
  version: string;
  tier: "Free" | "Standard";
  tenantId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  podCidr: string;
  serviceCidr: string;
  authorizedIpRanges: string[];
  privateCluster: boolean;
  logRetentionDays: number;
  systemPool: { vmSize: string; min: number; max: number };
  controlPlaneIdentityId: pulumi.Input<string>;
  kubelet: { id: pulumi.Input<string>; clientId: pulumi.Input<string>; principalId: pulumi.Input<string> };
  kmsKeyId: pulumi.Input<string>;
  vaultId: pulumi.Input<string>;
  diskEncryptionSetId: pulumi.Input<string>;
  tags: Record<string, string>;
}

export function createControlPlane(name: string, spec: ControlPlaneSpec, opts: pulumi.CustomResourceOptions) {
  const { resourceGroupName, location, tags } = spec;
  const workspace = new operationalinsights.Workspace(
    name,
    {
      resourceGroupName,
      location,
      workspaceName: `log-${name}`,
      sku: { name: "PerGB2018" },
      retentionInDays: spec.logRetentionDays,
      tags,
    },
    opts,
  );
  const cluster = new containerservice.ManagedCluster(
    name,
    {
      resourceGroupName,
      location,
      resourceName: spec.clusterName,
      dnsPrefix: spec.clusterName,
      kubernetesVersion: spec.version,
      sku: { name: "Base", tier: spec.tier },
      identity: { type: "UserAssigned", userAssignedIdentities: [spec.controlPlaneIdentityId] },
      identityProfile: {
        kubeletidentity: { resourceId: spec.kubelet.id, clientId: spec.kubelet.clientId, objectId: spec.kubelet.principalId },
      },
      agentPoolProfiles: [
        {
          name: "system",
          mode: "System",
          vmSize: spec.systemPool.vmSize,
          osType: "Linux",
          osSKU: "AzureLinux",
          osDiskType: "Managed",
          enableEncryptionAtHost: true,
          vnetSubnetID: spec.subnetId,
          enableAutoScaling: true,
          minCount: spec.systemPool.min,
          maxCount: spec.systemPool.max,
          count: spec.systemPool.min,
          availabilityZones: ["1", "2", "3"],
          nodeLabels: { "llm-platform/pool": "system" },
          upgradeSettings: { maxSurge: "33%" },
        },
      ],
      networkProfile: {
        networkPlugin: "azure",
        networkPluginMode: "overlay",
        networkDataplane: "cilium",
        networkPolicy: "cilium",
        podCidr: spec.podCidr,
        serviceCidr: spec.serviceCidr,
        dnsServiceIP: dnsServiceIp(spec.serviceCidr),
        loadBalancerSku: "standard",
        outboundType: "loadBalancer",
      },
      apiServerAccessProfile: spec.privateCluster
        ? { enablePrivateCluster: true }
        : { enablePrivateCluster: false, authorizedIPRanges: spec.authorizedIpRanges },
      aadProfile: { managed: true, enableAzureRBAC: true, tenantID: spec.tenantId },
      // Entra ID only: no static cluster-admin certificate that outlives the people who hold it.
      disableLocalAccounts: true,
      oidcIssuerProfile: { enabled: true },
      securityProfile: {
        workloadIdentity: { enabled: true },
        azureKeyVaultKms: {
          enabled: true,
          keyId: spec.kmsKeyId,
          keyVaultNetworkAccess: "Public",
          keyVaultResourceId: spec.vaultId,
        },
      },
      diskEncryptionSetID: spec.diskEncryptionSetId,
      addonProfiles: {
        omsagent: { enabled: true, config: { logAnalyticsWorkspaceResourceID: workspace.id, useAADAuth: "true" } },
      },
      autoScalerProfile: { expander: "least-waste", balanceSimilarNodeGroups: "true", scaleDownUnneededTime: "10m" },
      autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" },
      tags,
    },
    { ...opts, ignoreChanges: ["agentPoolProfiles[0].count"] },
  );
  new monitor.DiagnosticSetting(
    `${name}-control-plane`,
    {
      name: "control-plane-logs",
      resourceUri: cluster.id,
      workspaceId: workspace.id,
      logAnalyticsDestinationType: "Dedicated",
      logs: CONTROL_PLANE_LOG_CATEGORIES.map((category) => ({ category, enabled: true })),
    },
    { ...opts, parent: cluster },
  );
  // Container Insights with managed identity (useAADAuth) collects only what a data collection rule names:
  // without the rule and its association to the cluster the agent runs and sends nothing. Shape of Microsoft's
  // "enable Container Insights (ARM/Bicep)" template: the ContainerInsights extension's default stream group
  // flowing to the cluster's workspace, the association named ContainerInsightsExtension.
  const dcr = new monitor.DataCollectionRule(
    `${name}-container-insights`,
    {
      resourceGroupName,
      location,
      // Cut to the 64 characters ARM allows, as Microsoft's onboarding templates do.
      dataCollectionRuleName: `MSCI-${location}-${spec.clusterName}`.slice(0, 64),
      kind: "Linux",
      dataSources: {
        extensions: [
          {
            name: "ContainerInsightsExtension",
            extensionName: "ContainerInsights",
            streams: [CONTAINER_INSIGHTS_STREAM],
            extensionSettings: {
              dataCollectionSettings: { interval: "1m", namespaceFilteringMode: "Off", enableContainerLogV2: true },
            },
          },
        ],
      },
      destinations: { logAnalytics: [{ name: "ciworkspace", workspaceResourceId: workspace.id }] },
      dataFlows: [{ streams: [CONTAINER_INSIGHTS_STREAM], destinations: ["ciworkspace"] }],
      tags,
    },
    opts,
  );
  new monitor.DataCollectionRuleAssociation(
    `${name}-container-insights`,
    { associationName: "ContainerInsightsExtension", resourceUri: cluster.id, dataCollectionRuleId: dcr.id },
    { ...opts, parent: cluster },
  );
  return { cluster, workspace };
}

/** The stream group the Container Insights agent sends (inventory, performance, events, ContainerLogV2). */
export const CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default";

/**
 * The user kubeconfig (Entra ID through kubelogin; set AAD_LOGIN_METHOD=azurecli or workloadidentity for
 * unattended runs), decoded and kept secret.
 */
export function kubeconfig(
  resourceGroupName: pulumi.Input<string>,
  clusterName: pulumi.Input<string>,
  opts: pulumi.InvokeOutputOptions,
) {
  const creds = containerservice.listManagedClusterUserCredentialsOutput(
    { resourceGroupName, resourceName: clusterName, format: "exec" },
    opts,
  );
  return pulumi.secret(
    creds.kubeconfigs.apply((kcs) => {
      const value = kcs?.[0]?.value;
      if (!value) throw new Error(`AKS returned no user kubeconfig for ${String(clusterName)}`);
      return Buffer.from(value, "base64").toString("utf8");
    }),
  );
}

/**
 * Pulumi mocks for offline runs: resources echo their inputs back as state (what Pulumi's unit-testing
 * guide does), plus the few computed outputs and invoke results the program reads. Every value here is a
 * deterministic stand-in (documentation account and subscription ids), never a real identifier.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** Stand-in identities the plan runs as (AWS's documentation account id, an all-zero Azure subscription). */
export const MOCK_AWS_ACCOUNT = "123456789012";
export const MOCK_AZURE = {
  subscriptionId: "00000000-0000-0000-0000-000000000000",
  tenantId: "00000000-0000-0000-0000-000000000001",
  objectId: "00000000-0000-0000-0000-000000000002",
  clientId: "00000000-0000-0000-0000-000000000003",
} as const;

/** Results of provider functions (invokes) the program calls, by token. */
export type InvokeHandler = (inputs: Record<string, unknown>) => Record<string, unknown>;

const regionOf = (inputs: Record<string, unknown>) => (typeof inputs.region === "string" ? inputs.region : "us-east-1");

const MOCK_KUBECONFIG = JSON.stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "aks", cluster: { server: "https://aks.hcp.example.azmk8s.io:443" } }],
  contexts: [{ name: "aks", context: { cluster: "aks", user: "aks" } }],
  "current-context": "aks",
  users: [
    {
      name: "aks",
      user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "kubelogin", args: ["get-token"] } },
    },
  ],
});

export const invokeResults: Record<string, InvokeHandler> = {
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    id: MOCK_AWS_ACCOUNT,
    accountId: MOCK_AWS_ACCOUNT,
    arn: `arn:aws:iam::${MOCK_AWS_ACCOUNT}:role/plan`,
    userId: "AROAPLAN",
  }),
  "aws:index/getPartition:getPartition": () => ({
    id: "aws",
    partition: "aws",
    dnsSuffix: "amazonaws.com",
    reverseDnsPrefix: "com.amazonaws",
  }),
  "aws:index/getAvailabilityZones:getAvailabilityZones": (inputs) => {
    const region = regionOf(inputs);
    const names = ["a", "b", "c", "d"].map((z) => `${region}${z}`);
    return { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`) };
  },
  "aws:route53/getZone:getZone": (inputs) => ({ id: "Z0PLANZONE", zoneId: "Z0PLANZONE", name: inputs.name }),
  "aws:kms/getAlias:getAlias": (inputs) => {
    const region = regionOf(inputs);
    const keyId = "00000000-0000-0000-0000-00000000dead";
    return {
      id: `arn:aws:kms:${region}:${MOCK_AWS_ACCOUNT}:${String(inputs.name)}`,
      arn: `arn:aws:kms:${region}:${MOCK_AWS_ACCOUNT}:${String(inputs.name)}`,
      name: inputs.name,
      targetKeyId: keyId,
      targetKeyArn: `arn:aws:kms:${region}:${MOCK_AWS_ACCOUNT}:key/${keyId}`,
    };
  },
  "azure-native:authorization:getClientConfig": () => ({ ...MOCK_AZURE }),
  "azure-native:containerservice:listManagedClusterUserCredentials": () => ({
    kubeconfigs: [{ name: "clusterUser", value: Buffer.from(MOCK_KUBECONFIG).toString("base64") }],
  }),
};

/** Computed outputs a provider would return, for the resources whose outputs the program reads. */
function computedOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const region = regionOf(inputs);
  const str = (k: string) => (typeof inputs[k] === "string" ? (inputs[k] as string) : name);
  if (type.startsWith("aws:")) {
    const [, mod, kind] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
    const out: Record<string, unknown> = {
      arn: `arn:aws:${mod}:${region}:${MOCK_AWS_ACCOUNT}:${kind.toLowerCase()}/${str("name")}`,
      name: str("name"),
    };
    switch (type) {
      case "aws:eks/cluster:Cluster":
        return {
          ...out,
          endpoint: `https://PLAN0000000000000000000000000000.gr7.${region}.eks.amazonaws.com`,
          certificateAuthority: { data: Buffer.from("plan-ca").toString("base64") },
          identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/PLAN` }] }],
          status: "ACTIVE",
        };
      case "aws:iam/role:Role":
        return { ...out, arn: `arn:aws:iam::${MOCK_AWS_ACCOUNT}:role/${name}` };
      case "aws:kms/key:Key":
        return { ...out, keyId: `${name}-key-id`, arn: `arn:aws:kms:${region}:${MOCK_AWS_ACCOUNT}:key/${name}-key-id` };
      case "aws:s3/bucket:Bucket":
        return { ...out, bucket: str("bucket"), arn: `arn:aws:s3:::${str("bucket")}` };
      case "aws:ecr/repository:Repository":
        return { ...out, repositoryUrl: `${MOCK_AWS_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${str("name")}` };
      case "aws:ec2/launchTemplate:LaunchTemplate":
        return { ...out, latestVersion: 1 };
      default:
        return out;
    }
  }
  if (type.startsWith("azure-native:")) {
    const principal = { principalId: `${name}-principal-id`, clientId: `${name}-client-id`, tenantId: MOCK_AZURE.tenantId };
    switch (type) {
      case "azure-native:resources:ResourceGroup":
        return { name: str("resourceGroupName") };
      case "azure-native:managedidentity:UserAssignedIdentity":
        return { name: str("resourceName"), ...principal };
      case "azure-native:network:VirtualNetwork":
        return { name: str("virtualNetworkName") };
      case "azure-native:keyvault:Vault":
        return { name: str("vaultName"), properties: { vaultUri: `https://${str("vaultName")}.vault.azure.net/` } };
      case "azure-native:keyvault:Key": {
        const keyUri = `https://vault.vault.azure.net/keys/${str("keyName")}`;
        return { name: str("keyName"), keyUri, keyUriWithVersion: `${keyUri}/0000000000000000000000000000plan` };
      }
      case "azure-native:compute:DiskEncryptionSet":
        return { identity: { type: "SystemAssigned", ...principal } };
      case "azure-native:containerservice:ManagedCluster":
        return {
          name: str("resourceName"),
          fqdn: `${str("resourceName")}.hcp.example.azmk8s.io`,
          oidcIssuerProfile: { enabled: true, issuerURL: `https://oidc.prod-aks.azure.com/${MOCK_AZURE.tenantId}/plan/` },
        };
      case "azure-native:containerregistry:Registry":
        return { name: str("registryName"), loginServer: `${str("registryName").toLowerCase()}.azurecr.io` };
      case "azure-native:storage:StorageAccount":
        return { name: str("accountName"), primaryEndpoints: { blob: `https://${str("accountName")}.blob.core.windows.net/` } };
    }
  }
  return {};
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

export function createMocks(record: (r: RecordedResource) => void): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      record({ type: args.type, name: args.name, inputs });
      // Inputs win over the computed stand-ins: what the program set is what it reads back.
      const computed = computedOutputs(args.type, args.name, inputs);
      const state: Record<string, unknown> = { ...computed, ...inputs };
      // Nested computed fields (a vault's URI inside its properties) join the inputs' object rather than lose to it.
      for (const [k, v] of Object.entries(computed))
        if (isPlainObject(v) && isPlainObject(inputs[k])) state[k] = { ...inputs[k], ...v };
      // Kubernetes objects get the name the provider would auto-generate, so references resolve.
      if (args.type.startsWith("kubernetes:") && state.metadata && typeof state.metadata === "object") {
        const metadata = state.metadata as Record<string, unknown>;
        state.metadata = { ...metadata, name: metadata.name ?? `${args.name}-0000000` };
      }
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      const handler = invokeResults[args.token];
      if (handler) return handler(args.inputs as Record<string, unknown>);
      return args.inputs as Record<string, unknown>;
    },
  };
}

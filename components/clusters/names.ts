/**
 * Cloud naming rules for the names the cluster components build, as plain validators: each returns the
 * problems with a name (empty when the cloud accepts it). Where a name is generated, the validators take
 * the length the provider adds: Pulumi's auto-name suffix, or the unique suffix of an AWS `namePrefix`.
 *
 * Sources (IAM and S3 re-read 2026-12-02; the others as those pages state them, not re-read here):
 * - IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role 64, policy 128;
 *   alphanumerics and `+=,.@_-`)
 * - S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * - EKS: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (1-100, `^[0-9A-Za-z][A-Za-z0-9\-_]*`)
 * - Azure: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules (Key Vault,
 *   storage accounts, container registries, resource groups) and
 *   https://learn.microsoft.com/azure/aks/create-node-pools (Linux node pools: 1-12 lower-case alphanumerics,
 *   starting with a letter)
 */

/**
 * Pulumi's default auto-name: the logical name, `-`, and 7 random hex characters (`NewUniqueHex(name+"-", 7, ...)`
 * in Pulumi's providers; the pattern `${name}-${hex(7)}` of pulumi:autonaming).
 */
export const AUTONAME_SUFFIX_LENGTH = 8;
/**
 * The AWS provider's `namePrefix`: the prefix and a 26-character unique id (terraform-provider-aws
 * internal/service/iam/role.go: roleNamePrefixMaxLen = 64 - id.UniqueIDSuffixLength).
 */
export const NAME_PREFIX_SUFFIX_LENGTH = 26;

/** How the final name comes about: given as is, or generated from a logical name or a prefix. */
export type NameSource = "explicit" | "autoname" | "namePrefix";

export const generatedLength = (source: NameSource): number =>
  source === "autoname" ? AUTONAME_SUFFIX_LENGTH : source === "namePrefix" ? NAME_PREFIX_SUFFIX_LENGTH : 0;

function length(what: string, name: string, min: number, max: number, source: NameSource): string[] {
  const extra = generatedLength(source);
  const total = name.length + extra;
  if (total > max)
    return [
      extra > 0
        ? `${what} '${name}' is ${name.length} characters plus ${extra} the provider appends (${source}): ${total} > ${max}`
        : `${what} '${name}' is ${total} characters, more than ${max}`,
    ];
  if (total < min) return [`${what} '${name}' is ${total} characters, fewer than ${min}`];
  return [];
}

const charset = (what: string, name: string, re: RegExp, rule: string): string[] =>
  re.test(name) ? [] : [`${what} '${name}' must be ${rule}`];

const IAM_CHARS = /^[A-Za-z0-9+=,.@_-]*$/;
const IAM_CHARS_RULE = "alphanumerics and + = , . @ _ -";

export function iamRoleName(name: string, source: NameSource = "explicit"): string[] {
  return [...length("IAM role name", name, 1, 64, source), ...charset("IAM role name", name, IAM_CHARS, IAM_CHARS_RULE)];
}

/** Managed and inline policies: 128 characters. */
export function iamPolicyName(name: string, source: NameSource = "explicit"): string[] {
  return [...length("IAM policy name", name, 1, 128, source), ...charset("IAM policy name", name, IAM_CHARS, IAM_CHARS_RULE)];
}

const IPV4_LIKE = /^\d{1,3}(\.\d{1,3}){3}$/;
const S3_RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const S3_RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** General purpose buckets. Auto-named buckets get the suffix too, so the prefix must leave room. */
export function s3BucketName(name: string, source: NameSource = "explicit"): string[] {
  const what = "S3 bucket name";
  const out = [...length(what, name, 3, 63, source)];
  out.push(...charset(what, name, /^[a-z0-9.-]*$/, "lower-case letters, digits, '.' and '-'"));
  if (!/^[a-z0-9]/.test(name)) out.push(`${what} '${name}' must begin with a letter or digit`);
  // An auto-name ends with hex characters, so only a name used as is must end well.
  if (source === "explicit" && !/[a-z0-9]$/.test(name)) out.push(`${what} '${name}' must end with a letter or digit`);
  if (name.includes("..")) out.push(`${what} '${name}' must not contain two adjacent periods`);
  if (IPV4_LIKE.test(name)) out.push(`${what} '${name}' must not be formatted as an IP address`);
  for (const p of S3_RESERVED_PREFIXES) if (name.startsWith(p)) out.push(`${what} '${name}' must not start with '${p}'`);
  if (source === "explicit")
    for (const s of S3_RESERVED_SUFFIXES) if (name.endsWith(s)) out.push(`${what} '${name}' must not end with '${s}'`);
  return out;
}

export function eksClusterName(name: string, source: NameSource = "explicit"): string[] {
  return [
    ...length("EKS cluster name", name, 1, 100, source),
    ...charset("EKS cluster name", name, /^[0-9A-Za-z][A-Za-z0-9_-]*$/, "an alphanumeric followed by alphanumerics, '-' and '_'"),
  ];
}

export function keyVaultName(name: string, source: NameSource = "explicit"): string[] {
  const what = "Key Vault name";
  const out = [...length(what, name, 3, 24, source)];
  out.push(...charset(what, name, /^[A-Za-z][A-Za-z0-9-]*$/, "alphanumerics and '-', starting with a letter"));
  if (source === "explicit" && !/[A-Za-z0-9]$/.test(name)) out.push(`${what} '${name}' must end with a letter or digit`);
  if (name.includes("--")) out.push(`${what} '${name}' must not contain consecutive hyphens`);
  return out;
}

export function storageAccountName(name: string, source: NameSource = "explicit"): string[] {
  return [
    ...length("storage account name", name, 3, 24, source),
    ...charset("storage account name", name, /^[a-z0-9]*$/, "lower-case letters and digits"),
  ];
}

export function containerRegistryName(name: string, source: NameSource = "explicit"): string[] {
  return [
    ...length("container registry name", name, 5, 50, source),
    ...charset("container registry name", name, /^[A-Za-z0-9]*$/, "alphanumerics"),
  ];
}

export function resourceGroupName(name: string, source: NameSource = "explicit"): string[] {
  const what = "resource group name";
  const out = [...length(what, name, 1, 90, source)];
  out.push(...charset(what, name, /^[-\w.()\p{L}]*$/u, "alphanumerics, '_', '-', '.', '(' and ')'"));
  if (name.endsWith(".")) out.push(`${what} '${name}' must not end with a period`);
  return out;
}

/**
 * Data collection rules: at most 64 characters. Microsoft's own Container Insights onboarding templates cut
 * their `MSCI-<region>-<cluster>` name to 64 for this reason; a long region plus a long cluster name exceeds it.
 */
export function dataCollectionRuleName(name: string, source: NameSource = "explicit"): string[] {
  return length("data collection rule name", name, 1, 64, source);
}

/** Linux node pools (the GPU and system pools here). */
export function aksNodePoolName(name: string, source: NameSource = "explicit"): string[] {
  return [
    ...length("AKS node pool name", name, 1, 12, source),
    ...charset("AKS node pool name", name, /^[a-z][a-z0-9]*$/, "lower-case alphanumerics starting with a letter"),
  ];
}

/**
 * A name that fits `max` once the provider's suffix is added, keeping both ends of `name` (the cluster it
 * belongs to and what it is for) when it must be shortened: `namePrefix` values for long role names.
 */
export function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const tail = Math.floor((max - 1) / 2);
  const head = max - 1 - tail;
  return `${name.slice(0, head).replace(/-+$/, "")}-${name.slice(-tail).replace(/^-+/, "")}`;
}

type Validator = (name: string, source: NameSource) => string[];

/**
 * The resources whose cloud names the components build, where each name lives in the inputs (`field`, or
 * `prefixField` for an AWS name prefix; neither set means Pulumi auto-names from the logical name).
 */
export const NAMED_RESOURCES: Readonly<Record<string, { field: string; prefixField?: string; validate: Validator }>> = {
  "aws:iam/role:Role": { field: "name", prefixField: "namePrefix", validate: iamRoleName },
  "aws:iam/rolePolicy:RolePolicy": { field: "name", prefixField: "namePrefix", validate: iamPolicyName },
  "aws:iam/policy:Policy": { field: "name", prefixField: "namePrefix", validate: iamPolicyName },
  "aws:s3/bucket:Bucket": { field: "bucket", prefixField: "bucketPrefix", validate: s3BucketName },
  "aws:eks/cluster:Cluster": { field: "name", validate: eksClusterName },
  "azure-native:resources:ResourceGroup": { field: "resourceGroupName", validate: resourceGroupName },
  "azure-native:keyvault:Vault": { field: "vaultName", validate: keyVaultName },
  "azure-native:storage:StorageAccount": { field: "accountName", validate: storageAccountName },
  "azure-native:containerregistry:Registry": { field: "registryName", validate: containerRegistryName },
  "azure-native:containerservice:AgentPool": { field: "agentPoolName", validate: aksNodePoolName },
  "azure-native:monitor:DataCollectionRule": { field: "dataCollectionRuleName", validate: dataCollectionRuleName },
};

export interface NameProblem {
  /** `type::name` of the resource. */
  resource: string;
  /** The name (or prefix) as the plan has it. */
  name: string;
  problems: string[];
}

/** Runs the validators over planned resources (type, logical name, inputs), including AKS's inline system pool. */
export function checkResourceNames(resources: readonly { type: string; name: string; inputs: unknown }[]): NameProblem[] {
  const out: NameProblem[] = [];
  for (const r of resources) {
    const inputs = (r.inputs ?? {}) as Record<string, unknown>;
    const push = (name: string, problems: string[]) => {
      if (problems.length > 0) out.push({ resource: `${r.type}::${r.name}`, name, problems });
    };
    const rule = NAMED_RESOURCES[r.type];
    if (rule) {
      const explicit = inputs[rule.field];
      const prefix = rule.prefixField ? inputs[rule.prefixField] : undefined;
      if (typeof explicit === "string") push(explicit, rule.validate(explicit, "explicit"));
      else if (typeof prefix === "string") push(prefix, rule.validate(prefix, "namePrefix"));
      else if (explicit === undefined) push(r.name, rule.validate(r.name, "autoname"));
    }
    if (r.type === "azure-native:containerservice:ManagedCluster")
      for (const p of (inputs.agentPoolProfiles ?? []) as { name?: unknown }[])
        if (typeof p.name === "string") push(p.name, aksNodePoolName(p.name, "explicit"));
  }
  return out;
}

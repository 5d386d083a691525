/**
 * Invariants of the cloud resources (EKS, AKS and what they own): customer keys that rotate, secrets
 * envelope-encrypted, storage private/encrypted/versioned/TLS-only, encrypted disks, no IAM wildcards.
 * Each is a plain object over planned resources, tested directly with passing and failing sets.
 */
import { asArray, asObj, get, id, ofType, reveal } from "./inspect";
import type { PlannedResource, Policy, Violation } from "./types";

const T = {
  kmsKey: "aws:kms/key:Key",
  eks: "aws:eks/cluster:Cluster",
  bucket: "aws:s3/bucket:Bucket",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  ecr: "aws:ecr/repository:Repository",
  vaultKey: "azure-native:keyvault:Key",
  vault: "azure-native:keyvault:Vault",
  aks: "azure-native:containerservice:ManagedCluster",
  agentPool: "azure-native:containerservice:AgentPool",
  storageAccount: "azure-native:storage:StorageAccount",
  blobService: "azure-native:storage:BlobServiceProperties",
  blobContainer: "azure-native:storage:BlobContainer",
  acr: "azure-native:containerregistry:Registry",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
} as const;

export const cloudKeysRotate: Policy = {
  name: "cloud-keys-rotate",
  description:
    "Customer-managed keys rotate automatically (KMS key rotation; Key Vault rotation policy), and vaults keep purge protection.",
  check(resources) {
    const out: Violation[] = [];
    for (const k of ofType(resources, T.kmsKey))
      if (get(k.inputs, "enableKeyRotation") !== true) out.push({ resource: id(k), message: "enableKeyRotation is not true" });
    for (const k of ofType(resources, T.vaultKey)) {
      const actions = asArray(get(k.inputs, "properties", "rotationPolicy", "lifetimeActions"));
      if (!actions.some((a) => get(a, "action", "type") === "rotate"))
        out.push({ resource: id(k), message: "rotationPolicy has no 'rotate' lifetime action" });
    }
    for (const v of ofType(resources, T.vault)) {
      if (get(v.inputs, "properties", "enablePurgeProtection") !== true)
        out.push({ resource: id(v), message: "purge protection is off" });
      if (get(v.inputs, "properties", "enableRbacAuthorization") !== true)
        out.push({ resource: id(v), message: "RBAC authorization is off" });
    }
    return out;
  },
};

export const clusterSecretsEncrypted: Policy = {
  name: "cluster-secrets-envelope-encrypted",
  description: "Kubernetes secrets on EKS and AKS are envelope-encrypted with a customer-managed key.",
  check(resources) {
    const out: Violation[] = [];
    for (const c of ofType(resources, T.eks)) {
      const configs =
        asArray(get(c.inputs, "encryptionConfig")).length > 0
          ? asArray(get(c.inputs, "encryptionConfig"))
          : [get(c.inputs, "encryptionConfig")];
      const ok = configs.some(
        (e) => asArray(get(e, "resources")).includes("secrets") && typeof get(e, "provider", "keyArn") === "string",
      );
      if (!ok) out.push({ resource: id(c), message: "encryptionConfig does not encrypt 'secrets' with a KMS key" });
    }
    for (const c of ofType(resources, T.aks)) {
      const kms = get(c.inputs, "securityProfile", "azureKeyVaultKms");
      if (get(kms, "enabled") !== true || typeof get(kms, "keyId") !== "string")
        out.push({ resource: id(c), message: "securityProfile.azureKeyVaultKms is not enabled with a key" });
    }
    return out;
  },
};

/** A bucket's settings resource: a child of the bucket, or one naming it. */
function settingsFor(resources: readonly PlannedResource[], type: string, bucket: PlannedResource): PlannedResource[] {
  const name = get(bucket.inputs, "bucket");
  return ofType(resources, type).filter(
    (r) => r.parent === id(bucket) || (name !== undefined && get(r.inputs, "bucket") === name),
  );
}

export const bucketsPrivateEncryptedVersioned: Policy = {
  name: "buckets-private-encrypted-versioned",
  description:
    "S3 buckets: SSE-KMS by default, versioning on, every public-access block set, and a policy that denies plain HTTP.",
  check(resources) {
    const out: Violation[] = [];
    for (const b of ofType(resources, T.bucket)) {
      const v = (message: string) => out.push({ resource: id(b), message });
      const sse = settingsFor(resources, T.sse, b).flatMap((r) => asArray(get(r.inputs, "rules")));
      if (!sse.some((r) => get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") === "aws:kms"))
        v("no default SSE-KMS encryption");
      if (!settingsFor(resources, T.versioning, b).some((r) => get(r.inputs, "versioningConfiguration", "status") === "Enabled"))
        v("versioning is not enabled");
      const block = settingsFor(resources, T.publicAccess, b)[0];
      const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
      if (!block || flags.some((f) => get(block.inputs, f) !== true)) v("public access is not fully blocked");
      const policies = settingsFor(resources, T.bucketPolicy, b).map((r) => parsePolicy(get(r.inputs, "policy")));
      const tlsOnly = policies.some((p) =>
        statements(p).some((s) => s.Effect === "Deny" && get(s, "Condition", "Bool", "aws:SecureTransport") === "false"),
      );
      if (!tlsOnly) v("no bucket policy denying requests without TLS (aws:SecureTransport)");
    }
    return out;
  },
};

export const storageAccountsLockedDown: Policy = {
  name: "storage-accounts-locked-down",
  description:
    "Storage accounts: customer-managed key, no public blob access, no shared keys, HTTPS with TLS 1.2+, blob versioning, private containers.",
  check(resources) {
    const out: Violation[] = [];
    for (const a of ofType(resources, T.storageAccount)) {
      const v = (message: string) => out.push({ resource: id(a), message });
      if (get(a.inputs, "encryption", "keySource") !== "Microsoft.Keyvault")
        v("not encrypted with a customer-managed key (Key Vault)");
      if (get(a.inputs, "allowBlobPublicAccess") !== false) v("allowBlobPublicAccess is not false");
      if (get(a.inputs, "allowSharedKeyAccess") !== false) v("allowSharedKeyAccess is not false");
      if (get(a.inputs, "minimumTlsVersion") !== "TLS1_2") v("minimumTlsVersion is not TLS1_2");
      if (get(a.inputs, "enableHttpsTrafficOnly") === false) v("plain HTTP is allowed");
      const name = get(a.inputs, "accountName");
      const mine = (r: PlannedResource) => r.parent === id(a) || get(r.inputs, "accountName") === name;
      if (!ofType(resources, T.blobService).some((r) => mine(r) && get(r.inputs, "isVersioningEnabled") === true))
        v("blob versioning is off");
    }
    for (const c of ofType(resources, T.blobContainer))
      if ((get(c.inputs, "publicAccess") ?? "None") !== "None")
        out.push({ resource: id(c), message: "container allows public access" });
    return out;
  },
};

export const disksEncrypted: Policy = {
  name: "disks-encrypted",
  description:
    "Node and persistent volumes are encrypted with the customer key: EBS in launch templates and gp3 classes, disk encryption sets and host encryption on AKS.",
  check(resources) {
    const out: Violation[] = [];
    for (const lt of ofType(resources, T.launchTemplate))
      for (const m of asArray(get(lt.inputs, "blockDeviceMappings"))) {
        const ebs = asObj(get(m, "ebs"));
        if (String(reveal(ebs.encrypted)) !== "true" || ebs.kmsKeyId === undefined)
          out.push({ resource: id(lt), message: `${String(get(m, "deviceName"))} is not encrypted with a customer key` });
      }
    for (const sc of ofType(resources, T.storageClass)) {
      const provisioner = get(sc.inputs, "provisioner");
      if (
        provisioner === "ebs.csi.aws.com" &&
        (get(sc.inputs, "parameters", "encrypted") !== "true" || get(sc.inputs, "parameters", "kmsKeyId") === undefined)
      )
        out.push({ resource: id(sc), message: "EBS storage class without encrypted: 'true' and a kmsKeyId" });
      if (provisioner === "disk.csi.azure.com" && get(sc.inputs, "parameters", "diskEncryptionSetID") === undefined)
        out.push({ resource: id(sc), message: "Azure disk storage class without a disk encryption set" });
    }
    for (const c of ofType(resources, T.aks)) {
      if (get(c.inputs, "diskEncryptionSetID") === undefined)
        out.push({ resource: id(c), message: "no diskEncryptionSetID for node disks" });
      for (const p of asArray(get(c.inputs, "agentPoolProfiles")))
        if (get(p, "enableEncryptionAtHost") !== true)
          out.push({ resource: id(c), message: `pool '${String(get(p, "name"))}' without host encryption` });
    }
    for (const p of ofType(resources, T.agentPool))
      if (get(p.inputs, "enableEncryptionAtHost") !== true) out.push({ resource: id(p), message: "no host encryption" });
    return out;
  },
};

export const registriesLockedDown: Policy = {
  name: "registries-locked-down",
  description:
    "Image registries: ECR with immutable tags, scan on push and KMS; ACR without admin user or anonymous pull, with a customer key.",
  check(resources) {
    const out: Violation[] = [];
    for (const r of ofType(resources, T.ecr)) {
      if (get(r.inputs, "imageTagMutability") !== "IMMUTABLE") out.push({ resource: id(r), message: "tags are mutable" });
      if (get(r.inputs, "imageScanningConfiguration", "scanOnPush") !== true)
        out.push({ resource: id(r), message: "scan on push is off" });
      if (!asArray(get(r.inputs, "encryptionConfigurations")).some((e) => get(e, "encryptionType") === "KMS"))
        out.push({ resource: id(r), message: "not KMS-encrypted" });
    }
    for (const r of ofType(resources, T.acr)) {
      if (get(r.inputs, "adminUserEnabled") !== false) out.push({ resource: id(r), message: "admin user is enabled" });
      if (get(r.inputs, "anonymousPullEnabled") === true) out.push({ resource: id(r), message: "anonymous pull is enabled" });
      if (get(r.inputs, "encryption", "status") !== "enabled") out.push({ resource: id(r), message: "no customer-managed key" });
    }
    return out;
  },
};

interface PolicyStatement {
  Effect?: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  Condition?: unknown;
}

function parsePolicy(value: unknown): unknown {
  const v = reveal(value);
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

const statements = (doc: unknown): PolicyStatement[] => {
  const s = get(doc, "Statement");
  return (Array.isArray(s) ? s : s === undefined ? [] : [s]).map((x) => asObj(x) as PolicyStatement);
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Inline IAM documents the plan declares: role policies, managed policies, key policies. */
const IAM_DOCUMENTS: Record<string, string> = {
  "aws:iam/rolePolicy:RolePolicy": "policy",
  "aws:iam/policy:Policy": "policy",
  "aws:iam/userPolicy:UserPolicy": "policy",
  "aws:iam/groupPolicy:GroupPolicy": "policy",
  [T.kmsKey]: "policy",
};

/** AWS-managed policies that grant everything. */
const ADMIN_POLICIES = /:policy\/(AdministratorAccess|PowerUserAccess|IAMFullAccess)$/;

export const iamNoWildcardAdmin: Policy = {
  name: "iam-no-wildcard-admin",
  description:
    "No IAM or key policy allows '*' actions on '*' resources (or NotAction), and no role gets an administrator managed policy.",
  check(resources) {
    const out: Violation[] = [];
    for (const r of resources) {
      const key = IAM_DOCUMENTS[r.type];
      if (key === undefined) continue;
      const doc = parsePolicy(get(r.inputs, key));
      if (doc === undefined) continue;
      statements(doc).forEach((s, i) => {
        if (s.Effect !== "Allow") return;
        if (s.NotAction !== undefined) out.push({ resource: id(r), message: `statement ${i} allows NotAction` });
        if (list(s.Action).includes("*") && list(s.Resource).includes("*"))
          out.push({ resource: id(r), message: `statement ${i} allows '*' on '*'` });
      });
    }
    for (const a of ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
      const arn = get(a.inputs, "policyArn");
      if (typeof arn === "string" && ADMIN_POLICIES.test(arn)) out.push({ resource: id(a), message: `attaches ${arn}` });
    }
    return out;
  },
};

export const CLOUD_POLICIES: readonly Policy[] = [
  cloudKeysRotate,
  clusterSecretsEncrypted,
  bucketsPrivateEncryptedVersioned,
  storageAccountsLockedDown,
  disksEncrypted,
  registriesLockedDown,
  iamNoWildcardAdmin,
];

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bucketsPrivateEncryptedVersioned,
  cloudKeysRotate,
  clusterSecretsEncrypted,
  disksEncrypted,
  iamNoWildcardAdmin,
  registriesLockedDown,
  storageAccountsLockedDown,
} from "../../../../stacks/policy/rules-cloud";
import type { PlannedResource } from "../../../../stacks/policy/types";

const r = (type: string, name: string, inputs: Record<string, unknown>, parent: string | null = null): PlannedResource => ({
  type,
  name,
  parent,
  inputs,
});
const ctx = { environment: "prod" };
const names = (policy: { check: typeof cloudKeysRotate.check }, resources: PlannedResource[]) =>
  policy.check(resources, ctx).map((v) => v.message);

test("cloud-keys-rotate: KMS keys and Key Vault keys rotate", () => {
  assert.deepEqual(names(cloudKeysRotate, [r("aws:kms/key:Key", "k", { enableKeyRotation: true })]), []);
  assert.deepEqual(names(cloudKeysRotate, [r("aws:kms/key:Key", "k", {})]), ["enableKeyRotation is not true"]);
  const rotating = { properties: { rotationPolicy: { lifetimeActions: [{ action: { type: "rotate" } }] } } };
  assert.deepEqual(names(cloudKeysRotate, [r("azure-native:keyvault:Key", "k", rotating)]), []);
  assert.equal(names(cloudKeysRotate, [r("azure-native:keyvault:Key", "k", { properties: {} })]).length, 1);
});

test("cluster-secrets-envelope-encrypted: EKS and AKS", () => {
  const eks = { encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn:aws:kms:us-east-1:1:key/k" } } };
  assert.deepEqual(names(clusterSecretsEncrypted, [r("aws:eks/cluster:Cluster", "c", eks)]), []);
  assert.equal(names(clusterSecretsEncrypted, [r("aws:eks/cluster:Cluster", "c", {})]).length, 1);
  const aks = { securityProfile: { azureKeyVaultKms: { enabled: true, keyId: "https://v/keys/k/1" } } };
  assert.deepEqual(names(clusterSecretsEncrypted, [r("azure-native:containerservice:ManagedCluster", "c", aks)]), []);
  assert.equal(names(clusterSecretsEncrypted, [r("azure-native:containerservice:ManagedCluster", "c", {})]).length, 1);
});

test("buckets-private-encrypted-versioned: all four settings or a violation each", () => {
  const bucket = r("aws:s3/bucket:Bucket", "b", { bucket: "models" });
  const p = "aws:s3/bucket:Bucket::b";
  const good = [
    bucket,
    r(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "b",
      { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] },
      p,
    ),
    r("aws:s3/bucketVersioning:BucketVersioning", "b", { versioningConfiguration: { status: "Enabled" } }, p),
    r(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "b",
      { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      p,
    ),
    r(
      "aws:s3/bucketPolicy:BucketPolicy",
      "b",
      { policy: JSON.stringify({ Statement: [{ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) },
      p,
    ),
  ];
  assert.deepEqual(names(bucketsPrivateEncryptedVersioned, good), []);
  assert.equal(names(bucketsPrivateEncryptedVersioned, [bucket]).length, 4);
});

test("storage-accounts-locked-down: CMK, private, TLS 1.2, versioned", () => {
  const account = r("azure-native:storage:StorageAccount", "a", {
    accountName: "acct",
    encryption: { keySource: "Microsoft.Keyvault" },
    allowBlobPublicAccess: false,
    allowSharedKeyAccess: false,
    minimumTlsVersion: "TLS1_2",
  });
  const versioning = r("azure-native:storage:BlobServiceProperties", "a", { accountName: "acct", isVersioningEnabled: true });
  assert.deepEqual(names(storageAccountsLockedDown, [account, versioning]), []);
  const open = r("azure-native:storage:StorageAccount", "a", {
    accountName: "acct",
    allowBlobPublicAccess: true,
    minimumTlsVersion: "TLS1_0",
  });
  assert.equal(names(storageAccountsLockedDown, [open]).length, 5);
});

test("disks-encrypted: launch templates, storage classes and AKS pools", () => {
  const lt = (encrypted: string) =>
    r("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted, kmsKeyId: "k" } }],
    });
  assert.deepEqual(names(disksEncrypted, [lt("true")]), []);
  assert.equal(names(disksEncrypted, [lt("false")]).length, 1);
  assert.equal(
    names(disksEncrypted, [
      r("kubernetes:storage.k8s.io/v1:StorageClass", "sc", { provisioner: "ebs.csi.aws.com", parameters: { type: "gp3" } }),
    ]).length,
    1,
  );
  assert.equal(names(disksEncrypted, [r("azure-native:containerservice:AgentPool", "p", {})]).length, 1);
});

test("registries-locked-down: ECR immutable, scanned, KMS; ACR without admin user", () => {
  const ecr = {
    imageTagMutability: "IMMUTABLE",
    imageScanningConfiguration: { scanOnPush: true },
    encryptionConfigurations: [{ encryptionType: "KMS" }],
  };
  assert.deepEqual(names(registriesLockedDown, [r("aws:ecr/repository:Repository", "e", ecr)]), []);
  assert.equal(
    names(registriesLockedDown, [r("aws:ecr/repository:Repository", "e", { imageTagMutability: "MUTABLE" })]).length,
    3,
  );
  assert.equal(
    names(registriesLockedDown, [r("azure-native:containerregistry:Registry", "a", { adminUserEnabled: true })]).length,
    2,
  );
});

test("iam-no-wildcard-admin: '*' on '*', NotAction and admin attachments fail; scoped statements pass", () => {
  const doc = (s: object) =>
    r("aws:iam/rolePolicy:RolePolicy", "p", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [s] }) });
  assert.deepEqual(names(iamNoWildcardAdmin, [doc({ Effect: "Allow", Action: ["s3:GetObject"], Resource: "*" })]), []);
  assert.deepEqual(names(iamNoWildcardAdmin, [doc({ Effect: "Allow", Action: "*", Resource: ["*"] })]), [
    "statement 0 allows '*' on '*'",
  ]);
  assert.deepEqual(names(iamNoWildcardAdmin, [doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })]), [
    "statement 0 allows NotAction",
  ]);
  assert.deepEqual(names(iamNoWildcardAdmin, [doc({ Effect: "Deny", Action: "*", Resource: "*" })]), []);
  const admin = r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
    policyArn: "arn:aws:iam::aws:policy/AdministratorAccess",
  });
  assert.equal(names(iamNoWildcardAdmin, [admin]).length, 1);
});

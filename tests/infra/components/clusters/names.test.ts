import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { roleNaming } from "../../../../components/clusters/aws/iam";
import {
  aksNodePoolName,
  containerRegistryName,
  dataCollectionRuleName,
  eksClusterName,
  fitName,
  iamPolicyName,
  iamRoleName,
  keyVaultName,
  resourceGroupName,
  s3BucketName,
  storageAccountName,
} from "../../../../components/clusters/names";

const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);

test("IAM role names: 64 characters, counting the auto-name suffix", () => {
  assert.deepEqual(iamRoleName("a".repeat(64)), []);
  assert.match(iamRoleName("a".repeat(65)).join(), /65 characters, more than 64/);
  assert.deepEqual(iamRoleName("a".repeat(56), "autoname"), []);
  assert.match(iamRoleName("a".repeat(57), "autoname").join(), /57 characters plus 8 .*: 65 > 64/);
  assert.match(iamRoleName("a".repeat(39), "namePrefix").join(), /65 > 64/);
  assert.match(iamRoleName("has space").join(), /alphanumerics/);
  // The old naming: a 38-character cluster name was already too long for the autoscaler's role.
  assert.notDeepEqual(iamRoleName(`${"c".repeat(38)}-cluster-autoscaler`, "autoname"), []);
});

test("IAM policy names: 128 characters", () => {
  assert.deepEqual(iamPolicyName("p".repeat(120), "autoname"), []);
  assert.notDeepEqual(iamPolicyName("p".repeat(121), "autoname"), []);
});

test("S3 bucket names: length, charset, dots, IP form, reserved prefixes and suffixes", () => {
  assert.deepEqual(s3BucketName("llm-platform-dev-models"), []);
  for (const bad of [
    "ab",
    "a".repeat(64),
    "Upper",
    "-start",
    "end-",
    "a..b",
    "192.168.5.4",
    "xn--abc",
    "sthree-x",
    "x-s3alias",
    "x--ol-s3",
  ])
    assert.notDeepEqual(s3BucketName(bad), [], bad);
  assert.notDeepEqual(s3BucketName("a".repeat(56), "autoname"), []);
});

test("EKS cluster names: 1-100, alphanumeric first", () => {
  assert.deepEqual(eksClusterName("dev-use1"), []);
  assert.notDeepEqual(eksClusterName("-x"), []);
  assert.notDeepEqual(eksClusterName("a".repeat(101)), []);
});

test("Azure names: Key Vault, storage account, registry, resource group, node pool", () => {
  assert.deepEqual(keyVaultName("kv-llm-platform-stg"), []);
  for (const bad of ["kv", "1kv-abc", "kv--abc", "kv-abc-", "k".repeat(25)]) assert.notDeepEqual(keyVaultName(bad), [], bad);
  assert.deepEqual(storageAccountName("llmplatformstgmodels"), []);
  for (const bad of ["ab", "Upper123", "has-hyphen", "s".repeat(25)]) assert.notDeepEqual(storageAccountName(bad), [], bad);
  assert.deepEqual(containerRegistryName("llmplatformstg"), []);
  for (const bad of ["abcd", "has-hyphen", "r".repeat(51)]) assert.notDeepEqual(containerRegistryName(bad), [], bad);
  assert.deepEqual(resourceGroupName("rg-stg-weu"), []);
  for (const bad of ["", "ends.", "r".repeat(91), "has space"]) assert.notDeepEqual(resourceGroupName(bad), [], bad);
  assert.deepEqual(dataCollectionRuleName("d".repeat(64)), []);
  assert.notDeepEqual(dataCollectionRuleName("d".repeat(65)), []);
  assert.deepEqual(aksNodePoolName("a100"), []);
  for (const bad of ["1pool", "Pool", "pool-a", "p".repeat(13)]) assert.notDeepEqual(aksNodePoolName(bad), [], bad);
});

test("property: a name is accepted exactly when it and the suffix fit (role names over [a-z0-9-])", () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z0-9-]{1,80}$/),
      fc.constantFrom("explicit", "autoname", "namePrefix" as const),
      (name, source) => {
        const extra = source === "autoname" ? 8 : source === "namePrefix" ? 26 : 0;
        assert.equal(iamRoleName(name, source).length === 0, name.length + extra <= 64);
      },
    ),
  );
});

test("property: every valid S3 bucket name is 3-63 lower-case characters without '..', and accepted names stay accepted", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9.-]{0,70}$/), (name) => {
      if (s3BucketName(name).length === 0) {
        assert.ok(name.length >= 3 && name.length <= 63);
        assert.ok(!name.includes(".."));
        assert.ok(/^[a-z0-9]/.test(name) && /[a-z0-9]$/.test(name));
        assert.ok(!/^\d+\.\d+\.\d+\.\d+$/.test(name));
      }
    }),
  );
});

test("property: fitName keeps names that fit and shortens the others to the limit, keeping both ends", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9-]{1,120}$/), fc.integer({ min: 8, max: 64 }), (name, max) => {
      const fitted = fitName(name, max);
      assert.ok(fitted.length <= max);
      if (name.length <= max) assert.equal(fitted, name);
      else {
        assert.equal(fitted.at(-1), name.at(-1));
        if (name[0] !== "-") assert.equal(fitted[0], name[0]);
      }
    }),
  );
});

test("property: every allowed cluster name gives role names IAM accepts (defect 11)", () => {
  const purposes = [
    "cluster-autoscaler",
    "lb-controller",
    "cert-manager",
    "control-plane",
    "ebs-csi",
    "vpc-cni",
    "serving",
    "nodes",
  ];
  fc.assert(
    fc.property(label, fc.constantFrom(...purposes), (cluster, purpose) => {
      const logical = `${cluster}-${purpose}`;
      const { namePrefix } = roleNaming(logical);
      const problems = namePrefix ? iamRoleName(namePrefix, "namePrefix") : iamRoleName(logical, "autoname");
      assert.deepEqual(problems, [], logical);
    }),
  );
  // Short names keep Pulumi's auto-name (no change for existing stacks).
  assert.deepEqual(roleNaming("dev-use1-cluster-autoscaler"), {});
});

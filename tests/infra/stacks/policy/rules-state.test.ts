import assert from "node:assert/strict";
import { test } from "node:test";
import { knownStacks, readStackConfigFile, parseStackConfig } from "../../../../stacks/plan/stack-file";
import { KMS_SCHEMES, stateSecretsKms, stateSecretsProblems } from "../../../../stacks/policy/rules-state";
import type { PlannedResource } from "../../../../stacks/policy/types";

const file = "stacks/Pulumi.prod.yaml";
const eks: PlannedResource = { type: "aws:eks/cluster:Cluster", name: "c", parent: null, inputs: {} };
const aks: PlannedResource = { type: "azure-native:containerservice:ManagedCluster", name: "c", parent: null, inputs: {} };
const state = (secretsProvider?: string, extra: { hasEncryptionSalt?: boolean; awsRegion?: string } = {}) => ({
  file,
  secretsProvider,
  hasEncryptionSalt: extra.hasEncryptionSalt ?? false,
  awsRegion: extra.awsRegion,
});
const check = (resources: PlannedResource[], s: ReturnType<typeof state>, environment = "prod") =>
  stateSecretsKms.check(resources, { environment, stateSecrets: s }).map((v) => `${v.resource}: ${v.message}`);

test("state-secrets-kms rejects the passphrase provider (declared or implied) and Pulumi Cloud's key outside local", () => {
  for (const provider of [undefined, "passphrase", "default"]) {
    const [message, ...rest] = check([eks], state(provider));
    assert.equal(rest.length, 0);
    assert.match(
      message,
      /^stacks\/Pulumi\.prod\.yaml: secretsprovider is .*outside local the stack's secrets are encrypted by a KMS key of its own/,
    );
  }
  assert.deepEqual(check([], state(undefined, { hasEncryptionSalt: true }), "local"), []);
});

test("state-secrets-kms accepts a KMS key in the stack's own cloud and region", () => {
  assert.deepEqual(
    check([eks], state("awskms://alias/llm-platform-prod-state?region=us-east-1", { awsRegion: "us-east-1" })),
    [],
  );
  assert.deepEqual(check([aks], state("azurekeyvault://llm-platform-state.vault.azure.net/keys/prod-state")), []);
  assert.deepEqual(check([], state("hashivault://llm-platform-onprem-state"), "onprem"), []);
});

test("state-secrets-kms names a key in the wrong cloud, region or shape", () => {
  assert.deepEqual(check([aks], state("awskms://alias/k?region=us-east-1")), [
    `${file}: secretsprovider 'awskms://alias/k?region=us-east-1' is not in the stack's own cloud: use azurekeyvault://`,
  ]);
  assert.deepEqual(check([eks], state("awskms://alias/k?region=us-east-1", { awsRegion: "us-west-2" })), [
    `${file}: secretsprovider 'awskms://alias/k?region=us-east-1' keeps the state key in us-east-1, but the stack deploys to us-west-2: an outage there would lock the stack out of its own state`,
  ]);
  assert.match(check([eks], state("awskms://alias/k"))[0], /names no \?region=/);
  assert.match(
    check([aks], state("azurekeyvault://x/keys/k"))[0],
    /must be azurekeyvault:\/\/<vault>\.vault\.azure\.net\/keys\/<key>/,
  );
  assert.match(check([eks], state("file:///tmp/key"))[0], /is not a KMS provider/);
  assert.deepEqual(check([eks], state("awskms://alias/k?region=us-east-1", { hasEncryptionSalt: true })), [
    `${file}: encryptionsalt belongs to the passphrase provider: remove it (change-secrets-provider does)`,
  ]);
});

test("not judged where the caller did not read a stack file", () => {
  assert.deepEqual(stateSecretsKms.check([eks], { environment: "prod" }), []);
});

test("the stack-file loader reads secretsprovider, encryptedkey and encryptionsalt beside config", () => {
  const text =
    "secretsprovider: awskms://alias/k?region=us-east-1\nencryptedkey: AQICAHh=\nconfig:\n  llm-platform:environment: prod\n";
  const cfg = parseStackConfig("prod", text, "llm-platform");
  assert.deepEqual(cfg.stateSecrets, {
    file: "Pulumi.prod.yaml",
    secretsProvider: "awskms://alias/k?region=us-east-1",
    hasEncryptedKey: true,
    hasEncryptionSalt: false,
  });
  assert.equal(cfg.config["llm-platform:environment"], "prod");
});

test("every stack file but local declares a KMS provider of its own: no two stacks share a key", () => {
  const providers = knownStacks()
    .filter((s) => s !== "local")
    .map((s) => [s, readStackConfigFile(s).stateSecrets] as const);
  assert.ok(providers.length >= 5);
  for (const [stack, s] of providers) {
    const scheme = /^([a-z]+):\/\//.exec(s.secretsProvider ?? "")?.[1];
    assert.ok((KMS_SCHEMES as readonly string[]).includes(scheme ?? ""), `${stack}: ${String(s.secretsProvider)}`);
    assert.equal(s.hasEncryptionSalt, false, stack);
    assert.deepEqual(stateSecretsProblems(s, stack), [], stack);
  }
  const urls = providers.map(([, s]) => s.secretsProvider);
  assert.equal(new Set(urls).size, urls.length, `shared keys: ${urls.join(", ")}`);
});

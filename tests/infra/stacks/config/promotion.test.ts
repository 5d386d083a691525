import fc from "fast-check";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  checkPromotion,
  formatPromotionIssue,
  imageIdentity,
  modelArtifacts,
  PROMOTION_CHAIN,
  select,
  settingsOf,
  unclassifiedKeys,
  type ChainStack,
} from "../../../../stacks/config/promotion";
import type { ModelSource, Settings } from "../../../../stacks/config/schema";
import { parseStackConfig, readProjectName, readStackConfigFile, stackFilePath } from "../../../../stacks/plan/stack-file";

const repoStacks = () =>
  Object.fromEntries(PROMOTION_CHAIN.map((s) => [s, settingsOf(readStackConfigFile(s))])) as Record<ChainStack, Settings>;

/** The version and digest a source pins (moving an artifact keeps its pin). */
const pinOf = (source: ModelSource) => (source.kind === "demo" ? {} : { version: source.version, digest: source.digest });

/** The repo's stacks with one of them edited. */
function withEdit(stack: ChainStack, edit: (s: Settings) => void): Record<ChainStack, Settings> {
  const stacks = repoStacks();
  const copy = structuredClone(stacks[stack]);
  edit(copy);
  return { ...stacks, [stack]: copy };
}

test("the repository's dev, staging, prod and dr stack files keep every promotion rule", () => {
  const issues = checkPromotion(repoStacks());
  assert.deepEqual(issues.map(formatPromotionIssue), []);
});

test("fails when a stack file runs another runtime image, naming the path, both stacks and both values", () => {
  const text = readFileSync(stackFilePath("staging"), "utf8").replace(
    "image: ghcr.io/llm-platform/llm-runtime:0.1.0-cuda",
    "image: ghcr.io/llm-platform/llm-runtime:0.2.0-rc1-cuda",
  );
  const staging = settingsOf(parseStackConfig("staging", text, readProjectName()));
  const issues = checkPromotion({ ...repoStacks(), staging });
  assert.equal(issues.length, 1);
  assert.equal(
    formatPromotionIssue(issues[0]),
    'runtime.image: stack staging has "llm-platform/llm-runtime:0.2.0-rc1-cuda" but prod has ' +
      '"llm-platform/llm-runtime:0.1.0-cuda"; runtime must be identical across dev, staging, prod, dr: ' +
      "the runtime image promoted to prod must be the one dev and staging tested (its registry may be a regional replica); " +
      "bump it in every stack file in one change",
  );
});

test("any stack of the chain that drifts from prod's image is reported, once, by name", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<ChainStack>("dev", "staging", "dr"),
      fc.stringMatching(/^[0-9]\.[0-9]{1,2}\.[0-9]{1,2}$/),
      (stack, version) => {
        const stacks = withEdit(stack, (s) => (s.runtime.image = `ghcr.io/llm-platform/llm-runtime:${version}-drift`));
        const issues = checkPromotion(stacks);
        assert.deepEqual(
          issues.map((i) => [i.rule.path, i.stack, i.reference]),
          [["runtime", stack, "prod"]],
        );
      },
    ),
  );
});

test("a model served in prod but not promoted through staging is drift", () => {
  const issues = checkPromotion(withEdit("staging", (s) => (s.models[0].name = "llama-31-70b-instruct")));
  assert.deepEqual(
    issues.map((i) => [i.rule.path, i.stack, i.value]),
    [["models[*].name", "staging", ["llama-31-70b-instruct"]]],
  );
});

test("sizes, regions, clusters, domains and buckets may differ along the chain", () => {
  const stacks = withEdit("staging", (s) => {
    s.domain = "llm.qa.example.com";
    s.models[0].replicas = { min: 0, max: 1 };
    s.models[0].resources = { cpu: "2", memory: "8Gi" };
    s.models[0].source = { ...pinOf(s.models[0].source), kind: "https", uri: "https://models.example.com/llama.tar.gz" };
    s.observability.retention = "3d";
    s.observability.slo = { ttftP95Seconds: 5, errorRatio: 0.05 };
    if (s.tls.issuer.kind === "acme") s.tls.issuer.solver = "dns01";
  });
  assert.deepEqual(checkPromotion(stacks).map(formatPromotionIssue), []);
});

test("a model artifact other than the one prod pins is drift, naming both pins", () => {
  const other = "sha256:" + "0".repeat(64);
  const issues = checkPromotion(
    withEdit("staging", (s) => {
      if (s.models[0].source.kind !== "demo") s.models[0].source.digest = other;
    }),
  );
  assert.deepEqual(
    issues.map((i) => [i.rule.path, i.stack]),
    [["models", "staging"]],
  );
  assert.match(
    formatPromotionIssue(issues[0]),
    new RegExp(`models\\[0\\]\\.artifacts\\[0\\]: stack staging has "2026-11-28\\.1@${other}"`),
  );
  assert.deepEqual(
    modelArtifacts({ source: { version: "v1", digest: "d" }, sourceByCluster: { a: { version: "v1", digest: "d" } } }),
    {
      artifacts: ["v1@d"],
    },
  );
});

test("dr is prod's twin: same host names, model capacity, SLOs and issuer; only locations differ", () => {
  assert.deepEqual(
    checkPromotion(withEdit("dr", (s) => (s.domain = "llm-dr.example.com"))).map((i) => i.rule.path),
    ["domain"],
  );
  assert.deepEqual(
    checkPromotion(withEdit("dr", (s) => (s.models[0].replicas.max = 4))).map((i) => i.rule.path),
    ["models"],
  );
  assert.deepEqual(
    checkPromotion(withEdit("dr", (s) => (s.observability.slo.errorRatio = 0.02))).map((i) => i.rule.path),
    ["observability.slo"],
  );
  const acmeServer = checkPromotion(
    withEdit("dr", (s) => {
      if (s.tls.issuer.kind === "acme") s.tls.issuer.server = "https://acme-staging-v02.api.letsencrypt.org/directory";
    }),
  );
  assert.deepEqual(
    acmeServer.flatMap((i) => i.differences.map((d) => d.path)),
    ["tls.issuer.server"],
  );
  const otherDns = checkPromotion(
    withEdit("dr", (s) => {
      if (s.tls.issuer.kind === "acme")
        s.tls.issuer.dns01 = {
          provider: "azureDns",
          subscriptionId: "00000000-0000-4000-8000-000000000000",
          resourceGroupName: "dns",
          hostedZoneName: "example.com",
          managedIdentityClientId: "00000000-0000-4000-8000-000000000001",
        };
    }),
  );
  assert.deepEqual(
    otherDns.map((i) => i.rule.path),
    ["tls.issuer.dns01.provider"],
  );
  assert.deepEqual(
    checkPromotion(
      withEdit("dr", (s) => {
        s.models[0].source = { ...pinOf(s.models[0].source), kind: "s3", uri: "s3://another-replica/llama" };
        s.clusters = [{ ...s.clusters[0], name: "dr-euwest1" }];
      }),
    ),
    [],
  );
});

test("stacks that are missing are skipped, so a fork with fewer environments can still check", () => {
  const { dev, prod } = repoStacks();
  assert.deepEqual(checkPromotion({ dev, prod }), []);
  assert.equal(checkPromotion({ dev: { ...dev, runtime: { ...dev.runtime, image: "ghcr.io/x/y:2" } }, prod }).length, 1);
});

test("an image is the same image from a regional replica registry, not with another tag or digest", () => {
  assert.equal(
    imageIdentity("123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-platform/llm-runtime:1.0"),
    "llm-platform/llm-runtime:1.0",
  );
  assert.equal(imageIdentity("ghcr.io/llm-platform/llm-runtime:1.0"), "llm-platform/llm-runtime:1.0");
  assert.equal(imageIdentity("localhost:5000/llm-runtime@sha256:" + "a".repeat(64)), `llm-runtime@sha256:${"a".repeat(64)}`);
  assert.equal(imageIdentity("llm-platform/llm-runtime:1.0"), "llm-platform/llm-runtime:1.0");
  const replica = withEdit(
    "dr",
    (s) => (s.runtime.image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-platform/llm-runtime:0.1.0-cuda"),
  );
  assert.deepEqual(checkPromotion(replica), []);
  const otherRepo = withEdit(
    "dr",
    (s) => (s.runtime.image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/forked/llm-runtime:0.1.0-cuda"),
  );
  assert.deepEqual(
    checkPromotion(otherRepo).flatMap((i) => i.differences.map((d) => d.path)),
    ["runtime.image"],
  );
});

test("reads rule paths through lists", () => {
  const settings = { models: [{ name: "a" }, { name: "b" }], runtime: { image: "i:1" } };
  assert.deepEqual(select(settings, "models[*].name"), ["a", "b"]);
  assert.equal(select(settings, "runtime.image"), "i:1");
  assert.equal(select(settings, "tls.issuer.kind"), undefined);
});

test("every settings key is classified as must-match or may-differ, so a new key cannot drift unnoticed", () => {
  assert.deepEqual(unclassifiedKeys(), []);
  assert.deepEqual(unclassifiedKeys(["runtime", "security"]), ["security"]);
});

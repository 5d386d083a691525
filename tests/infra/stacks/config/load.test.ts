import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../../../stacks/config/issues";
import { loadSettings } from "../../../../stacks/config/load";
import { baseInput, SECRETS, toRaw, withValue } from "./fixtures";

/** Loads and returns the error message, failing the test if the config was accepted. */
function rejection(input: Record<string, unknown>, secrets = SECRETS): string {
  try {
    loadSettings("test", toRaw(input, secrets));
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("config was accepted");
}

describe("loadSettings", () => {
  test("accepts a valid config and applies the defaults written in the schema", () => {
    const s = loadSettings("test", toRaw(baseInput()));
    assert.equal(s.models[0].gpus, 1);
    assert.equal(s.models[0].targetQueueDepth, 4);
    assert.equal(s.runtime.apiKeysSecret, "apiKeys");
    assert.equal(s.observability.retention, "15d");
    const eks = s.clusters[1];
    assert.ok(eks.substrate === "eks");
    assert.equal(eks.availabilityZones, 3);
    assert.equal(eks.gpuPools[0].capacityType, "ON_DEMAND");
  });

  test("wrong type names the key, what is expected and the value", () => {
    assert.match(rejection(withValue(baseInput(), "models[0].gpus", "two")), /models\[0\]\.gpus: must be a number, got "two"/);
  });

  test("out-of-range number names the key and the bound", () => {
    assert.match(rejection(withValue(baseInput(), "models[0].gpus", 9)), /models\[0\]\.gpus: must be <= 8, got 9/);
  });

  test("unknown substrate lists the allowed ones", () => {
    assert.match(
      rejection(withValue(baseInput(), "clusters[0].substrate", "gke")),
      /clusters\[0\]\.substrate: must be one of: local, onprem, eks, aks, got "gke"/,
    );
  });

  test("missing required key says it is required", () => {
    assert.match(rejection(withValue(baseInput(), "domain", undefined)), /domain: is required/);
    assert.match(
      rejection(withValue(baseInput(), "clusters[0].storageClass", undefined)),
      /clusters\[0\]\.storageClass: is required/,
    );
  });

  test("unknown enum value lists the allowed values", () => {
    assert.match(
      rejection(withValue(baseInput(), "environment", "production")),
      /environment: must be one of: local, dev, staging, prod, onprem, dr, got "production"/,
    );
  });

  test("an EKS cluster creates Auto Scaling's service-linked role unless told it exists; anything else is named", () => {
    const eks = loadSettings("test", toRaw(baseInput())).clusters[1];
    assert.ok(eks.substrate === "eks");
    assert.equal(eks.autoScalingServiceLinkedRole, "create");
    assert.match(
      rejection(withValue(baseInput(), "clusters[1].autoScalingServiceLinkedRole", "adopt")),
      /clusters\[1\]\.autoScalingServiceLinkedRole: must be one of: create, existing/,
    );
  });

  test("misspelt keys are rejected instead of silently ignored", () => {
    assert.match(rejection(withValue(baseInput(), "models[0].replica", 3)), /models\[0\]\.replica: is not a known key/);
  });

  test("unknown top-level plain config key is rejected; secrets may be extra", () => {
    assert.match(
      rejection({ ...baseInput(), enviroment: "prod" }),
      /enviroment: is not a known config key \(did you mean 'environment'\?/,
    );
    assert.doesNotThrow(() => loadSettings("test", toRaw(baseInput(), { ...SECRETS, extraToken: "x" })));
  });

  test("settings given as secrets are rejected: they are not credentials", () => {
    const raw = new Map(toRaw(baseInput()));
    raw.set("domain", { value: "llm.example.com", secret: true });
    assert.throws(() => loadSettings("test", raw), /domain: must not be a secret/);
  });

  test("invalid JSON in an object key is reported on that key", () => {
    const raw = new Map(toRaw(baseInput()));
    raw.set("clusters", { value: "{not json", secret: false });
    assert.throws(() => loadSettings("test", raw), /clusters: must be a YAML object or list/);
  });

  test("reports every problem at once, one per line", () => {
    let input = withValue(baseInput(), "models[0].gpus", -1);
    input = withValue(input, "domain", "Not A Domain");
    const message = rejection(input);
    assert.match(message, /2 problems/);
    assert.match(message, /models\[0\]\.gpus: must be >= 0, got -1/);
    assert.match(message, /domain: must be a fully qualified/);
  });

  test("cross-field rules run after the shape is valid (pool max below min)", () => {
    assert.match(
      rejection(withValue(baseInput(), "clusters[1].gpuPools[0].max", 1)),
      /clusters\[1\]\.gpuPools\[0\]\.max: must be >= min \(2\), got 1/,
    );
  });

  test("a model store's egress addresses are CIDRs, named by key when not", () => {
    assert.match(
      rejection(withValue(baseInput(), "models[0].source.egressCidrs", ["10.40.0.0/24", "minio.corp"])),
      /models\[0\]\.source\.egressCidrs\[1\]: /,
    );
    assert.match(rejection(withValue(baseInput(), "models[0].source.egressCidrs", [])), /models\[0\]\.source\.egressCidrs: /);
    const s = loadSettings("test", toRaw(withValue(baseInput(), "models[0].source.egressCidrs", ["10.40.0.0/24"])));
    assert.deepEqual(s.models[0].source.kind === "s3" && s.models[0].source.egressCidrs, ["10.40.0.0/24"]);
  });

  test("a model digest is sha256 and 64 lower-case hex digits, named by key when not", () => {
    for (const bad of ["sha256:" + "A".repeat(64), "sha256:" + "a".repeat(63), "md5:" + "a".repeat(32), "a".repeat(64)])
      assert.match(
        rejection(withValue(baseInput(), "models[0].source.digest", bad)),
        /models\[0\]\.source\.digest: must be sha256:<64 lower-case hex digits>/,
      );
    assert.match(
      rejection(withValue(baseInput(), "models[0].source.version", "../v1")),
      /models\[0\]\.source\.version: must be a model version folder name/,
    );
  });

  test("image references need a tag or digest", () => {
    assert.match(
      rejection(withValue(baseInput(), "runtime.image", "ghcr.io/org/llm-runtime")),
      /runtime\.image: must name a tag or a digest/,
    );
    const digest = `ghcr.io/org/llm-runtime@sha256:${"a".repeat(64)}`;
    assert.doesNotThrow(() => loadSettings("test", toRaw(withValue(baseInput(), "runtime.image", digest))));
  });
});

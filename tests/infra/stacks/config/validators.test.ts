import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatIssue } from "../../../../stacks/config/issues";
import { settingsSchema, type Settings } from "../../../../stacks/config/schema";
import {
  validateAlerting,
  validateBounds,
  validateEnvironmentRules,
  validateModelPins,
  validateModelPlacement,
  validateSecretReferences,
  validateSloTargets,
  validateTrafficRules,
  validateUniqueNames,
} from "../../../../stacks/config/validators";
import { baseInput, withValue } from "./fixtures";

const settings = (input: Record<string, unknown> = baseInput()): Settings => settingsSchema.parse(input);
const messages = (issues: { path: readonly (string | number)[]; message: string; value?: unknown }[]) => issues.map(formatIssue);
const allSecrets = new Map([
  ["apiKeys", true],
  ["kubeconfig", true],
  ["grafanaPassword", true],
]);

describe("validateBounds", () => {
  test("accepts pools and replicas with min <= max, for any bounds (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (a, b) => {
        const [min, max] = [Math.min(a, b), Math.max(a, b, 1)];
        const s = settings(
          withValue(withValue(baseInput(), "clusters[1].gpuPools[0].min", min), "clusters[1].gpuPools[0].max", max),
        );
        return validateBounds(s).length === 0;
      }),
    );
  });

  test("rejects max < min with the path, the min and the value (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100 }), fc.integer({ min: 1, max: 99 }), (min, delta) => {
        const max = Math.max(1, min - delta);
        fc.pre(max < min);
        const s = settings(
          withValue(withValue(baseInput(), "clusters[1].gpuPools[0].min", min), "clusters[1].gpuPools[0].max", max),
        );
        const out = messages(validateBounds(s));
        return out.length === 1 && out[0] === `clusters[1].gpuPools[0].max: must be >= min (${min}), got ${max}`;
      }),
    );
  });

  test("checks model replica bounds too", () => {
    const s = settings(withValue(baseInput(), "models[0].replicas", { min: 3, max: 2 }));
    assert.deepEqual(messages(validateBounds(s)), ["models[0].replicas.max: must be >= min (3), got 2"]);
  });
});

describe("validateUniqueNames", () => {
  test("rejects duplicate cluster and model names", () => {
    let input = withValue(baseInput(), "clusters[1].name", "dc1");
    input = withValue(input, "models", [
      { name: "m1", source: { kind: "s3", uri: "s3://bucket/m" }, replicas: { min: 1, max: 1 } },
      { name: "m1", source: { kind: "s3", uri: "s3://bucket/m" }, replicas: { min: 1, max: 1 } },
    ]);
    assert.deepEqual(messages(validateUniqueNames(settings(input))), [
      'clusters[1].name: must be unique among clusters, got "dc1"',
      'models[1].name: must be unique among models, got "m1"',
    ]);
  });

  test("rejects duplicate pool names within a cluster", () => {
    const pools = [
      { name: "l4", instanceTypes: ["g6.xlarge"], min: 0, max: 1 },
      { name: "l4", instanceTypes: ["g6.2xlarge"], min: 0, max: 1 },
    ];
    assert.deepEqual(messages(validateUniqueNames(settings(withValue(baseInput(), "clusters[1].gpuPools", pools)))), [
      'clusters[1].gpuPools[1].name: must be unique within the cluster, got "l4"',
    ]);
  });
});

describe("validateModelPlacement", () => {
  test("models may only be placed on clusters of the stack", () => {
    const s = settings(withValue(baseInput(), "models[0].clusters", ["dc1", "dc9"]));
    assert.deepEqual(messages(validateModelPlacement(s)), [
      'models[0].clusters[1]: must name a cluster of this stack (dc1, cloud), got "dc9"',
    ]);
  });

  test("per-cluster sources must name clusters of the stack", () => {
    const s = settings(withValue(baseInput(), "models[0].sourceByCluster", { dc9: { kind: "pvc", claimName: "models" } }));
    assert.deepEqual(messages(validateModelPlacement(s)), [
      "models[0].sourceByCluster.dc9: must name a cluster of this stack (dc1, cloud)",
    ]);
  });
});

describe("validateEnvironmentRules", () => {
  const local = () =>
    withValue(
      withValue(
        withValue(withValue(baseInput(), "environment", "local"), "clusters", [{ name: "laptop", substrate: "local" }]),
        "tls",
        { issuer: { kind: "selfsigned" }, backendProtocol: "http" },
      ),
      "models[0]",
      { name: "demo", source: { kind: "demo" }, gpus: 0, replicas: { min: 0, max: 1 } },
    );

  test("local relaxes GPUs, TLS, image tag, demo model and scale to zero", () => {
    assert.deepEqual(validateEnvironmentRules(settings(withValue(local(), "runtime.image", "ghcr.io/org/r:latest"))), []);
  });

  test("self-signed TLS is refused outside local", () => {
    const s = settings(withValue(baseInput(), "tls", { issuer: { kind: "selfsigned" } }));
    assert.deepEqual(messages(validateEnvironmentRules(s)), [
      `tls.issuer.kind: 'selfsigned' is only allowed in environment local; use acme or ca in 'onprem', got "selfsigned"`,
    ]);
  });

  test("plain HTTP behind the gateway is refused outside local, allowed on local, and HTTPS is the default", () => {
    assert.equal(settings().tls.backendProtocol, "https");
    const s = settings(withValue(baseInput(), "tls.backendProtocol", "http"));
    assert.deepEqual(messages(validateEnvironmentRules(s)), [
      `tls.backendProtocol: 'http' is only allowed in environment local: every hop outside a laptop is TLS (this is 'onprem'), got "http"`,
    ]);
    assert.deepEqual(validateEnvironmentRules(settings(withValue(local(), "tls.backendProtocol", "http"))), []);
    assert.ok(!settingsSchema.safeParse(withValue(baseInput(), "tls.backendProtocol", "h2c")).success);
  });

  test("the local substrate is refused outside local, and required in local", () => {
    const s = settings(withValue(baseInput(), "clusters[0]", { name: "laptop", substrate: "local" }));
    assert.match(
      messages(validateEnvironmentRules(s)).join("\n"),
      /clusters\[0\]\.substrate: 'local' is only allowed in environment local/,
    );
    const l = settings(
      withValue(local(), "clusters[1]", { name: "dc1", substrate: "onprem", kubeconfigSecret: "k", storageClass: "ceph" }),
    );
    assert.match(
      messages(validateEnvironmentRules(l)).join("\n"),
      /clusters\[1\]\.substrate: must be 'local' in environment local/,
    );
  });

  test("CPU serving, demo models and 'latest' tags are refused outside local", () => {
    let input = withValue(baseInput(), "models[0].gpus", 0);
    input = withValue(input, "models[0].source", { kind: "demo" });
    input = withValue(input, "runtime.image", "ghcr.io/org/r:latest");
    const out = messages(validateEnvironmentRules(settings(input))).join("\n");
    assert.match(out, /runtime\.image: must be an immutable tag or digest outside local/);
    assert.match(out, /models\[0\]\.gpus: must be >= 1 outside environment local/);
    assert.match(out, /models\[0\]\.source\.kind: 'demo' is only allowed in environment local/);
  });

  test("scale to zero only where the environment allows it", () => {
    const zero = withValue(baseInput(), "models[0].replicas", { min: 0, max: 2 });
    assert.match(
      messages(validateEnvironmentRules(settings(zero))).join("\n"),
      /models\[0\]\.replicas\.min: scale to zero \(0\) is only allowed in local, dev/,
    );
    // dev may hold a model at zero with TLS-only runtimes: the interceptor proxies over verified TLS.
    const dev = withValue(zero, "environment", "dev");
    assert.equal(settings(dev).tls.backendProtocol, "https");
    assert.deepEqual(messages(validateEnvironmentRules(settings(dev))), []);
  });

  test("prod and dr need at least two replicas of every model", () => {
    for (const env of ["prod", "dr"]) {
      const s = settings(withValue(baseInput(), "environment", env));
      assert.deepEqual(messages(validateEnvironmentRules(s)), [
        `models[0].replicas.min: must be >= 2 in '${env}' so that a node drain never takes the model offline, got 1`,
      ]);
    }
  });
});

describe("validateSecretReferences", () => {
  test("accepts secret keys that exist and are secrets", () => {
    assert.deepEqual(validateSecretReferences(settings(), allSecrets), []);
  });

  test("names the missing key and how to set it", () => {
    const keys = new Map(allSecrets);
    keys.delete("kubeconfig");
    assert.deepEqual(messages(validateSecretReferences(settings(), keys)), [
      `clusters[0].kubeconfigSecret: names config key 'kubeconfig', which is not set (pulumi config set --secret kubeconfig ...), got "kubeconfig"`,
    ]);
  });

  test("refuses a credential stored in plain text", () => {
    const keys = new Map(allSecrets).set("apiKeys", false);
    assert.match(
      messages(validateSecretReferences(settings(), keys)).join("\n"),
      /runtime\.apiKeysSecret: names config key 'apiKeys', which must be a secret/,
    );
  });

  test("requires a Grafana admin password outside local", () => {
    const s = settings(withValue(baseInput(), "observability", {}));
    assert.match(
      messages(validateSecretReferences(s, allSecrets)).join("\n"),
      /observability\.grafanaAdminPasswordSecret: is required in 'onprem'/,
    );
  });
});

describe("validateAlerting", () => {
  const pagerduty = { receiver: "pagerduty", secret: "alertKey" };
  const withAlerting = (environment: string, alerting?: unknown) =>
    settings(
      withValue(withValue(baseInput(), "environment", environment), "observability", {
        grafanaAdminPasswordSecret: "grafanaPassword",
        ...(alerting ? { alerting } : {}),
      }),
    );

  test("prod and dr must page someone; other environments may leave alerts in Alertmanager", () => {
    for (const env of ["prod", "dr"])
      assert.match(
        messages(validateAlerting(withAlerting(env))).join(),
        new RegExp(`observability\\.alerting: is required in '${env}': name the on-call receiver`),
      );
    for (const env of ["local", "dev", "staging", "onprem"]) assert.deepEqual(validateAlerting(withAlerting(env)), [], env);
    assert.deepEqual(validateAlerting(withAlerting("prod", pagerduty)), []);
  });

  test("a Slack channel is only for the Slack receiver", () => {
    assert.deepEqual(messages(validateAlerting(withAlerting("staging", { ...pagerduty, slackChannel: "#oncall" }))), [
      `observability.alerting.slackChannel: is only used with receiver 'slack' (receiver is 'pagerduty'), got "#oncall"`,
    ]);
    assert.deepEqual(
      validateAlerting(withAlerting("staging", { receiver: "slack", secret: "hook", slackChannel: "#oncall" })),
      [],
    );
  });

  test("the receiver's credential is a secret config key that exists", () => {
    const s = withAlerting("prod", pagerduty);
    assert.match(
      messages(validateSecretReferences(s, allSecrets)).join(),
      /observability\.alerting\.secret: names config key 'alertKey', which is not set/,
    );
    assert.match(
      messages(validateSecretReferences(s, new Map(allSecrets).set("alertKey", false))).join(),
      /observability\.alerting\.secret: names config key 'alertKey', which must be a secret/,
    );
  });

  test("an unknown receiver lists the known ones", () => {
    const r = settingsSchema.safeParse(withValue(baseInput(), "observability.alerting", { receiver: "email", secret: "k" }));
    assert.ok(!r.success);
    assert.match(JSON.stringify(r.error.issues), /pagerduty.*slack.*webhook/);
  });
});

describe("per-cluster TLS issuer (hybrid stacks)", () => {
  const override = (issuer: Record<string, unknown>) => settings(withValue(baseInput(), "clusters[0].tlsIssuer", issuer));

  test("an on-prem cluster may take its certificates from another issuer than the stack's", () => {
    assert.deepEqual(validateEnvironmentRules(override({ kind: "ca", secretName: "corp-ca" })), []);
  });

  test("the override obeys the same rules as tls.issuer: no self-signed outside local", () => {
    assert.deepEqual(messages(validateEnvironmentRules(override({ kind: "selfsigned" }))), [
      `clusters[0].tlsIssuer.kind: 'selfsigned' is only allowed in environment local; use acme or ca in 'onprem', got "selfsigned"`,
    ]);
  });

  test("the override obeys the same rules as tls.issuer: dns01 names its provider", () => {
    const s = override({ kind: "acme", email: "ops@example.com", solver: "dns01" });
    assert.match(
      messages(validateTrafficRules(s)).join("\n"),
      /clusters\[0\]\.tlsIssuer\.dns01: is required when solver is 'dns01'/,
    );
  });
});

describe("validateSloTargets", () => {
  const withSlo = (slo: unknown) =>
    settings(withValue(baseInput(), "observability", { grafanaAdminPasswordSecret: "grafanaPassword", slo }));

  test("the defaults and the committed stacks' targets are served by the burn-rate alerts", () => {
    assert.deepEqual(validateSloTargets(withSlo({ ttftP95Seconds: 1.5, errorRatio: 0.005 })), []);
    assert.deepEqual(validateSloTargets(withSlo(undefined)), []);
  });

  test("a budget the fastest burn rate cannot exceed, and a TTFT target beyond the runtime's buckets, name the key", () => {
    assert.deepEqual(messages(validateSloTargets(withSlo({ ttftP95Seconds: 60, errorRatio: 0.1 }))), [
      "observability.slo.errorRatio: must be below 0.0694 (1 / the 14.4x burn rate of the fastest alert), got 0.1",
      "observability.slo.ttftP95Seconds: must be <= 32.768 (the runtime's largest finite time-to-first-token bucket), got 60",
    ]);
  });
});

describe("validateModelPins", () => {
  const unpinned = (input = baseInput()) =>
    withValue(withValue(input, "models[0].source.version", undefined), "models[0].source.digest", undefined);

  test("outside local and dev an object-store source without version and digest is rejected, naming each key", () => {
    for (const environment of ["staging", "prod", "dr", "onprem"] as const)
      assert.deepEqual(
        messages(validateModelPins({ ...settings(unpinned()), environment })).map((m) => m.split(":")[0]),
        ["models[0].source.version", "models[0].source.digest"],
      );
    assert.match(
      messages(validateModelPins(settings(unpinned())))[1],
      /^models\[0\]\.source\.digest: is required in 'onprem': pin the model artifact/,
    );
  });

  test("local and dev may float, but never half a pin", () => {
    for (const environment of ["local", "dev"] as const) {
      assert.deepEqual(validateModelPins({ ...settings(unpinned()), environment }), []);
      const half = settings(withValue(baseInput(), "models[0].source.digest", undefined));
      assert.deepEqual(messages(validateModelPins({ ...half, environment })), [
        "models[0].source.digest: is required with the other: a version without its digest (or a digest without its version) pins nothing",
      ]);
    }
  });

  test("per-cluster sources pin the same artifact, and a claim's subPath ends in the version folder", () => {
    const pin = settings().models[0].source;
    assert.ok(pin.kind === "s3");
    const claim = { kind: "pvc", claimName: "models", subPath: `llama/${pin.version}`, version: pin.version, digest: pin.digest };
    assert.deepEqual(validateModelPins(settings(withValue(baseInput(), "models[0].sourceByCluster", { dc1: claim }))), []);
    const other = `sha256:${"cd".repeat(32)}`;
    assert.deepEqual(
      messages(
        validateModelPins(
          settings(
            withValue(baseInput(), "models[0].sourceByCluster", { dc1: { ...claim, subPath: "llama/latest", digest: other } }),
          ),
        ),
      ).map((m) => m.split(":")[0]),
      ["models[0].sourceByCluster.dc1.subPath", "models[0].sourceByCluster.dc1.digest"],
    );
  });

  test("the demo model needs no pin anywhere it is allowed", () => {
    const s = settings(withValue(baseInput(), "models[0].source", { kind: "demo" }));
    assert.deepEqual(validateModelPins({ ...s, environment: "local" }), []);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DEFAULT_RUNBOOK_BASE_URL, settingsSchema, type Settings } from "../../../../stacks/config/schema";
import { validateGpuPlacement, validateSecretReferences, validateTrafficRules } from "../../../../stacks/config/validators";

const base = settingsSchema.parse({
  environment: "local",
  domain: "llm.localtest.me",
  runtime: { image: "ghcr.io/org/runtime:1.0.0" },
  tls: { issuer: { kind: "selfsigned" } },
  clusters: [{ name: "laptop", substrate: "local" }],
  models: [{ name: "demo", source: { kind: "demo" }, gpus: 0, replicas: { min: 1, max: 1 } }],
});
const acme = (solver: "http01" | "dns01", dns01?: unknown) =>
  ({ kind: "acme", email: "ops@example.com", server: "https://acme.example/dir", solver, dns01 }) as Settings["tls"]["issuer"];

test("the runbook base URL has a documented default", () => {
  assert.equal(base.observability.runbookBaseUrl, DEFAULT_RUNBOOK_BASE_URL);
  assert.ok(!settingsSchema.safeParse({ ...base, observability: { ...base.observability, runbookBaseUrl: "http://x" } }).success);
});

test("dns01 needs a provider; http01 must not carry one", () => {
  const missing = validateTrafficRules({ ...base, tls: { ...base.tls, issuer: acme("dns01") } });
  assert.deepEqual(
    missing.map((i) => i.path),
    [["tls", "issuer", "dns01"]],
  );
  assert.match(missing[0].message, /required when solver is 'dns01'/);
  assert.deepEqual(
    validateTrafficRules({ ...base, tls: { ...base.tls, issuer: acme("dns01", { provider: "route53", region: "us-east-1" }) } }),
    [],
  );
  const stray = validateTrafficRules({
    ...base,
    tls: { ...base.tls, issuer: acme("http01", { provider: "route53", region: "us-east-1" }) },
  });
  assert.match(stray[0].message, /only used with solver 'dns01'/);
});

test("Azure DNS without a managed identity is accepted only where every cluster using the issuer is AKS", () => {
  const azureDns = {
    provider: "azureDns",
    subscriptionId: "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7",
    resourceGroupName: "rg-dns",
    hostedZoneName: "llm.example.com",
  };
  const aks = { name: "weu", substrate: "aks" } as Settings["clusters"][number];
  const onprem = { name: "dc1", substrate: "onprem" } as Settings["clusters"][number];
  const tls = { ...base.tls, issuer: acme("dns01", azureDns) };
  assert.deepEqual(validateTrafficRules({ ...base, tls, clusters: [aks] }), []);
  const issues = validateTrafficRules({ ...base, tls, clusters: [aks, onprem] });
  assert.deepEqual(
    issues.map((i) => i.path),
    [["tls", "issuer", "dns01", "managedIdentityClientId"]],
  );
  assert.match(
    issues[0].message,
    /required for cluster 'dc1' \(onprem\): only AKS clusters create cert-manager's Azure DNS identity/,
  );
  // An on-prem cluster with its own issuer does not use the stack's.
  const ownIssuer = { ...onprem, tlsIssuer: { kind: "ca", secretName: "corp-ca" } } as Settings["clusters"][number];
  assert.deepEqual(validateTrafficRules({ ...base, tls, clusters: [aks, ownIssuer] }), []);
  const named = {
    ...base.tls,
    issuer: acme("dns01", { ...azureDns, managedIdentityClientId: "0b5d4c3a-2e1f-4a09-9b8c-7d6e5f4a3b2c" }),
  };
  assert.deepEqual(validateTrafficRules({ ...base, tls: named, clusters: [aks, onprem] }), []);
});

test("a model may not take a reserved host name", () => {
  const issues = validateTrafficRules({ ...base, models: [{ ...base.models[0], name: "grafana" }] });
  assert.deepEqual(issues[0].path, ["models", 0, "name"]);
  assert.equal(issues[0].value, "grafana");
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), (name) => {
      fc.pre(name !== "grafana");
      return validateTrafficRules({ ...base, models: [{ ...base.models[0], name }] }).length === 0;
    }),
  );
});

test("the Grafana admin password secret is required in every environment, local included", () => {
  const keys = new Map([["apiKeys", true]]);
  const issues = validateSecretReferences(base, keys);
  assert.deepEqual(
    issues.map((i) => i.path),
    [["observability", "grafanaAdminPasswordSecret"]],
  );
  assert.match(issues[0].message, /is required in 'local'/);
  const set = { ...base, observability: { ...base.observability, grafanaAdminPasswordSecret: "grafanaAdminPassword" } };
  assert.deepEqual(validateSecretReferences(set, new Map([...keys, ["grafanaAdminPassword", true]])), []);
});

test("models on a CPU-only (local) cluster must ask for no GPU", () => {
  const issues = validateGpuPlacement({ ...base, models: [{ ...base.models[0], gpus: 1 }] });
  assert.deepEqual(
    issues.map((i) => i.path),
    [["models", 0, "gpus"]],
  );
  assert.match(issues[0].message, /must be 0 on CPU-only cluster laptop/);
  assert.deepEqual(validateGpuPlacement(base), []);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 8 }), (gpus) => {
      const onprem = {
        name: "dc1",
        substrate: "onprem",
        kubeconfigSecret: "k",
        storageClass: "s",
      } as unknown as Settings["clusters"][number];
      const placed = { ...base, clusters: [...base.clusters, onprem], models: [{ ...base.models[0], gpus, clusters: ["dc1"] }] };
      return validateGpuPlacement(placed).length === 0;
    }),
  );
});

/**
 * Cross-field rules over an already-typed settings object. Each is a plain exported function returning the
 * issues it finds, so each is tested on its own (tests/infra/stacks/config/validators.test.ts).
 */
import { RESERVED_HOSTS } from "../../components/traffic/hosts";
import type { ConfigIssue } from "./issues";
import type { Environment, Settings } from "./schema";

type Path = (string | number)[];

/** min <= max for every node pool and every model's replica bounds. */
export function validateBounds(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (path: Path, b: { min: number; max: number }) => {
    if (b.max < b.min) issues.push({ path: [...path, "max"], message: `must be >= min (${b.min})`, value: b.max });
  };
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "eks" || c.substrate === "aks") {
      check(["clusters", i, "systemPool"], c.systemPool);
      c.gpuPools.forEach((p, j) => check(["clusters", i, "gpuPools", j], p));
    }
  });
  settings.models.forEach((m, i) => check(["models", i, "replicas"], m.replicas));
  return issues;
}

function duplicates(names: readonly string[]): Map<string, number> {
  const seen = new Set<string>();
  const dup = new Map<string, number>();
  names.forEach((n, i) => {
    if (seen.has(n) && !dup.has(n)) dup.set(n, i);
    seen.add(n);
  });
  return dup;
}

/** Cluster names, model names and pool names within a cluster are unique: they become resource names. */
export function validateUniqueNames(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, i] of duplicates(settings.clusters.map((c) => c.name)))
    issues.push({ path: ["clusters", i, "name"], message: "must be unique among clusters", value: name });
  for (const [name, i] of duplicates(settings.models.map((m) => m.name)))
    issues.push({ path: ["models", i, "name"], message: "must be unique among models", value: name });
  settings.clusters.forEach((c, ci) => {
    if (c.substrate !== "eks" && c.substrate !== "aks") return;
    for (const [name, j] of duplicates(c.gpuPools.map((p) => p.name)))
      issues.push({ path: ["clusters", ci, "gpuPools", j, "name"], message: "must be unique within the cluster", value: name });
  });
  return issues;
}

/** `models[i].clusters` may only name clusters of this stack. */
export function validateModelPlacement(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const known = new Set(settings.clusters.map((c) => c.name));
  const issues: ConfigIssue[] = [];
  settings.models.forEach((m, i) => {
    for (const name of Object.keys(m.sourceByCluster))
      if (!known.has(name))
        issues.push({
          path: ["models", i, "sourceByCluster", name],
          message: `must name a cluster of this stack (${[...known].join(", ")})`,
        });
    (m.clusters ?? []).forEach((name, j) => {
      if (!known.has(name))
        issues.push({
          path: ["models", i, "clusters", j],
          message: `must name a cluster of this stack (${[...known].join(", ")})`,
          value: name,
        });
    });
  });
  return issues;
}

/** Environments in which a model may scale to zero replicas (cold starts are acceptable there). */
export const SCALE_TO_ZERO_ENVIRONMENTS: readonly Environment[] = ["local", "dev"];
/** Environments that must survive a node drain without an outage. */
export const HIGHLY_AVAILABLE_ENVIRONMENTS: readonly Environment[] = ["prod", "dr"];

/**
 * What each environment allows. `local` relaxes only what a laptop cannot have: GPUs, a public CA, several
 * replicas; every other environment gets the production-safe defaults.
 */
export function validateEnvironmentRules(settings: Settings): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const env = settings.environment;
  const isLocal = env === "local";
  settings.clusters.forEach((c, i) => {
    if (isLocal && c.substrate !== "local")
      issues.push({ path: ["clusters", i, "substrate"], message: "must be 'local' in environment local", value: c.substrate });
    if (!isLocal && c.substrate === "local")
      issues.push({
        path: ["clusters", i, "substrate"],
        message: `'local' is only allowed in environment local (this is '${env}'); use onprem, eks or aks`,
        value: c.substrate,
      });
  });
  if (!isLocal && settings.tls.issuer.kind === "selfsigned")
    issues.push({
      path: ["tls", "issuer", "kind"],
      message: `'selfsigned' is only allowed in environment local; use acme or ca in '${env}'`,
      value: "selfsigned",
    });
  if (!isLocal && /:latest$/.test(settings.runtime.image))
    issues.push({
      path: ["runtime", "image"],
      message: "must be an immutable tag or digest outside local ('latest' moves under you)",
      value: settings.runtime.image,
    });
  settings.models.forEach((m, i) => {
    if (!isLocal && m.gpus === 0)
      issues.push({
        path: ["models", i, "gpus"],
        message: "must be >= 1 outside environment local (CPU serving is for laptops)",
        value: 0,
      });
    if (m.replicas.min === 0 && !SCALE_TO_ZERO_ENVIRONMENTS.includes(env))
      issues.push({
        path: ["models", i, "replicas", "min"],
        message: `scale to zero (0) is only allowed in ${SCALE_TO_ZERO_ENVIRONMENTS.join(", ")}; must be >= 1 in '${env}'`,
        value: 0,
      });
    if (HIGHLY_AVAILABLE_ENVIRONMENTS.includes(env) && m.replicas.min < 2)
      issues.push({
        path: ["models", i, "replicas", "min"],
        message: `must be >= 2 in '${env}' so that a node drain never takes the model offline`,
        value: m.replicas.min,
      });
    if (m.source.kind === "demo" && !isLocal)
      issues.push({
        path: ["models", i, "source", "kind"],
        message: "'demo' is only allowed in environment local",
        value: "demo",
      });
  });
  return issues;
}

/**
 * Secret config keys the settings refer to must exist and be Pulumi secrets (`pulumi config set --secret`).
 * `configKeys` maps every config key set on the stack to whether it is a secret.
 */
export function validateSecretReferences(settings: Settings, configKeys: ReadonlyMap<string, boolean>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const need = (path: Path, key: string) => {
    const secret = configKeys.get(key);
    if (secret === undefined)
      issues.push({
        path,
        message: `names config key '${key}', which is not set (pulumi config set --secret ${key} ...)`,
        value: key,
      });
    else if (!secret)
      issues.push({
        path,
        message: `names config key '${key}', which must be a secret (pulumi config set --secret ${key} ...)`,
        value: key,
      });
  };
  need(["runtime", "apiKeysSecret"], settings.runtime.apiKeysSecret);
  // Required on local too: the alternative is a chart default password, which is never acceptable.
  const grafana = settings.observability.grafanaAdminPasswordSecret;
  if (grafana !== undefined) need(["observability", "grafanaAdminPasswordSecret"], grafana);
  else
    issues.push({
      path: ["observability", "grafanaAdminPasswordSecret"],
      message: `is required in '${settings.environment}': name a secret config key holding the Grafana admin password`,
    });
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "onprem") need(["clusters", i, "kubeconfigSecret"], c.kubeconfigSecret);
  });
  return issues;
}

/** TLS and host-name rules: DNS-01 needs a provider; model names must not take a reserved host name. */
export function validateTrafficRules(settings: Pick<Settings, "tls" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issuer = settings.tls.issuer;
  if (issuer.kind === "acme" && issuer.solver === "dns01" && issuer.dns01 === undefined)
    issues.push({
      path: ["tls", "issuer", "dns01"],
      message: "is required when solver is 'dns01': name the DNS provider (route53 or azureDns) that answers the challenge",
    });
  if (issuer.kind === "acme" && issuer.solver === "http01" && issuer.dns01 !== undefined)
    issues.push({
      path: ["tls", "issuer", "dns01"],
      message: "is only used with solver 'dns01' (solver is 'http01'): remove it or switch the solver",
      value: issuer.dns01.provider,
    });
  settings.models.forEach((m, i) => {
    if (RESERVED_HOSTS.includes(m.name))
      issues.push({
        path: ["models", i, "name"],
        message: `is reserved: ${m.name}.<domain> is a platform host name (reserved: ${RESERVED_HOSTS.join(", ")})`,
        value: m.name,
      });
  });
  return issues;
}

/** Every cross-field rule, in the order their messages are reported. */
export function validateSettings(settings: Settings, configKeys: ReadonlyMap<string, boolean>): ConfigIssue[] {
  return [
    ...validateBounds(settings),
    ...validateUniqueNames(settings),
    ...validateModelPlacement(settings),
    ...validateEnvironmentRules(settings),
    ...validateTrafficRules(settings),
    ...validateSecretReferences(settings, configKeys),
  ];
}

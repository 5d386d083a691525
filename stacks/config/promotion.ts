/**
 * Environment promotion rules: what may differ between the stacks a change is promoted through (dev ->
 * staging -> prod, with dr as prod's twin) and what must not. A change is tested in dev and staging and then
 * rolled to prod, which only means something if prod runs the same artifact under the same rules: so the
 * runtime image and the models served are identical across the chain, and dr is prod in another region.
 * Sizes, regions, clusters and buckets are per environment by design.
 *
 * Chart versions and the policy suite are not settings: they are pinned in code, once, so every environment
 * gets the same ones by construction and there is nothing here to drift.
 */
import { diffInputs, type InputChange } from "../plan/diff";
import { loadSettings, type RawConfig } from "./load";
import { SETTINGS_KEYS, type Settings } from "./schema";

/** The stacks a change is promoted through, in order; `local` and `onprem` are outside the chain. */
export const PROMOTION_CHAIN = ["dev", "staging", "prod", "dr"] as const;
export type ChainStack = (typeof PROMOTION_CHAIN)[number];

/** Which stacks must agree: the whole chain, or prod and its disaster-recovery twin. */
export type Scope = "chain" | "twins";
const SCOPE_STACKS: Record<Scope, readonly ChainStack[]> = { chain: PROMOTION_CHAIN, twins: ["prod", "dr"] };

export interface PromotionRule {
  /** Settings path; `[*]` spans every item of a list, e.g. `models[*].name`. */
  path: string;
  scope: Scope;
  /** Keys of the selected object(s) that may still differ, e.g. a model's bucket in each region. */
  except?: string[];
  /** What is compared, when it is not the value itself (e.g. an image without its registry host). */
  normalize?: (value: unknown) => unknown;
  why: string;
}

/**
 * What identifies an image regardless of the registry serving it: repository path, tag and digest. A regional
 * replica (dr pulls from the ECR replica in its own region) serves the same image under another host; ECR
 * replication and registry copies keep the digest, so a digest-pinned reference stays exact.
 */
export function imageIdentity(ref: string): string {
  const [first, ...rest] = ref.split("/");
  const isRegistryHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  return isRegistryHost ? rest.join("/") : ref;
}

/**
 * What identifies a model's artifact regardless of where it is stored: each distinct version and digest its
 * sources pin (`source` and every `sourceByCluster` entry), as `<version>@<digest>`.
 */
export function modelArtifacts(model: unknown): unknown {
  if (!isObject(model)) return model;
  const sources = [model.source, ...(isObject(model.sourceByCluster) ? Object.values(model.sourceByCluster) : [])];
  const pins = sources.filter(isObject).map((s) => `${String(s.version ?? "unpinned")}@${String(s.digest ?? "unpinned")}`);
  return { artifacts: [...new Set(pins)].sort() };
}

export const MUST_MATCH: readonly PromotionRule[] = [
  {
    path: "runtime",
    scope: "chain",
    normalize: (runtime) =>
      isObject(runtime) && typeof runtime.image === "string" ? { ...runtime, image: imageIdentity(runtime.image) } : runtime,
    why:
      "the runtime image promoted to prod must be the one dev and staging tested (its registry may be a regional replica); " +
      "bump it in every stack file in one change",
  },
  { path: "models[*].name", scope: "chain", why: "the same models are promoted, and clients address them by these ids" },
  {
    path: "models",
    scope: "chain",
    normalize: (models) => (Array.isArray(models) ? models.map(modelArtifacts) : models),
    why:
      "the model artifact promoted to prod must be the one dev and staging tested: the same version and manifest digest " +
      "(its bucket, container or claim is per region); bump it in every stack file in one change",
  },
  {
    path: "tls.issuer.kind",
    scope: "chain",
    why: "certificates must be issued the same way everywhere, so dev and staging exercise prod's TLS path",
  },
  { path: "domain", scope: "twins", why: "failing over moves prod's host names to the DR region: they must be the same names" },
  {
    path: "tls.issuer",
    scope: "twins",
    // The DNS-01 provider's API region is regional on purpose: dr must not call into prod's region.
    except: ["dns01"],
    why: "dr issues certificates for prod's names, the same way prod does",
  },
  { path: "tls.issuer.dns01.provider", scope: "twins", why: "the same DNS service answers the challenges for the same names" },
  {
    path: "models",
    scope: "twins",
    except: ["source", "sourceByCluster", "clusters"],
    why: "dr takes prod's traffic, so it serves the same models with the same capacity and limits; only the artifacts' location and cluster names differ",
  },
  { path: "observability.slo", scope: "twins", why: "dr is held to prod's SLOs, with the same alerts" },
  {
    path: "dns",
    scope: "twins",
    why: "prod and dr publish one failover chain in one zone, with one health-check timing and so one switch time",
  },
  {
    path: "observability.alerting",
    scope: "twins",
    why: "dr pages the same on-call as prod: after a failover the same people answer",
  },
];

/** Settings that differ between environments by design (documentation and the completeness check). */
export const MAY_DIFFER: readonly { path: string; why: string }[] = [
  { path: "environment", why: "names the environment" },
  { path: "domain", why: "each environment has its own host names (dr shares prod's: see MUST_MATCH)" },
  {
    path: "tls.issuer",
    why: "ACME server, account e-mail, solver and DNS-01 provider per environment (dev uses Let's Encrypt staging)",
  },
  { path: "clusters", why: "substrate, region, Kubernetes version rollout, network ranges and node pool sizes" },
  {
    path: "models",
    why: "sizes per environment: GPUs, CPU and memory, replica bounds, queue depth and concurrency; artifact locations per region",
  },
  { path: "observability", why: "retention, storage and Prometheus sizing; SLO targets outside prod/dr" },
  { path: "dns", why: "only stacks in the Route 53 failover chain (prod, dr) have it" },
];

export interface PromotionIssue {
  rule: PromotionRule;
  /** The stack whose value differs, and the stack it was compared with. */
  stack: ChainStack;
  reference: ChainStack;
  value: unknown;
  expected: unknown;
  /** Where inside the rule's value the two differ, e.g. `runtime.image`. */
  differences: InputChange[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The value at a rule path; `[*]` maps over a list. */
export function select(value: unknown, path: string): unknown {
  if (path === "") return value;
  const [head, ...rest] = path.split(".");
  const tail = rest.join(".");
  if (head.endsWith("[*]")) {
    const list = isObject(value) ? value[head.slice(0, -3)] : undefined;
    return Array.isArray(list) ? list.map((item) => select(item, tail)) : undefined;
  }
  return select(isObject(value) ? value[head] : undefined, tail);
}

function omit(value: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => omit(v, keys));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
  return value;
}

/** Stable text for comparison: object keys sorted, so key order in a YAML file does not count as drift. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "undefined";
}

/**
 * Compares the validated settings of the chain's stacks (defaults applied, so an omitted key and its default
 * are the same value). Each stack is compared with prod, the reference: what runs in production. Stacks that
 * are not given are skipped, so a fork with fewer environments can still use the check.
 */
export function checkPromotion(
  stacks: Partial<Record<ChainStack, Settings>>,
  rules: readonly PromotionRule[] = MUST_MATCH,
): PromotionIssue[] {
  const issues: PromotionIssue[] = [];
  for (const rule of rules) {
    const present = SCOPE_STACKS[rule.scope].filter((s) => stacks[s] !== undefined);
    const reference = present.includes("prod") ? "prod" : present[0];
    if (reference === undefined) continue;
    const normalize = rule.normalize ?? ((v: unknown) => v);
    const pick = (s: ChainStack) => normalize(omit(select(stacks[s], rule.path), rule.except ?? []));
    const expected = pick(reference);
    for (const stack of present) {
      if (stack === reference) continue;
      const value = pick(stack);
      if (canonical(value) !== canonical(expected))
        issues.push({ rule, stack, reference, value, expected, differences: diffInputs(expected, value, rule.path) });
    }
  }
  return issues;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** One line per rule and stack: each differing path with both values, then the rule and why it exists. */
export function formatPromotionIssue(i: PromotionIssue): string {
  const scope = SCOPE_STACKS[i.rule.scope].join(", ");
  const except = i.rule.except ? ` (apart from ${i.rule.except.join(", ")})` : "";
  const diffs = i.differences
    .map((d) => `${d.path}: stack ${i.stack} has ${show(d.after)} but ${i.reference} has ${show(d.before)}`)
    .join("; ");
  return `${diffs}; ${i.rule.path}${except} must be identical across ${scope}: ${i.rule.why}`;
}

/** Top-level settings keys that no rule classifies: a new key needs a decision here before it can drift. */
export function unclassifiedKeys(keys: readonly string[] = SETTINGS_KEYS): string[] {
  const roots = new Set([...MUST_MATCH, ...MAY_DIFFER].map((r) => r.path.split(/[.[]/)[0]));
  return keys.filter((k) => !roots.has(k));
}

/** A stack file's config as the program would see it: keys without the project prefix, secrets flagged. */
export function rawConfigOf(cfg: { project: string; config: Record<string, string>; secretKeys: string[] }): RawConfig {
  const prefix = `${cfg.project}:`;
  const secret = new Set(cfg.secretKeys);
  return new Map(
    Object.entries(cfg.config)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, value]) => [k.slice(prefix.length), { value, secret: secret.has(k) }] as const),
  );
}

/** Validated settings of a parsed stack file (throws the usual `ConfigError` when it is invalid). */
export function settingsOf(cfg: {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}): Settings {
  return loadSettings(cfg.stack, rawConfigOf(cfg));
}

/**
 * Turns a stack's raw config (what Pulumi hands the program) into validated `Settings`, or throws one
 * `ConfigError` naming every bad key. Nothing else in the program reads config.
 */
import type { z } from "zod";
import { ConfigError, type ConfigIssue } from "./issues";
import { OBJECT_KEYS, SETTINGS_KEYS, settingsSchema, type Settings } from "./schema";
import { validateSettings } from "./validators";

/** One config entry, keyed without the project prefix. Object values arrive as JSON text, as Pulumi stores them. */
export interface RawConfigValue {
  value: string;
  secret: boolean;
}
export type RawConfig = ReadonlyMap<string, RawConfigValue>;

const OBJECT_KEY_SET = new Set<string>(OBJECT_KEYS);
const SETTINGS_KEY_SET = new Set<string>(SETTINGS_KEYS);

/** Maps a zod issue to our wording: the key, what is allowed, and the value that was given. */
export function fromZodIssue(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return [{ path, message: "is required" }];
      return [{ path, message: `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}`, value: input }];
    case "too_small": {
      const min = String(issue.minimum);
      if (issue.origin === "array")
        return [{ path, message: `must have at least ${min} item${min === "1" ? "" : "s"}`, value: input }];
      if (issue.origin === "string")
        return [{ path, message: `must have at least ${min} character${min === "1" ? "" : "s"}`, value: input }];
      return [{ path, message: `must be ${issue.inclusive === false ? ">" : ">="} ${min}`, value: input }];
    }
    case "too_big": {
      const max = String(issue.maximum);
      if (issue.origin === "array") return [{ path, message: `must have at most ${max} items`, value: input }];
      if (issue.origin === "string") return [{ path, message: `must have at most ${max} characters`, value: input }];
      return [{ path, message: `must be ${issue.inclusive === false ? "<" : "<="} ${max}`, value: input }];
    }
    case "invalid_value":
      return [{ path, message: `must be one of: ${issue.values.map((v) => String(v)).join(", ")}`, value: input }];
    case "invalid_union":
      if ("discriminator" in issue && typeof issue.discriminator === "string") {
        const options = (issue as { options?: unknown[] }).options ?? [];
        const given =
          input !== null && typeof input === "object" ? (input as Record<string, unknown>)[issue.discriminator] : input;
        return [{ path, message: `must be one of: ${options.map(String).join(", ")}`, value: given }];
      }
      return [{ path, message: issue.message, value: input }];
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ path: [...path, k], message: "is not a known key (check the spelling)" }));
    default:
      return [{ path, message: issue.message, value: input }];
  }
}

/** Edit distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The project key closest to `key`, if it is a plausible typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Builds the settings input from raw config: object keys are parsed from JSON, the rest stay strings. */
function collectInput(raw: RawConfig, issues: ConfigIssue[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const projectKeys = [...SETTINGS_KEYS, ...[...raw.keys()].filter((k) => !k.includes(":") && !SETTINGS_KEY_SET.has(k))];
  for (const [key, { value, secret }] of raw) {
    const colon = key.indexOf(":");
    if (colon >= 0) {
      // A foreign namespace that is no provider's: a misspelled project name, whatever the key is.
      const rest = key.slice(colon + 1);
      const guess = SETTINGS_KEY_SET.has(rest) ? rest : closestKey(rest, projectKeys);
      issues.push({
        path: [key],
        message: `is not a known config key: namespace '${key.slice(0, colon)}' is neither this project's nor a provider's (aws, azure-native, kubernetes, pulumi)${guess ? `; did you mean '${guess}' in the project's namespace?` : ""}`,
      });
      continue;
    }
    if (!SETTINGS_KEY_SET.has(key)) {
      // Secret keys are looked up by name from the settings (apiKeysSecret, kubeconfigSecret, ...).
      if (!secret) {
        const guess = closestKey(key, SETTINGS_KEYS);
        issues.push({
          path: [key],
          message: `is not a known config key (${guess ? `did you mean '${guess}'? ` : ""}known: ${SETTINGS_KEYS.join(", ")}; secrets are set with --secret)`,
        });
      }
      continue;
    }
    if (secret) {
      issues.push({
        path: [key],
        message: "must not be a secret: it is plain settings; keep credentials in their own secret keys",
      });
      continue;
    }
    if (OBJECT_KEY_SET.has(key)) {
      try {
        input[key] = JSON.parse(value);
      } catch {
        issues.push({ path: [key], message: "must be a YAML object or list", value });
      }
    } else {
      input[key] = value;
    }
  }
  return input;
}

/** Validates a stack's config. Throws `ConfigError` listing every problem, before anything is created. */
export function loadSettings(stack: string, raw: RawConfig): Settings {
  const issues: ConfigIssue[] = [];
  const input = collectInput(raw, issues);
  const parsed = settingsSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    issues.push(...parsed.error.issues.flatMap(fromZodIssue));
    throw new ConfigError(stack, issues);
  }
  const secrets = new Map([...raw].map(([k, v]) => [k, v.secret] as const));
  issues.push(...validateSettings(parsed.data, secrets));
  if (issues.length > 0) throw new ConfigError(stack, issues);
  return parsed.data;
}

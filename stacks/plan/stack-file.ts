/**
 * Reads `Pulumi.yaml` and `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to a program, for
 * runs without the CLI. `secure:` values cannot be decrypted offline (no passphrase, no cloud): they become
 * opaque placeholders that stay Pulumi secrets, so the plan shows where secrets flow but never their values.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse, YAMLError } from "yaml";
import type { RawConfig, RawConfigValue } from "../config/load";
import { PROVIDER_NAMESPACES } from "../config/pulumi-config";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface StackConfig {
  project: string;
  stack: string;
  /** Full keys (`project:key`, `kubernetes:context`) to values as the SDK stores them: strings, objects as JSON. */
  config: Record<string, string>;
  secretKeys: string[];
  /** How the stack file says its secrets are encrypted (Pulumi's top-level `secretsprovider`, `encryptedkey`, `encryptionsalt`). */
  stateSecrets: StateSecrets;
}

/**
 * The secrets settings of a stack file. No `secretsprovider` means the passphrase provider on a self-managed
 * backend (then `encryptionsalt` is set) or Pulumi Cloud's own key; `encryptedkey` is the KMS-encrypted data key
 * Pulumi writes on first use of a cloud provider.
 */
export interface StateSecrets {
  file: string;
  secretsProvider?: string;
  hasEncryptedKey: boolean;
  hasEncryptionSalt: boolean;
}

export function readProjectName(root = REPO_ROOT): string {
  const project = parse(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof project.name !== "string") throw new Error("Pulumi.yaml: name is missing");
  return project.name;
}

export function stackFilePath(stack: string, root = REPO_ROOT): string {
  return path.join(root, "stacks", `Pulumi.${stack}.yaml`);
}

const isSecure = (v: unknown): v is { secure: string } =>
  v !== null && typeof v === "object" && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";

/** Placeholder for a secret the plan cannot decrypt; never a real credential. */
export const SECRET_PLACEHOLDER = "offline-plan-secret";

function containsSecure(v: unknown): boolean {
  if (isSecure(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecure);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsSecure);
  return false;
}

function replaceSecure(v: unknown): unknown {
  if (isSecure(v)) return SECRET_PLACEHOLDER;
  if (Array.isArray(v)) return v.map(replaceSecure);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceSecure(x)]));
  return v;
}

/** Parses YAML, turning a syntax error into a one-line `file:line:col: message` without a stack trace. */
function parseYaml(text: string, file: string): unknown {
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof YAMLError)) throw e;
    const pos = e.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    // The parser's message repeats the position and quotes the source; its first sentence is the cause.
    const cause = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new StackFileError(`${where}: invalid YAML: ${cause}`);
  }
}

/** Parses a stack file's `config:` block; the document text may be given to test crafted configs. */
export function parseStackConfig(stack: string, text: string, project: string, file = `Pulumi.${stack}.yaml`): StackConfig {
  const doc = (parseYaml(text, file) ?? {}) as {
    config?: Record<string, unknown>;
    secretsprovider?: unknown;
    encryptedkey?: unknown;
    encryptionsalt?: unknown;
  };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
    // A bare key belongs to the project, as with `pulumi config set key value`.
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (containsSecure(value)) secretKeys.push(key);
    const plain = replaceSecure(value);
    config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  const stateSecrets: StateSecrets = {
    file,
    secretsProvider: typeof doc.secretsprovider === "string" ? doc.secretsprovider : undefined,
    hasEncryptedKey: typeof doc.encryptedkey === "string" && doc.encryptedkey !== "",
    hasEncryptionSalt: typeof doc.encryptionsalt === "string" && doc.encryptionsalt !== "",
  };
  return { project, stack, config, secretKeys, stateSecrets };
}

/** The stacks that have a file under stacks/. */
export function knownStacks(root = REPO_ROOT): string[] {
  return readdirSync(path.join(root, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function readStackConfigFile(stack: string, root = REPO_ROOT): StackConfig {
  const file = stackFilePath(stack, root);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(
      `No stack file for '${stack}': expected ${path.relative(root, file)} (stacks: ${knownStacks(root).join(", ")})`,
    );
  }
  return parseStackConfig(stack, text, readProjectName(root), path.relative(root, file));
}

/** A stack's config from any file, for this repo's project. */
export function readStackConfigFrom(stack: string, file: string, root = REPO_ROOT): StackConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(`Cannot read config file '${file}' for stack '${stack}'`);
  }
  return parseStackConfig(stack, text, readProjectName(root), file);
}

/**
 * The raw config the settings loader reads, as `readStackConfig` gives it under Pulumi: the project's keys
 * without their prefix, provider keys dropped, any other namespace kept whole so validation names the typo.
 */
export function rawConfigOf(cfg: StackConfig): RawConfig {
  const raw = new Map<string, RawConfigValue>();
  for (const [key, value] of Object.entries(cfg.config)) {
    const secret = cfg.secretKeys.includes(key);
    if (key.startsWith(`${cfg.project}:`)) raw.set(key.slice(cfg.project.length + 1), { value, secret });
    else if (!PROVIDER_NAMESPACES.includes(key.split(":")[0])) raw.set(key, { value, secret });
  }
  return raw;
}

/** The stack file is missing or unreadable: a usage problem, reported without a stack trace. */
export class StackFileError extends Error {
  override name = "StackFileError";
}

/** A problem found in the stack config, located by its path in the settings (e.g. `clusters[1].gpuPools[0].max`). */
export interface ConfigIssue {
  path: readonly (string | number)[];
  message: string;
  /** The offending value, shown as `got ...` when known. */
  value?: unknown;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatIssue(issue: ConfigIssue): string {
  const got = "value" in issue && issue.value !== undefined ? `, got ${show(issue.value)}` : "";
  return `${formatPath(issue.path)}: ${issue.message}${got}`;
}

/** Raised before any resource is created; the message lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(
    readonly stackName: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `Invalid configuration for stack '${stackName}' (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

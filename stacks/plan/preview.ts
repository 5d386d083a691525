/**
 * Pull-request preview without credentials: for every stack, the offline plan of the base branch and the plan
 * of the change diffed against it, rendered as one Markdown comment. Runs in the `pull_request` workflow,
 * which for forks has no secrets and a read-only token, so it only writes files; a separate `workflow_run`
 * workflow posts the comment (.github/workflows/preview-comment.yml).
 *
 * Usage: npx tsx stacks/plan/preview.ts --base <checkout of the base branch> --out <dir> [stack...]
 * Writes <out>/comment.md and <out>/<stack>.diff.txt; exit 0 when every stack planned with all policies
 * passing, 1 otherwise (the comment is written either way).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs, promisify } from "node:util";
import { capacitySummary, renderDiffText, type PlanDiff } from "./diff";
import { REPO_ROOT } from "./stack-file";

/** Finds the comment again on the next push, so it is edited rather than posted twice. */
export const COMMENT_MARKER = "<!-- llm-platform:offline-plan -->";
/** GitHub rejects comments over 65,536 characters; leave room for the header and table. */
export const COMMENT_BUDGET = 60_000;

export interface StackPreview {
  stack: string;
  /** 0 diffed, 2 diffed but a policy fails in the change's plan, anything else the plan's exit code when it failed. */
  code: number;
  /** The diff text (stdout), ending with the one-line summary. */
  diff: string;
  /** stderr of the run: the reason when the plan failed. */
  error: string;
  /** Set when the base branch had no plan for this stack: the diff is then against an empty plan. */
  baseNote?: string;
  /** The change in monthly cost and in each model's replicas at peak, for the table (diff.ts capacitySummary). */
  capacity?: string;
}

function lastLine(text: string): string {
  return (
    text
      .trimEnd()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .at(-1) ?? ""
  );
}

/** The row of the summary table: what a reviewer reads first. */
export function resultOf(p: StackPreview): string {
  if (p.code === 0) return lastLine(p.diff);
  if (p.code === 2) return `:warning: policy failed; ${lastLine(p.diff)}`;
  return `:x: plan failed: ${lastLine(p.error).slice(0, 200) || `exit ${p.code}`}`;
}

/** A code fence longer than any backtick run in the text, so plan output cannot close it early. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text.trimEnd()}\n${fence}`;
}

/** Keeps the first lines that fit in `budget` characters and says how many were left out. */
export function truncate(text: string, budget: number): string {
  if (text.length <= budget) return text;
  const lines = text.split("\n");
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > budget) break;
    kept.push(line);
    used += line.length + 1;
  }
  return `${kept.join("\n")}\n... ${lines.length - kept.length} more lines: see the workflow run's plan artifact`;
}

const escapeCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderComment(previews: readonly StackPreview[], refs: { base: string; head: string }): string {
  const budget = Math.floor(COMMENT_BUDGET / Math.max(1, previews.length));
  const sections = previews.map((p) => {
    const body = p.code === 0 || p.code === 2 ? p.diff : p.error;
    const note = p.baseNote ? `\n${p.baseNote}\n` : "";
    return [
      `<details><summary><b>${p.stack}</b>: ${escapeCell(resultOf(p))}</summary>`,
      note,
      fenced(truncate(body, budget), p.code === 0 || p.code === 2 ? "diff" : "text"),
      "</details>",
    ].join("\n");
  });
  return [
    COMMENT_MARKER,
    "### Offline plan per environment",
    "",
    `Plan of \`${refs.head.slice(0, 12)}\` against the base branch (\`${refs.base.slice(0, 12)}\`), made under Pulumi's mocks: ` +
      "no credentials, no cloud calls, the same policy suite as `pulumi up`. Secret values are masked. " +
      "Cost is the estimate at the pools' min .. max scale; replicas at peak are what each model's traffic target needs (docs/capacity.md).",
    "",
    "| Stack | Result | Cost and capacity |",
    "| --- | --- | --- |",
    ...previews.map((p) => `| ${p.stack} | ${escapeCell(resultOf(p))} | ${escapeCell(p.capacity ?? "-")} |`),
    "",
    ...sections,
    "",
  ].join("\n");
}

const run = promisify(execFile);

async function plan(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "stacks/plan/cli.ts", ...args], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? String(e) };
  }
}

/** Plans one stack on the base checkout and diffs the change's plan against it. */
export async function previewStack(stack: string, baseRoot: string, headRoot: string, out: string): Promise<StackPreview> {
  const basePlan = path.join(out, `${stack}.base.json`);
  const base = await plan(baseRoot, [stack, "--json"]);
  let baseNote: string | undefined;
  // Exit 2 still prints the plan (a policy failed on the base branch); anything else printed none.
  if (base.code === 0 || base.code === 2) writeFileSync(basePlan, base.stdout);
  else {
    baseNote = `No plan of \`${stack}\` on the base branch (${lastLine(base.stderr).slice(0, 200) || `exit ${base.code}`}): every resource shows as added.`;
    writeFileSync(basePlan, JSON.stringify({ stack, resources: [], policies: [] }));
  }
  const head = await plan(headRoot, [stack, "--json", "--diff", basePlan]);
  if (head.code !== 0) {
    writeFileSync(path.join(out, `${stack}.diff.txt`), head.stderr);
    return { stack, code: head.code, diff: "", error: head.stderr, baseNote };
  }
  const diff = JSON.parse(head.stdout) as PlanDiff;
  const text = `${renderDiffText(diff)}\n`;
  writeFileSync(path.join(out, `${stack}.diff.txt`), text);
  return {
    stack,
    code: diff.failing.length > 0 ? 2 : 0,
    diff: text,
    error: head.stderr,
    baseNote,
    capacity: capacitySummary(diff.capacity),
  };
}

/** Every stack with a `stacks/Pulumi.<stack>.yaml` in the checkout, sorted. */
export function stacksIn(root: string): string[] {
  return readdirSync(path.join(root, "stacks"))
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      base: { type: "string" },
      out: { type: "string" },
      "base-sha": { type: "string" },
      "head-sha": { type: "string" },
    },
  });
  if (!values.base || !values.out || !existsSync(path.join(values.base, "stacks"))) {
    process.stderr.write("usage: npx tsx stacks/plan/preview.ts --base <base checkout> --out <dir> [stack...]\n");
    return 64;
  }
  mkdirSync(values.out, { recursive: true });
  const stacks = positionals.length > 0 ? positionals : stacksIn(REPO_ROOT);
  const previews: StackPreview[] = [];
  for (const stack of stacks) {
    const p = await previewStack(stack, path.resolve(values.base), REPO_ROOT, path.resolve(values.out));
    process.stdout.write(`${p.stack}: ${resultOf(p)}\n`);
    previews.push(p);
  }
  const comment = renderComment(previews, { base: values["base-sha"] ?? "base", head: values["head-sha"] ?? "head" });
  writeFileSync(path.join(values.out, "comment.md"), comment);
  return previews.every((p) => p.code === 0) ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`preview failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

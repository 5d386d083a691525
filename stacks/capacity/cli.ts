/**
 * Capacity planner: `npm run --silent capacity -- <stack> [--json] [--config-file <file>] [--table <file>]`
 * prints, for each model with a traffic target, the replicas and GPU nodes its peak takes on each cluster,
 * the monthly cost at that scale and the cost per million tokens, with the throughput rows used. Reads the
 * stack file only: no Pulumi program, no cloud.
 *
 * `--import-bench <bench.json> --gpu <GPU> --model-class <class> [--prompt-tokens N] [--kv-cache-tokens N]
 * [--hardware <text>]` writes a `runtime/bench --json` run into the table as a measured row; `--derive-table`
 * rewrites the derived rows (derive.ts), keeping measured and published ones.
 *
 * Exit codes, as the plan's: 0 every target met; 1 invalid config, table or bench file; 2 a target cannot be
 * met by the stack's bounds (the capacity-meets-target policy fails; the report is still printed); 64 bad usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/issues";
import { loadSettings } from "../config/load";
import { capacityMeetsTarget } from "../policy/rules-capacity";
import { exitWhenFlushed } from "../plan/exit";
import { rawConfigOf, readStackConfigFile, readStackConfigFrom, REPO_ROOT, StackFileError } from "../plan/stack-file";
import { deriveTable } from "./derive";
import { BenchImportError, importBench } from "./import-bench";
import { planCapacity } from "./plan";
import { renderCapacity } from "./render";
import { parseTable, THROUGHPUT, ThroughputTableError, type ThroughputTable } from "./table";

const USAGE = [
  "usage: npm run --silent capacity -- <stack> [--json] [--config-file <Pulumi.<stack>.yaml>] [--table <throughput.json>]",
  "       npm run --silent capacity -- --import-bench <bench.json> --gpu <GPU> --model-class <class> [--prompt-tokens N] [--kv-cache-tokens N] [--hardware <text>] [--table <file>]",
  "       npm run --silent capacity -- --derive-table [--table <file>]",
].join("\n");

export const DEFAULT_TABLE = path.join(REPO_ROOT, "stacks", "capacity", "throughput.json");

class UsageError extends Error {}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ThroughputTableError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ThroughputTableError(`${file}: not JSON (${(e as Error).message})`);
  }
}

/** Writes the table formatted as the repository's prettier config does, so `prettier --check` stays clean. */
async function writeTable(file: string, table: ThroughputTable): Promise<void> {
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(JSON.stringify(table), { ...options, parser: "json" }));
}

const positiveInt = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`--${name} must be a positive whole number, got '${v}'`);
  return Number(v);
};

async function cli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        "config-file": { type: "string" },
        table: { type: "string" },
        "import-bench": { type: "string" },
        gpu: { type: "string" },
        "model-class": { type: "string" },
        "gpus-per-replica": { type: "string" },
        "prompt-tokens": { type: "string" },
        "kv-cache-tokens": { type: "string" },
        hardware: { type: "string" },
        "derive-table": { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const tableFile = v.table ?? DEFAULT_TABLE;
  const loadTable = () => (v.table === undefined ? THROUGHPUT : parseTable(readJson(tableFile, "--table"), tableFile));

  if (v["import-bench"] !== undefined) {
    if (parsed.positionals.length > 0 || !v.gpu || !v["model-class"])
      throw new UsageError("--import-bench needs --gpu and --model-class, and no stack");
    const file = v["import-bench"];
    const { table, row, replaced } = importBench(loadTable(), readJson(file, "--import-bench"), {
      gpu: v.gpu,
      modelClass: v["model-class"],
      gpusPerReplica: positiveInt("gpus-per-replica", v["gpus-per-replica"]) ?? 1,
      promptTokens: positiveInt("prompt-tokens", v["prompt-tokens"]),
      kvCacheTokens: positiveInt("kv-cache-tokens", v["kv-cache-tokens"]),
      hardware: v.hardware,
      file: path.basename(file),
      asOf: new Date().toISOString().slice(0, 10),
    });
    await writeTable(tableFile, table);
    process.stdout.write(
      `${path.relative(process.cwd(), tableFile)}: measured row ${row.gpu}/${row.modelClass} (${row.decode.length} batch sizes) ${replaced ? `replaces the ${replaced.kind} row` : "added"}\n`,
    );
    return 0;
  }
  if (v["derive-table"]) {
    if (parsed.positionals.length > 0) throw new UsageError("--derive-table takes no stack");
    const table = deriveTable(loadTable());
    await writeTable(tableFile, table);
    process.stdout.write(`${path.relative(process.cwd(), tableFile)}: ${table.rows.length} rows\n`);
    return 0;
  }

  const [stack, ...extra] = parsed.positionals;
  if (!stack || extra.length > 0) throw new UsageError(USAGE);
  const configFile = v["config-file"];
  const cfg = configFile ? readStackConfigFrom(stack, configFile) : readStackConfigFile(stack);
  const settings = loadSettings(stack, rawConfigOf(cfg));
  const plan = planCapacity(settings, loadTable());
  const verdict = capacityMeetsTarget.check([], { environment: settings.environment, capacity: plan });
  const notes = capacityMeetsTarget.notes?.([], { environment: settings.environment, capacity: plan }) ?? [];
  if (v.json)
    process.stdout.write(
      `${JSON.stringify({ stack, ...plan, shortfalls: verdict.map((x) => x.message), provisioning: notes }, null, 2)}\n`,
    );
  else {
    const lines = [`Stack ${stack} (environment ${settings.environment})`, ...renderCapacity(plan)];
    if (verdict.length > 0) lines.push("", "Targets not met:", ...verdict.map((x) => `  - ${x.resource}: ${x.message}`));
    if (notes.length > 0) lines.push("", "Provisioning against the target:", ...notes.map((n) => `  - ${n}`));
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return verdict.length > 0 ? 2 : 0;
}

cli(process.argv.slice(2)).then(exitWhenFlushed, (e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message === USAGE ? "" : `${e.message}\n`}${USAGE}\n`);
    exitWhenFlushed(64);
  } else if (
    e instanceof ConfigError ||
    e instanceof StackFileError ||
    e instanceof ThroughputTableError ||
    e instanceof BenchImportError
  ) {
    process.stderr.write(`${e.message}\n`);
    exitWhenFlushed(1);
  } else {
    process.stderr.write(`capacity failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exitWhenFlushed(1);
  }
});

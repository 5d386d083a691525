/**
 * Calibration: a `runtime/bench --json` run on real hardware becomes the `measured` row of its GPU and model
 * class, replacing the derived or published one. Decode rates are the server's generated tokens/s at each
 * concurrency (closed loop through HTTP, so prefill and serving overhead are inside them: a slight
 * underestimate of pure decode, on the safe side). Prefill is measured only when the run's prompt length is
 * known (`--prompt-tokens`, else the document's `prompt_tokens`: time to first token at concurrency 1, less one
 * inter-token gap); otherwise it and the KV-cache room are kept from the row being replaced, and the row says so.
 */
import { z } from "zod";
import { GPU_SPECS, MODEL_CLASSES, type ModelClass } from "./hardware";
import { findRow, rowKey, type ThroughputRow, type ThroughputTable } from "./table";

/** The bench's rows; other fields (a concurrency-16 row, `staggered`, `prefix` objects) are accepted and unused. */
const benchRow = z.looseObject({
  concurrency: z.number().int().min(1),
  server_tokens_per_s: z.number().positive(),
  raw_tokens_per_s: z.number().nonnegative().optional(),
  ratio: z.number().optional(),
  ttft_p50_ms: z.number().nonnegative(),
  itl_p50_ms: z.number().nonnegative().optional(),
});
/**
 * `prompt_tokens`: the run's prompt length, printed by bench versions whose every request has a fresh prompt (no
 * prefix-cache hits), so that the concurrency-1 time to first token is a whole prefill.
 */
const benchDocument = z.looseObject({
  rows: z.array(benchRow).min(1),
  prompt_tokens: z.number().int().positive().optional(),
});

export interface ImportOptions {
  gpu: string;
  modelClass: string;
  gpusPerReplica: number;
  /** Mean prompt tokens of the run: enables the measured prefill rate. */
  promptTokens?: number;
  /** KV-cache room, when no row is being replaced. */
  kvCacheTokens?: number;
  /** Where the run was made (instance type, driver, model build): goes into the row's source. */
  hardware?: string;
  file: string;
  asOf: string;
}

export class BenchImportError extends Error {
  override name = "BenchImportError";
}

export function importBench(
  table: ThroughputTable,
  benchJson: unknown,
  o: ImportOptions,
): { table: ThroughputTable; row: ThroughputRow; replaced: ThroughputRow | undefined } {
  if (!(o.gpu in GPU_SPECS))
    throw new BenchImportError(`--gpu: '${o.gpu}' is not a GPU of the table (${Object.keys(GPU_SPECS).join(", ")})`);
  if (!(MODEL_CLASSES as readonly string[]).includes(o.modelClass))
    throw new BenchImportError(`--model-class: '${o.modelClass}' must be one of ${MODEL_CLASSES.join(", ")}`);
  const modelClass = o.modelClass as ModelClass;
  const parsed = benchDocument.safeParse(benchJson);
  if (!parsed.success)
    throw new BenchImportError(
      `${o.file}: not runtime/bench --json output (${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")})`,
    );
  const rows = [...parsed.data.rows].sort((a, b) => a.concurrency - b.concurrency);
  const dup = rows.find((r, i) => i > 0 && r.concurrency === rows[i - 1].concurrency);
  if (dup) throw new BenchImportError(`${o.file}: concurrency ${dup.concurrency} appears twice`);

  const replaced = findRow(table, o.gpu, modelClass, o.gpusPerReplica);
  const kvCacheTokens = o.kvCacheTokens ?? replaced?.kvCacheTokens;
  if (kvCacheTokens === undefined)
    throw new BenchImportError(
      `--kv-cache-tokens is required: the table has no ${modelClass} row on ${o.gpu} to take the KV-cache room from`,
    );
  const kept: string[] = [];
  let prefill: number;
  const c1 = rows.find((r) => r.concurrency === 1);
  const promptTokens = o.promptTokens ?? parsed.data.prompt_tokens;
  if (promptTokens !== undefined) {
    const from = o.promptTokens !== undefined ? "--prompt-tokens" : `prompt_tokens in ${o.file}`;
    if (!c1) throw new BenchImportError(`${from} needs a concurrency-1 row in ${o.file} (its time to first token)`);
    const seconds = (c1.ttft_p50_ms - (c1.itl_p50_ms ?? 0)) / 1000;
    if (seconds <= 0) throw new BenchImportError(`${o.file}: concurrency 1 has no time to first token beyond one token gap`);
    prefill = Math.round((promptTokens / seconds) * 10) / 10;
  } else if (replaced) {
    prefill = replaced.prefillTokensPerSecond;
    kept.push(`prefill from the ${replaced.kind} row it replaces`);
  } else throw new BenchImportError("--prompt-tokens is required: there is no row to keep the prefill rate from");
  if (o.kvCacheTokens === undefined) kept.push(`KV-cache room from the ${replaced?.kind} row it replaces`);

  const row: ThroughputRow = {
    gpu: o.gpu,
    modelClass,
    gpusPerReplica: o.gpusPerReplica,
    decode: rows.map((r) => ({ batch: r.concurrency, tokensPerSecond: r.server_tokens_per_s })),
    prefillTokensPerSecond: prefill,
    kvCacheTokens,
    kind: "measured",
    asOf: o.asOf,
    source: `runtime/bench --json (${o.file})${o.hardware ? ` on ${o.hardware}` : ""}, imported ${o.asOf}`,
    note: [replaced ? `replaces the ${replaced.kind} row (${replaced.source})` : "new row", ...kept].join("; "),
  };
  const key = rowKey(row);
  const next = replaced ? table.rows.map((r) => (rowKey(r) === key ? row : r)) : [...table.rows, row];
  return { table: { ...table, rows: next }, row, replaced };
}

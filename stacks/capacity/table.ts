/**
 * The throughput table (throughput.json): per GPU type and model size class, decode tokens/s of one replica at
 * several batch sizes, prefill tokens/s, and the KV-cache room. Every row says where its numbers come from:
 * `derived` (a stated roofline over datasheet figures, derive.ts), `published` (a cited benchmark) or
 * `measured` (this project's benchmark on real hardware, imported with --import-bench; these replace the
 * others). Lookups interpolate between batch sizes and never extrapolate past the last one.
 */
import { z } from "zod";
import { MODEL_CLASSES, type ModelClass } from "./hardware";
import TABLE_FILE from "./throughput.json";

const isoDate = z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, { error: "must be a date such as 2026-12-04" });

const decodePoint = z.strictObject({
  batch: z.number().int().min(1),
  tokensPerSecond: z.number().positive(),
});

export const rowSchema = z.strictObject({
  gpu: z.string().min(1),
  modelClass: z.enum(MODEL_CLASSES),
  gpusPerReplica: z.number().int().min(1).max(8),
  /** Generated tokens/s of one replica with `batch` sequences decoding together, ascending by batch. */
  decode: z.array(decodePoint).min(1),
  prefillTokensPerSecond: z.number().positive(),
  /** Tokens of context the KV cache holds once the weights are loaded: caps sequences x context length. */
  kvCacheTokens: z.number().int().min(1),
  kind: z.enum(["derived", "published", "measured"]),
  asOf: isoDate,
  source: z.string().min(1),
  note: z.string().optional(),
});
export type ThroughputRow = z.infer<typeof rowSchema>;

export const tableSchema = z.strictObject({
  asOf: isoDate,
  engine: z.string().min(1),
  /** Context length (prompt + generated so far) the derived decode rates assume for each sequence. */
  referenceContextTokens: z.number().int().min(1),
  /** Assumptions of the derived rows (derive.ts): see docs/capacity.md. */
  derivation: z.strictObject({
    decodeBandwidthEfficiency: z.number().positive().max(1),
    computeEfficiency: z.number().positive().max(1),
    usableMemoryFraction: z.number().positive().max(1),
    batches: z.array(z.number().int().min(1)).min(1),
  }),
  method: z.string().min(1),
  rows: z.array(rowSchema),
});
export type ThroughputTable = z.infer<typeof tableSchema>;

export class ThroughputTableError extends Error {
  override name = "ThroughputTableError";
}

/** Parses and checks a table: batches ascending, one row per GPU, class and GPUs per replica. */
export function parseTable(value: unknown, source: string): ThroughputTable {
  const parsed = tableSchema.safeParse(value);
  if (!parsed.success)
    throw new ThroughputTableError(
      `${source}: not a throughput table (${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")})`,
    );
  const seen = new Set<string>();
  for (const [i, r] of parsed.data.rows.entries()) {
    const key = rowKey(r);
    if (seen.has(key)) throw new ThroughputTableError(`${source}: rows[${i}] repeats ${key}`);
    seen.add(key);
    if (r.decode.some((p, j) => j > 0 && p.batch <= r.decode[j - 1].batch))
      throw new ThroughputTableError(`${source}: rows[${i}] (${key}) decode batches must ascend`);
  }
  return parsed.data;
}

export const rowKey = (r: Pick<ThroughputRow, "gpu" | "modelClass" | "gpusPerReplica">) =>
  `${r.gpu}/${r.modelClass}/${r.gpusPerReplica}gpu`;

export const THROUGHPUT: ThroughputTable = parseTable(TABLE_FILE, "stacks/capacity/throughput.json");

export function findRow(
  table: ThroughputTable,
  gpu: string,
  modelClass: ModelClass,
  gpusPerReplica: number,
): ThroughputRow | undefined {
  return table.rows.find((r) => r.gpu === gpu && r.modelClass === modelClass && r.gpusPerReplica === gpusPerReplica);
}

/**
 * Decode tokens/s of a replica with `batch` sequences: linear between table points, the first point's
 * per-sequence rate below it, and no more than the last point above it (a larger batch is assumed to gain
 * nothing, the conservative reading of a table that stops there).
 */
export function decodeTokensPerSecond(row: ThroughputRow, batch: number): number {
  const pts = row.decode;
  if (batch <= pts[0].batch) return (pts[0].tokensPerSecond * batch) / pts[0].batch;
  for (let i = 1; i < pts.length; i++) {
    const [a, b] = [pts[i - 1], pts[i]];
    if (batch <= b.batch)
      return a.tokensPerSecond + ((b.tokensPerSecond - a.tokensPerSecond) * (batch - a.batch)) / (b.batch - a.batch);
  }
  return pts[pts.length - 1].tokensPerSecond;
}

/** Seconds of one decode step with `batch` sequences: each of them gets one token. */
export function stepSeconds(row: ThroughputRow, batch: number): number {
  return batch / decodeTokensPerSecond(row, batch);
}

/** The largest batch (up to `limit`) whose step is no longer than `seconds`, or 0 when even one sequence is slower. */
export function largestBatchWithin(row: ThroughputRow, seconds: number, limit: number): number {
  let best = 0;
  for (let b = 1; b <= limit; b++) if (stepSeconds(row, b) <= seconds) best = b;
  return best;
}

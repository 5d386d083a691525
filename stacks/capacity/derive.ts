/**
 * The derived rows of the throughput table: a roofline over datasheet figures (hardware.ts), with the
 * efficiencies stated in the table header. Decode streams every weight once per step plus each sequence's KV
 * cache at the reference context, so a step costs max(bytes / (bandwidth x efficiency), FLOPs / (peak x
 * efficiency)); prefill is compute-bound at 2 FLOPs per weight per token. `npm run --silent capacity --
 * --derive-table` rewrites throughput.json from this, keeping measured and published rows.
 */
import {
  GPU_SPECS,
  GPU_SPECS_AS_OF,
  kvBytesPerToken,
  MODEL_CLASSES,
  MODEL_SHAPES,
  residentWeightBytes,
  streamedWeightBytes,
  type ModelClass,
} from "./hardware";
import { rowKey, type ThroughputRow, type ThroughputTable } from "./table";

export type Derivation = ThroughputTable["derivation"];

const round1 = (n: number) => Math.round(n * 10) / 10;

/** One GPU per replica: the runtime serves a model on one device (ONNX Runtime GenAI has no tensor parallelism). */
export function deriveRow(
  gpu: string,
  modelClass: ModelClass,
  d: Derivation,
  referenceContextTokens: number,
): ThroughputRow | undefined {
  const g = GPU_SPECS[gpu];
  const m = MODEL_SHAPES[modelClass];
  const kvBudget = g.memoryGB * 1e9 * d.usableMemoryFraction - residentWeightBytes(m);
  const kvCacheTokens = Math.floor(kvBudget / kvBytesPerToken(m));
  // Not even one sequence at the reference context fits next to the weights: no row, the class does not fit.
  if (kvCacheTokens < referenceContextTokens) return undefined;
  const bandwidth = g.bandwidthGBs * 1e9 * d.decodeBandwidthEfficiency;
  const flops = g.fp16Tflops * 1e12 * d.computeEfficiency;
  const matmulParams = m.params - m.vocab * m.hidden;
  const step = (batch: number) =>
    Math.max(
      (streamedWeightBytes(m) + batch * referenceContextTokens * kvBytesPerToken(m)) / bandwidth,
      (2 * matmulParams * batch) / flops,
    );
  const decode = d.batches
    .filter((b) => b * referenceContextTokens <= kvCacheTokens)
    .map((batch) => ({ batch, tokensPerSecond: round1(batch / step(batch)) }));
  return {
    gpu,
    modelClass,
    gpusPerReplica: 1,
    decode,
    prefillTokensPerSecond: round1(flops / (2 * matmulParams)),
    kvCacheTokens,
    kind: "derived",
    asOf: GPU_SPECS_AS_OF,
    source: `roofline (derive.ts) over ${g.source} (${g.bandwidthGBs} GB/s, ${g.fp16Tflops} dense FP16 TFLOPS, ${g.memoryGB} GB) and ${m.source}`,
  };
}

/** Every derived row, GPUs in catalog order; rows measured or published already in `table` are kept instead. */
export function deriveTable(table: ThroughputTable): ThroughputTable {
  const kept = new Map(table.rows.filter((r) => r.kind !== "derived").map((r) => [rowKey(r), r] as const));
  const rows: ThroughputRow[] = [];
  for (const gpu of Object.keys(GPU_SPECS))
    for (const cls of MODEL_CLASSES) {
      const derived = deriveRow(gpu, cls, table.derivation, table.referenceContextTokens);
      if (!derived) continue;
      rows.push(kept.get(rowKey(derived)) ?? derived);
      kept.delete(rowKey(derived));
    }
  return { ...table, asOf: GPU_SPECS_AS_OF, rows: [...rows, ...kept.values()] };
}

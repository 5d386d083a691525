/** Calibration from a runtime/bench --json run: the measured row replaces the derived one and says so. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BenchImportError, importBench } from "../../../../stacks/capacity/import-bench";
import { findRow, rowKey, THROUGHPUT } from "../../../../stacks/capacity/table";

/** A bench document as runtime/bench --json prints it, with the optional extras another change adds. */
const bench = {
  rows: [
    {
      concurrency: 8,
      server_tokens_per_s: 510.2,
      raw_tokens_per_s: 560,
      ratio: 0.91,
      ttft_p50_ms: 95,
      ttft_p95_ms: 140,
      raw_ttft_p50_ms: 90,
      itl_p50_ms: 15.1,
    },
    {
      concurrency: 1,
      server_tokens_per_s: 80.5,
      raw_tokens_per_s: 82,
      ratio: 0.98,
      ttft_p50_ms: 72,
      ttft_p95_ms: 80,
      raw_ttft_p50_ms: 70,
      itl_p50_ms: 12,
    },
    {
      concurrency: 4,
      server_tokens_per_s: 290,
      raw_tokens_per_s: 300,
      ratio: 0.97,
      ttft_p50_ms: 80,
      ttft_p95_ms: 99,
      raw_ttft_p50_ms: 75,
      itl_p50_ms: 13,
    },
    {
      concurrency: 16,
      server_tokens_per_s: 850,
      raw_tokens_per_s: 900,
      ratio: 0.94,
      ttft_p50_ms: 150,
      ttft_p95_ms: 230,
      raw_ttft_p50_ms: 120,
      itl_p50_ms: 18,
    },
  ],
  staggered: { concurrency: 4, server_tokens_per_s: 270 },
  prefix: { hit_ratio: 0.8 },
};
const opts = { gpu: "L40S", modelClass: "8b-int4", gpusPerReplica: 1, file: "bench.json", asOf: "2026-12-04" };

describe("importBench", () => {
  test("replaces the derived row in place with the server's tokens/s per concurrency, keeping prefill and KV room", () => {
    const derived = findRow(THROUGHPUT, "L40S", "8b-int4", 1)!;
    const { table, row, replaced } = importBench(THROUGHPUT, bench, { ...opts, hardware: "g6e.2xlarge" });
    assert.equal(replaced, derived);
    assert.deepEqual(row.decode, [
      { batch: 1, tokensPerSecond: 80.5 },
      { batch: 4, tokensPerSecond: 290 },
      { batch: 8, tokensPerSecond: 510.2 },
      { batch: 16, tokensPerSecond: 850 },
    ]);
    assert.equal(row.kind, "measured");
    assert.equal(row.prefillTokensPerSecond, derived.prefillTokensPerSecond);
    assert.equal(row.kvCacheTokens, derived.kvCacheTokens);
    assert.equal(row.source, "runtime/bench --json (bench.json) on g6e.2xlarge, imported 2026-12-04");
    assert.match(
      row.note ?? "",
      /^replaces the derived row \(roofline .*\); prefill from the derived row it replaces; KV-cache room from the derived row it replaces$/,
    );
    assert.deepEqual(table.rows.map(rowKey), THROUGHPUT.rows.map(rowKey));
    assert.equal(findRow(table, "L40S", "8b-int4", 1), row);
  });

  test("measures prefill from time to first token at concurrency 1 when the prompt length is given", () => {
    const { row } = importBench(THROUGHPUT, bench, { ...opts, promptTokens: 600 });
    // 600 tokens in (72 - 12) ms.
    assert.equal(row.prefillTokensPerSecond, 10000);
  });

  test("takes the prompt length from the document's prompt_tokens; --prompt-tokens overrides it", () => {
    assert.equal(importBench(THROUGHPUT, { ...bench, prompt_tokens: 300 }, opts).row.prefillTokensPerSecond, 5000);
    const { row } = importBench(THROUGHPUT, { ...bench, prompt_tokens: 300 }, { ...opts, promptTokens: 600 });
    assert.equal(row.prefillTokensPerSecond, 10000);
    assert.doesNotMatch(row.note ?? "", /prefill from/);
  });

  test("rejects what it cannot use, naming the option or the file", () => {
    const fails = (b: unknown, o: Partial<typeof opts> & { promptTokens?: number }, re: RegExp) =>
      assert.throws(
        () => importBench(THROUGHPUT, b, { ...opts, ...o }),
        (e: unknown) => e instanceof BenchImportError && re.test(e.message),
      );
    fails(bench, { gpu: "RTX4090" }, /^--gpu: 'RTX4090' is not a GPU of the table/);
    fails(bench, { modelClass: "13b" }, /^--model-class: '13b' must be one of 8b-int4, 8b-fp16, 70b-int4, 70b-fp16$/);
    fails({ rows: [{ concurrency: 1 }] }, {}, /^bench\.json: not runtime\/bench --json output \(rows\.0\.server_tokens_per_s: /);
    fails({ rows: [bench.rows[1], bench.rows[1]] }, {}, /^bench\.json: concurrency 1 appears twice$/);
    fails({ rows: [bench.rows[0]] }, { promptTokens: 600 }, /--prompt-tokens needs a concurrency-1 row/);
    fails({ rows: [bench.rows[0]], prompt_tokens: 42 }, {}, /^prompt_tokens in bench\.json needs a concurrency-1 row/);
    fails({ ...bench, prompt_tokens: 0 }, {}, /^bench\.json: not runtime\/bench --json output \(prompt_tokens: /);
    fails(bench, { gpu: "T4", modelClass: "8b-fp16" }, /^--kv-cache-tokens is required/);
  });
});

/** The committed throughput table: every number traceable, every catalog GPU covered, lookups conservative. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AZURE_GPU_VM_SIZES, EC2_GPU_INSTANCE_TYPES, gpuOfMachine } from "../../../../stacks/config/cloud-catalog";
import { deriveRow, deriveTable } from "../../../../stacks/capacity/derive";
import { GPU_SPECS, MODEL_CLASSES } from "../../../../stacks/capacity/hardware";
import {
  decodeTokensPerSecond,
  largestBatchWithin,
  parseTable,
  rowKey,
  stepSeconds,
  THROUGHPUT,
  ThroughputTableError,
} from "../../../../stacks/capacity/table";

describe("throughput.json", () => {
  test("every derived row is exactly what derive.ts computes from the cited datasheets (no hand-edited numbers)", () => {
    for (const r of THROUGHPUT.rows.filter((x) => x.kind === "derived"))
      assert.deepEqual(r, deriveRow(r.gpu, r.modelClass, THROUGHPUT.derivation, THROUGHPUT.referenceContextTokens), rowKey(r));
  });

  test("is up to date: deriving again changes nothing (run `npm run --silent capacity -- --derive-table` after editing hardware.ts)", () => {
    assert.deepEqual(deriveTable(THROUGHPUT).rows.map(rowKey), THROUGHPUT.rows.map(rowKey));
  });

  test("every row cites a source and a date; measured and published rows say what they are", () => {
    for (const r of THROUGHPUT.rows) {
      assert.match(r.source, /https:\/\/|runtime\/bench/, rowKey(r));
      assert.match(r.asOf, /^\d{4}-\d{2}-\d{2}$/);
    }
  });

  test("every GPU of the cloud catalog's machine types has datasheet figures, and a row wherever a class fits its memory", () => {
    const machines = [...Object.keys(EC2_GPU_INSTANCE_TYPES), ...Object.keys(AZURE_GPU_VM_SIZES)];
    for (const m of machines) {
      const gpu = gpuOfMachine(m);
      assert.ok(gpu && gpu in GPU_SPECS, `${m} -> ${gpu}`);
      for (const cls of MODEL_CLASSES) {
        const fits: boolean = deriveRow(gpu, cls, THROUGHPUT.derivation, THROUGHPUT.referenceContextTokens) !== undefined;
        assert.equal(
          THROUGHPUT.rows.some((r) => r.gpu === gpu && r.modelClass === cls),
          fits,
          `${gpu}/${cls}`,
        );
      }
    }
    assert.equal(gpuOfMachine("m7i.large"), undefined);
    assert.equal(gpuOfMachine("Standard_D4ds_v5"), undefined);
  });

  test("the classes that do not fit are left out: 8B FP16 on a 16 GB T4, 70B FP16 on anything but B200", () => {
    assert.equal(deriveRow("T4", "8b-fp16", THROUGHPUT.derivation, 1024), undefined);
    assert.deepEqual(
      THROUGHPUT.rows.filter((r) => r.modelClass === "70b-fp16").map((r) => r.gpu),
      ["B200"],
    );
  });
});

describe("lookups", () => {
  const row = THROUGHPUT.rows.find((r) => r.gpu === "L40S" && r.modelClass === "8b-int4")!;

  test("interpolate between batch sizes and never extrapolate past the last one", () => {
    const [p4, p8] = [row.decode.find((p) => p.batch === 4)!, row.decode.find((p) => p.batch === 8)!];
    assert.equal(decodeTokensPerSecond(row, 6), (p4.tokensPerSecond + p8.tokensPerSecond) / 2);
    const last = row.decode[row.decode.length - 1];
    assert.equal(decodeTokensPerSecond(row, last.batch * 2), last.tokensPerSecond);
    assert.equal(stepSeconds(row, last.batch * 2), (last.batch * 2) / last.tokensPerSecond);
  });

  test("find the largest batch within a step time", () => {
    const b = largestBatchWithin(row, 0.02, 64);
    assert.ok(stepSeconds(row, b) <= 0.02 && stepSeconds(row, b + 1) > 0.02, String(b));
    assert.equal(largestBatchWithin(row, 0.001, 64), 0);
  });
});

describe("parseTable", () => {
  test("rejects a malformed table naming the file and the field", () => {
    assert.throws(
      () => parseTable({ ...THROUGHPUT, rows: [{ ...THROUGHPUT.rows[0], prefillTokensPerSecond: -1 }] }, "t.json"),
      (e: unknown) =>
        e instanceof ThroughputTableError &&
        /^t\.json: not a throughput table \(rows\.0\.prefillTokensPerSecond: /.test(e.message),
    );
  });

  test("rejects repeated rows and batches out of order", () => {
    const r = THROUGHPUT.rows[0];
    assert.throws(() => parseTable({ ...THROUGHPUT, rows: [r, r] }, "t.json"), /rows\[1\] repeats T4\/8b-int4\/1gpu/);
    const shuffled = { ...r, decode: [...r.decode].reverse() };
    assert.throws(() => parseTable({ ...THROUGHPUT, rows: [shuffled] }, "t.json"), /decode batches must ascend/);
  });
});

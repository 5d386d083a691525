/** The replica sizing: its properties over random targets, and the reasons it gives when a target is out of reach. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { operatingPoint, sizeReplicas, type SizingInput } from "../../../../stacks/capacity/sizing";
import { findRow, THROUGHPUT, type ThroughputRow } from "../../../../stacks/capacity/table";

const row = (gpu: string, cls: "8b-int4" | "8b-fp16" | "70b-int4" | "70b-fp16"): ThroughputRow => {
  const r = findRow(THROUGHPUT, gpu, cls, 1);
  assert.ok(r, `${gpu}/${cls} is in the table`);
  return r;
};

const ROWS = [row("L40S", "8b-int4"), row("L4", "8b-fp16"), row("A100-80GB-PCIe", "8b-int4"), row("H100-SXM", "70b-int4")];

/** Targets every row can reach at some replica count: objectives above one replica's floor. */
const target = fc.record({
  row: fc.constantFrom(...ROWS),
  requestsPerSecond: fc.double({ min: 0.05, max: 60, noNaN: true }),
  promptTokens: fc.integer({ min: 16, max: 2000 }),
  completionTokens: fc.integer({ min: 16, max: 800 }),
  ttftP95Seconds: fc.double({ min: 0.6, max: 5, noNaN: true }),
  interTokenLatencySeconds: fc.double({ min: 0.12, max: 0.5, noNaN: true }),
  maxConcurrent: fc.integer({ min: 1, max: 32 }),
  targetQueueDepth: fc.integer({ min: 1, max: 16 }),
  minReplicas: fc.integer({ min: 0, max: 4 }),
});

/** The sizing of a reachable target; unreachable ones (a floor above an objective) are skipped by fc.pre. */
const ok = (inp: SizingInput) => {
  const s = sizeReplicas(inp);
  fc.pre(s.ok);
  return s as Extract<typeof s, { ok: true }>;
};

describe("sizeReplicas", () => {
  test("meets both objectives at the count it returns, and not with one replica fewer (property)", () => {
    fc.assert(
      fc.property(target, (inp) => {
        const s = ok(inp);
        const at = operatingPoint(inp, s.slots, s.forObjectives);
        const meets = (o: typeof at) =>
          o.ttftP95Seconds <= inp.ttftP95Seconds && o.interTokenLatencySeconds <= inp.interTokenLatencySeconds;
        return (
          meets(at) && meets(s.operating) && (s.forObjectives === 1 || !meets(operatingPoint(inp, s.slots, s.forObjectives - 1)))
        );
      }),
      { numRuns: 150 },
    );
  });

  test("is monotonic in traffic: more requests never take fewer replicas (property)", () => {
    fc.assert(
      fc.property(target, fc.double({ min: 1, max: 4, noNaN: true }), (inp, factor) => {
        const [low, high] = [ok(inp), ok({ ...inp, requestsPerSecond: inp.requestsPerSecond * factor })];
        return high.forObjectives >= low.forObjectives && high.atPeak >= low.atPeak;
      }),
      { numRuns: 150 },
    );
  });

  test("never takes fewer replicas for a tighter objective (property)", () => {
    fc.assert(
      fc.property(
        target,
        fc.double({ min: 0.5, max: 1, noNaN: true }),
        fc.double({ min: 0.5, max: 1, noNaN: true }),
        (inp, t, i) => {
          const tighter = {
            ...inp,
            ttftP95Seconds: inp.ttftP95Seconds * t,
            interTokenLatencySeconds: inp.interTokenLatencySeconds * i,
          };
          const loose = ok(inp);
          const tight = sizeReplicas(tighter);
          // A tighter objective may become unreachable; when it is reachable it never needs fewer replicas.
          return !tight.ok || (tight.forObjectives >= loose.forObjectives && tight.atPeak >= loose.atPeak);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("runs at least replicas.min and what KEDA's running trigger asks for at peak (property)", () => {
    fc.assert(
      fc.property(target, (inp) => {
        const s = ok(inp);
        const runningTarget = Math.max(1, Math.floor(inp.maxConcurrent * 0.75));
        return (
          s.atPeak >= inp.minReplicas && s.atPeak >= s.forObjectives && s.atPeak * runningTarget >= s.operating.running - 1e-6
        );
      }),
      { numRuns: 150 },
    );
  });
});

describe("targets out of reach", () => {
  const base: SizingInput = {
    row: row("L40S", "8b-int4"),
    requestsPerSecond: 8,
    promptTokens: 600,
    completionTokens: 250,
    ttftP95Seconds: 1,
    interTokenLatencySeconds: 0.05,
    maxConcurrent: 8,
    targetQueueDepth: 4,
    minReplicas: 2,
  };

  test("an inter-token objective one decode step cannot meet names the step and the batch that would", () => {
    const s = sizeReplicas({ ...base, maxConcurrent: 64, interTokenLatencySeconds: 0.02 });
    assert.equal(s.ok, false);
    assert.match(
      s.ok ? "" : s.reason,
      /^interTokenLatencySeconds 0\.02 is unreachable at 64 concurrent sequences per replica on L40S: one decode step takes 30 ms; maxConcurrent \d+ or less meets it$/,
    );
  });

  test("a prompt whose prefill alone exceeds the TTFT objective says so", () => {
    const s = sizeReplicas({ ...base, promptTokens: 20_000, completionTokens: 10, ttftP95Seconds: 1 });
    assert.equal(s.ok, false);
    assert.match(
      s.ok ? "" : s.reason,
      /^ttftP95Seconds 1 is unreachable on L40S: prefilling 20000 prompt tokens alone takes 2\.07 s$/,
    );
  });

  test("a context longer than the KV cache holds says so", () => {
    const s = sizeReplicas({
      ...base,
      row: row("L40S", "70b-int4"),
      promptTokens: 6000,
      completionTokens: 500,
      ttftP95Seconds: 60,
    });
    assert.equal(s.ok, false);
    assert.match(
      s.ok ? "" : s.reason,
      /^one sequence of 6500 tokens \(prompt \+ completion\) does not fit the KV cache \(6033 tokens on L40S\)$/,
    );
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { cpuMillis, formatCpu, formatMemory, memoryMi } from "../../../../components/security/quantity";

test("CPU quantities round-trip through millicores", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 512_000 }), (m) => cpuMillis(formatCpu(m)) === m));
  assert.equal(cpuMillis("1.5"), 1500);
  assert.equal(cpuMillis("500m"), 500);
});

test("memory quantities convert to MiB and back", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), (mi) => memoryMi(formatMemory(mi)) === mi));
  assert.equal(memoryMi("24Gi"), 24 * 1024);
  assert.equal(formatMemory(2048), "2Gi");
});

test("rejects what is not a quantity, naming the value", () => {
  assert.throws(() => cpuMillis("2 cores"), /'2 cores' is not a CPU quantity/);
  assert.throws(() => memoryMi("24GB"), /'24GB' is not a memory quantity/);
});

/** Erlang C against its textbook form, and the properties the sizing relies on. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { erlangC, meanQueueLength, waitQuantile } from "../../../../stacks/capacity/queue";

/** C(c, a) from its defining sums (fine for small c), to check the recurrence against. */
function erlangCBySums(c: number, a: number): number {
  let sum = 0;
  let term = 1; // a^k / k!
  for (let k = 0; k < c; k++) {
    sum += term;
    term = (term * a) / (k + 1);
  }
  const top = term * (c / (c - a)); // a^c / c! * c / (c - a)
  return top / (sum + top);
}

test("matches the textbook values: C(1, a) = a, C(2, 1) = 1/3", () => {
  assert.ok(Math.abs(erlangC(1, 0.7) - 0.7) < 1e-12);
  assert.ok(Math.abs(erlangC(2, 1) - 1 / 3) < 1e-12);
});

test("equals the defining sums for up to 60 servers (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (c, rho) => {
      const a = c * rho;
      return Math.abs(erlangC(c, a) - erlangCBySums(c, a)) < 1e-9;
    }),
  );
});

test("waiting grows with load and shrinks with servers (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 400 }),
      fc.double({ min: 0.05, max: 0.95, noNaN: true }),
      fc.double({ min: 0.001, max: 0.04, noNaN: true }),
      (c, rho, step) => {
        const a = c * rho;
        return erlangC(c, a) <= erlangC(c, a + step * c) + 1e-12 && erlangC(c + 1, a) <= erlangC(c, a) + 1e-12;
      },
    ),
  );
});

test("the wait quantile is 0 when few wait, finite when stable and Infinity when not", () => {
  assert.equal(waitQuantile(100, 1, 1, 0.95), 0);
  // c = 2, lambda = 1.5, hold 1 s: C = 0.6429, P(W > t) = C e^{-(2 - 1.5) t}, so t95 = ln(C / 0.05) / 0.5.
  const c = erlangC(2, 1.5);
  assert.ok(Math.abs(waitQuantile(2, 1.5, 1, 0.95) - Math.log(c / 0.05) / 0.5) < 1e-12);
  assert.equal(waitQuantile(2, 2, 1, 0.95), Infinity);
  assert.equal(meanQueueLength(2, 2), Infinity);
  // Lq = C a / (c - a).
  assert.ok(Math.abs(meanQueueLength(2, 1.5) - (c * 1.5) / 0.5) < 1e-12);
});

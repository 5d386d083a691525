/**
 * Erlang C (M/M/c): Poisson arrivals, exponential holding times, c servers. Here a server is one batch slot of
 * one replica (the runtime's `maxConcurrent`), so c = replicas x slots. Chosen over M/D/c because completion
 * lengths vary (an exponential holding time is the conservative reading of a mean), and because it has a
 * closed-form waiting-time tail: P(W > t) = C(c, a) e^{-(c mu - lambda) t}.
 */

/** Probability that an arrival waits, C(c, a), for offered load a = lambda / mu (in busy servers); 1 when a >= c. */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= c) return 1;
  // Erlang B by its recurrence (stable for thousands of servers), then C from B.
  let b = 1;
  for (let k = 1; k <= c; k++) {
    b = (a * b) / (k + a * b);
    // Past k > a, B only falls: stopping early overstates C by less than this, on the safe side.
    if (k > a && b < 1e-12) break;
  }
  return (c * b) / (c - a * (1 - b));
}

/** Mean number waiting (Lq) in M/M/c; Infinity when unstable. */
export function meanQueueLength(c: number, a: number): number {
  if (a >= c) return Infinity;
  return (erlangC(c, a) * a) / (c - a);
}

/**
 * The q-quantile of the waiting time (seconds) for arrival rate `lambda` (per second), `c` servers and mean
 * holding time `holdSeconds`; Infinity when the servers cannot keep up.
 */
export function waitQuantile(c: number, lambda: number, holdSeconds: number, q: number): number {
  const a = lambda * holdSeconds;
  if (a >= c) return Infinity;
  const p = erlangC(c, a);
  if (p <= 1 - q) return 0;
  return Math.log(p / (1 - q)) / (c / holdSeconds - lambda);
}

/**
 * How many replicas of one model a traffic target needs on one GPU type, and what the autoscaler adds.
 *
 * A replica decodes up to `slots` sequences together (the runtime's `maxConcurrent`, fewer if their context
 * does not fit the KV cache). Each step is costed at the full batch (conservative: a half-empty batch steps
 * faster). Prefill of new prompts takes the GPU away from decoding for a fraction f = (arrivals per replica) x
 * (prefill seconds per prompt), so decode runs at 1 / (1 - f) of its step time. A request holds its slot for
 * prefill + completion x inter-token latency; slots are the servers of an M/M/c queue (queue.ts), whose
 * waiting-time tail gives the p95 time to first token = p95 wait + prefill + one step.
 */
import { runningTarget } from "../../components/autoscaling/keda";
import { meanQueueLength, waitQuantile } from "./queue";
import { decodeTokensPerSecond, largestBatchWithin, stepSeconds, type ThroughputRow } from "./table";

export interface SizingInput {
  row: ThroughputRow;
  requestsPerSecond: number;
  promptTokens: number;
  completionTokens: number;
  ttftP95Seconds: number;
  interTokenLatencySeconds: number;
  /** The runtime's concurrent generations per replica (`models[].maxConcurrent`). */
  maxConcurrent: number;
  /** KEDA's waiting-requests target per replica (`models[].targetQueueDepth`). */
  targetQueueDepth: number;
  minReplicas: number;
}

/** What `replicas` replicas deliver under the target's traffic. */
export interface Operating {
  replicas: number;
  ttftP95Seconds: number;
  interTokenLatencySeconds: number;
  /** Busy slots over all slots. */
  utilization: number;
  /** Mean generations running over all replicas (what KEDA's running trigger sums). */
  running: number;
  /** Mean requests waiting over all replicas (what KEDA's waiting trigger sums). */
  waiting: number;
}

export type Sizing =
  | {
      ok: true;
      /** Sequences one replica decodes together. */
      slots: number;
      prefillSeconds: number;
      decodeTokensPerSecond: number;
      /** Fewest replicas that meet both objectives. */
      forObjectives: number;
      /** Replicas the autoscaler runs at that traffic: at least `forObjectives`, `minReplicas`, and what its triggers ask for. */
      atPeak: number;
      /** Why `atPeak` exceeds `forObjectives`, when it does. */
      headroom: string | null;
      operating: Operating;
    }
  | { ok: false; reason: string };

/** Upper bound of the search: far above any pool (replicas.max is at most 100), enough to say by how much. */
export const MAX_REPLICAS = 100_000;

const fmt = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${Math.round(s * 100) / 100} s`);

export function operatingPoint(inp: SizingInput, slots: number, replicas: number): Operating {
  const prefill = inp.promptTokens / inp.row.prefillTokensPerSecond;
  const busyPrefill = (inp.requestsPerSecond / replicas) * prefill;
  const unstable = {
    replicas,
    ttftP95Seconds: Infinity,
    interTokenLatencySeconds: Infinity,
    utilization: Infinity,
    running: Infinity,
    waiting: Infinity,
  };
  if (busyPrefill >= 1) return unstable;
  const itl = stepSeconds(inp.row, slots) / (1 - busyPrefill);
  const hold = prefill + inp.completionTokens * itl;
  const servers = replicas * slots;
  const running = inp.requestsPerSecond * hold;
  if (running >= servers) return unstable;
  return {
    replicas,
    ttftP95Seconds: waitQuantile(servers, inp.requestsPerSecond, hold, 0.95) + prefill + itl,
    interTokenLatencySeconds: itl,
    utilization: running / servers,
    running,
    waiting: meanQueueLength(servers, running),
  };
}

/**
 * Least n in [lo, hi] with ok(n), for ok monotone (false..true); undefined when ok(hi) is false. Probes lo,
 * lo+1, lo+3, lo+7, ... first, so the answer costs about 2 log2(n - lo) calls however far away hi is.
 */
function leastTrue(lo: number, hi: number, ok: (n: number) => boolean): number | undefined {
  let step = 1;
  while (lo < hi && !ok(lo)) {
    const next = Math.min(hi, lo + step);
    if (ok(next)) {
      hi = next;
      lo += 1;
      break;
    }
    if (next === hi) return undefined;
    lo = next + 1;
    step *= 2;
  }
  if (lo >= hi) return ok(hi) ? hi : undefined;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function sizeReplicas(inp: SizingInput): Sizing {
  const context = inp.promptTokens + inp.completionTokens;
  const slots = Math.min(inp.maxConcurrent, Math.floor(inp.row.kvCacheTokens / context));
  if (slots < 1)
    return {
      ok: false,
      reason: `one sequence of ${context} tokens (prompt + completion) does not fit the KV cache (${inp.row.kvCacheTokens} tokens on ${inp.row.gpu})`,
    };
  const step = stepSeconds(inp.row, slots);
  if (step > inp.interTokenLatencySeconds) {
    const fits = largestBatchWithin(inp.row, inp.interTokenLatencySeconds, slots);
    return {
      ok: false,
      reason:
        `interTokenLatencySeconds ${inp.interTokenLatencySeconds} is unreachable at ${slots} concurrent sequences per replica on ${inp.row.gpu}: ` +
        `one decode step takes ${fmt(step)}` +
        (fits > 0
          ? `; maxConcurrent ${fits} or less meets it`
          : "; even one sequence is slower: a faster GPU or a smaller model class"),
    };
  }
  const prefill = inp.promptTokens / inp.row.prefillTokensPerSecond;
  if (prefill + step > inp.ttftP95Seconds)
    return {
      ok: false,
      reason: `ttftP95Seconds ${inp.ttftP95Seconds} is unreachable on ${inp.row.gpu}: prefilling ${inp.promptTokens} prompt tokens alone takes ${fmt(prefill)}`,
    };
  const meets = (r: number) => {
    const o = operatingPoint(inp, slots, r);
    return o.ttftP95Seconds <= inp.ttftP95Seconds && o.interTokenLatencySeconds <= inp.interTokenLatencySeconds;
  };
  const forObjectives = leastTrue(1, MAX_REPLICAS, meets);
  if (forObjectives === undefined) return { ok: false, reason: `needs more than ${MAX_REPLICAS} replicas on ${inp.row.gpu}` };

  // KEDA scales on the sum of running generations (target runningTarget per replica) and of waiting requests
  // (target targetQueueDepth per replica); the HPA runs the larger count. Both sums fall as replicas are added,
  // so the count it settles at is the least r that covers what its triggers ask for at r.
  const running = runningTarget(inp.maxConcurrent);
  const asked = (r: number) => {
    const o = operatingPoint(inp, slots, r);
    return Math.max(Math.ceil(o.running / running - 1e-9), Math.ceil(o.waiting / inp.targetQueueDepth - 1e-9));
  };
  const lo = Math.max(forObjectives, inp.minReplicas);
  const atPeak = leastTrue(lo, Math.max(lo, asked(lo)), (r) => r >= asked(r)) ?? lo;
  const operating = operatingPoint(inp, slots, atPeak);
  let headroom: string | null = null;
  if (atPeak > forObjectives)
    headroom =
      atPeak === inp.minReplicas && asked(atPeak) < atPeak
        ? `replicas.min is ${inp.minReplicas}`
        : `the autoscaler keeps running generations at or below ${running} of maxConcurrent ${inp.maxConcurrent} per replica and waiting requests at or below targetQueueDepth ${inp.targetQueueDepth}`;
  return {
    ok: true,
    slots,
    prefillSeconds: prefill,
    decodeTokensPerSecond: decodeTokensPerSecond(inp.row, slots),
    forObjectives,
    atPeak,
    headroom,
    operating,
  };
}

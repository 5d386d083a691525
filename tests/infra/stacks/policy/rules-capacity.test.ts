/** capacity-meets-target over hand-made capacity plans: shortfalls fail, spare bounds and unsized clusters are notes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CapacityPlan, ModelCapacity, PoolCapacity } from "../../../../stacks/capacity/plan";
import { runPolicy } from "../../../../stacks/policy";
import { capacityMeetsTarget } from "../../../../stacks/policy/rules-capacity";

const pool: PoolCapacity = {
  cluster: "c1",
  clusterIndex: 1,
  pool: "gpu",
  poolIndex: 0,
  machineType: "g6e.xlarge",
  gpu: "L40S",
  gpusPerNode: 1,
  min: 0,
  max: 4,
  models: ["m"],
  nodesAtPeak: 3,
};
const model = (
  atPeak: number,
  replicas: { min: number; max: number },
  extra: Partial<ModelCapacity> = {},
  forObjectives = atPeak,
): ModelCapacity => ({
  model: "m",
  modelIndex: 0,
  cluster: "c1",
  clusterIndex: 1,
  substrate: "eks",
  requestsPerSecond: 1,
  tokensPerSecond: 100,
  replicas,
  pool,
  row: null,
  sizing: {
    ok: true,
    slots: 8,
    prefillSeconds: 0.1,
    decodeTokensPerSecond: 500,
    forObjectives,
    atPeak,
    headroom: null,
    operating: {
      replicas: atPeak,
      ttftP95Seconds: 0.2,
      interTokenLatencySeconds: 0.02,
      utilization: 0.5,
      running: 4,
      waiting: 0,
    },
  },
  replicasPerNode: 1,
  nodesAtPeak: atPeak,
  monthlyAtPeak: 1,
  usdPerMillionTokens: 1,
  usdPerMillionGeneratedTokens: 1,
  problem: null,
  unsized: false,
  ...extra,
});
const plan = (models: ModelCapacity[], pools: PoolCapacity[] = []): CapacityPlan => ({
  queueingModel: "",
  tableAsOf: "2026-12-04",
  pricesAsOf: null,
  currency: "USD",
  hoursPerMonth: 730,
  models,
  pools,
  stackMonthlyAtPeak: null,
  notes: [],
});
const judge = (p: CapacityPlan) => runPolicy(capacityMeetsTarget, [], { environment: "prod", capacity: p });

test("passes with nothing to say when no model states a target, or the plan has no capacity section", () => {
  assert.deepEqual(judge(plan([])), { name: "capacity-meets-target", passed: true, message: capacityMeetsTarget.description });
  assert.equal(runPolicy(capacityMeetsTarget, [], { environment: "prod" }).passed, true);
});

test("fails when replicas.max or the pool's max fall short, saying by how much", () => {
  const r = judge(plan([model(6, { min: 2, max: 5 })], [{ ...pool, nodesAtPeak: 6 }]));
  assert.equal(r.passed, false);
  assert.equal(
    r.message,
    "m@c1: models[0].replicas.max is 5; the target needs 6 replicas at peak (1 replica short); " +
      "c1/gpu: clusters[1].gpuPools[0].max is 4; the target of m needs 6 g6e.xlarge nodes at peak (2 nodes short)",
  );
});

test("notes bounds above the need and a minimum above what the objectives take", () => {
  const r = judge(plan([model(3, { min: 3, max: 8 }, {}, 2)], [pool]));
  assert.equal(r.passed, true);
  assert.equal(
    r.message,
    `${capacityMeetsTarget.description} Note: models[0].replicas.max 8 allows 5 replicas above the 3 the target needs at peak on c1; ` +
      "models[0].replicas.min 3 runs 1 replica more than the 2 the objectives need at peak on c1, all the time; " +
      "clusters[1].gpuPools[0].max 4 allows 1 node above the 3 the target needs at peak",
  );
});

test("fails a target that cannot be met at all, and only notes a cluster it cannot size", () => {
  const unreachable = model(
    0,
    { min: 1, max: 2 },
    { sizing: { ok: false, reason: "x" }, problem: "interTokenLatencySeconds 0.01 is unreachable" },
  );
  const onprem = model(
    0,
    { min: 1, max: 2 },
    { cluster: "dc1", sizing: null, pool: null, problem: "not sized: onprem", unsized: true },
  );
  const r = judge(plan([unreachable, onprem]));
  assert.equal(r.passed, false);
  assert.equal(
    r.message,
    "m@c1: models[0].target cannot be met on c1: interTokenLatencySeconds 0.01 is unreachable Note: m@dc1: not sized: onprem",
  );
});

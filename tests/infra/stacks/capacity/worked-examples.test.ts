/**
 * Golden tests of the two worked examples in docs/capacity.md: prod's committed target, which its bounds
 * meet, and the headline "2,000 requests a minute at p95 time to first token under one second" on the same
 * pool, which they do not. The numbers here are the ones the docs print; a change to the model, the table or
 * the prices that moves them must update the docs too.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planCapacity } from "../../../../stacks/capacity/plan";
import type { Settings } from "../../../../stacks/config/schema";
import { runPolicy } from "../../../../stacks/policy";
import { capacityMeetsTarget } from "../../../../stacks/policy/rules-capacity";
import { settingsOf } from "../config/fixtures";

const prod = settingsOf("prod");
const withRps = (s: Settings, rps: number): Settings => ({
  ...s,
  models: s.models.map((m) => ({ ...m, target: m.target && { ...m.target, requestsPerSecond: rps } })),
});

describe("worked example 1: prod's target (8 requests/s)", () => {
  const plan = planCapacity(prod);
  const eks = plan.models.find((m) => m.cluster === "prod-useast1")!;

  test("sizes the EKS cluster on the L40S pool's derived row", () => {
    assert.deepEqual(prod.models[0].target, {
      modelClass: "8b-int4",
      requestsPerSecond: 8,
      promptTokens: 600,
      completionTokens: 250,
      ttftP95Seconds: 1,
      interTokenLatencySeconds: 0.05,
    });
    assert.equal(eks.row?.key, "L40S/8b-int4/1gpu");
    assert.equal(eks.pool?.machineType, "g6e.2xlarge");
    assert.equal(eks.tokensPerSecond, 2000);
  });

  test("needs 5 replicas and 5 nodes at peak, $8,183.59 a month, $0.46 per million tokens", () => {
    assert.ok(eks.sizing?.ok);
    assert.equal(eks.sizing.slots, 8);
    assert.equal(eks.sizing.decodeTokensPerSecond, 652.7);
    assert.equal(Math.round(eks.sizing.prefillSeconds * 1000), 62);
    assert.equal(eks.sizing.forObjectives, 5);
    assert.equal(eks.sizing.atPeak, 5);
    assert.equal(Math.round(eks.sizing.operating.ttftP95Seconds * 1000), 76);
    assert.equal(Math.round(eks.sizing.operating.interTokenLatencySeconds * 1000), 14);
    assert.equal(Math.round(eks.sizing.operating.utilization * 100), 69);
    assert.equal(eks.nodesAtPeak, 5);
    assert.equal(eks.monthlyAtPeak, 8183.59);
    assert.equal(eks.usdPerMillionTokens, 0.46);
    assert.equal(eks.usdPerMillionGeneratedTokens, 1.56);
    assert.equal(plan.stackMonthlyAtPeak, 9320.28);
  });

  test("passes the policy, noting the spare bounds and the on-prem cluster it cannot size", () => {
    const r = runPolicy(capacityMeetsTarget, [], { environment: "prod", capacity: plan });
    assert.equal(r.passed, true);
    assert.match(
      r.message,
      /Note: models\[0\]\.replicas\.max 8 allows 3 replicas above the 5 the target needs at peak on prod-useast1; /,
    );
    assert.match(r.message, /clusters\[0\]\.gpuPools\[0\]\.max 8 allows 3 nodes above the 5 the target needs at peak; /);
    assert.match(r.message, /llama-31-8b-instruct@dc1: not sized: onprem clusters state no GPU model or node count in config$/);
  });
});

describe("worked example 2: 2,000 requests a minute on prod's pool", () => {
  const plan = planCapacity(withRps(prod, 33.3));
  const eks = plan.models.find((m) => m.cluster === "prod-useast1")!;

  test("16 replicas meet the objectives; the autoscaler runs 20, so 20 nodes, $32,734.37 a month", () => {
    assert.ok(eks.sizing?.ok);
    assert.equal(eks.sizing.forObjectives, 16);
    assert.equal(eks.sizing.atPeak, 20);
    assert.match(eks.sizing.headroom ?? "", /running generations at or below 6 of maxConcurrent 8 per replica/);
    assert.equal(eks.nodesAtPeak, 20);
    assert.equal(eks.monthlyAtPeak, 32734.37);
    assert.equal(eks.usdPerMillionTokens, 0.44);
  });

  test("fails the plan, naming both keys and by how much they fall short", () => {
    const r = runPolicy(capacityMeetsTarget, [], { environment: "prod", capacity: plan });
    assert.equal(r.passed, false);
    assert.match(
      r.message,
      /^llama-31-8b-instruct@prod-useast1: models\[0\]\.replicas\.max is 8; the target needs 20 replicas at peak \(12 replicas short\); prod-useast1\/l40s: clusters\[0\]\.gpuPools\[0\]\.max is 8; the target of llama-31-8b-instruct needs 20 g6e\.2xlarge nodes at peak \(12 nodes short\)/,
    );
  });
});

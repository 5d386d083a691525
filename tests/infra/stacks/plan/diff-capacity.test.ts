/** The cost and capacity part of a plan diff, and where the PR comment shows it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { capacitySummary, diffPlans, parsePlanDocument, renderDiffText } from "../../../../stacks/plan/diff";
import { renderComment } from "../../../../stacks/plan/preview";

const doc = (replicas: number | null, nodes: number | null, monthly: number | null, max: number, cost = [100, 900]) => ({
  stack: "prod",
  resources: [],
  policies: [],
  cost: { monthlyMin: cost[0], monthlyMax: cost[1], clusters: [] },
  capacity: {
    stackMonthlyAtPeak: monthly === null ? null : monthly + 50,
    models: [
      {
        model: "m",
        cluster: "c1",
        replicas: { min: 2, max },
        sizing: replicas === null ? { ok: false, reason: "x" } : { ok: true, atPeak: replicas },
        nodesAtPeak: nodes,
        monthlyAtPeak: monthly,
        usdPerMillionTokens: monthly === null ? null : 0.5,
        problem: replicas === null ? "interTokenLatencySeconds 0.01 is unreachable" : null,
      },
    ],
  },
});

test("shows the change in cost and in each model's replicas, nodes and cost at peak", () => {
  const diff = diffPlans(parsePlanDocument(JSON.stringify(doc(5, 5, 8000, 8)), "base.json"), doc(6, 6, 9600, 8, [100, 500]));
  const text = renderDiffText(diff);
  assert.match(
    text,
    /\nCost and capacity:\n {2}monthly cost at min \.\. max scale: \$100\.00 \.\. \$900\.00 -> \$100\.00 \.\. \$500\.00\n {2}monthly cost at the targets' peak: \$8,050\.00 -> \$9,650\.00\n {2}m@c1: replicas at peak 5 -> 6 \(max 8\), nodes 5 -> 6, \$8,000\.00 -> \$9,600\.00\/month, \$0\.50 per million tokens\n/,
  );
  assert.equal(capacitySummary(diff.capacity), "$100.00..$900.00 -> $100.00..$500.00/month; m@c1 5 -> 6 at peak");
});

test("unchanged figures are still shown, so a reviewer sees the cost of every stack", () => {
  const diff = diffPlans(doc(5, 5, 8000, 8), doc(5, 5, 8000, 8));
  assert.match(
    renderDiffText(diff),
    /m@c1: replicas at peak 5 \(max 8\), nodes 5, \$8,000\.00\/month, \$0\.50 per million tokens/,
  );
  assert.equal(capacitySummary(diff.capacity), "$100.00..$900.00/month; m@c1 5 at peak");
});

test("a target that cannot be met shows its reason; a plan from before the planner shows n/a", () => {
  const older = { stack: "prod", resources: [], policies: [] };
  const diff = diffPlans(older, doc(null, null, null, 8));
  assert.match(renderDiffText(diff), /m@c1: interTokenLatencySeconds 0\.01 is unreachable/);
  assert.equal(capacitySummary(diff.capacity), "n/a -> $100.00..$900.00/month; m@c1 n/a at peak");
});

test("the PR comment's table has a cost and capacity column", () => {
  const md = renderComment(
    [
      {
        stack: "prod",
        code: 0,
        diff: "plan prod: 0 to add, 1 to change, 0 to remove\n",
        error: "",
        capacity: "m@c1 5 -> 6 at peak",
      },
    ],
    { base: "b", head: "h" },
  );
  assert.match(md, /\| Stack \| Result \| Cost and capacity \|/);
  assert.match(md, /\| prod \| plan prod: 0 to add, 1 to change, 0 to remove \| m@c1 5 -> 6 at peak \|/);
});

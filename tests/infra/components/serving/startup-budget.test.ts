import fc from "fast-check";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import {
  deploymentTimeouts,
  fetchJobTimeouts,
  quantityGiB,
  startupBudget,
  startupProbe,
  startupWorstCaseSeconds,
  STARTUP_BUDGETS,
} from "../../../../components/serving/startup-budget";
import { REPO_ROOT } from "../../helpers";

/** The table as docs/model-delivery.md prints it, rendered from the code. */
function renderTable(): string {
  const rows = STARTUP_BUDGETS.map((b) => {
    const probe = startupProbe(b);
    return `| ${b.sizeGiB}Gi | ${b.fetchSeconds} s | ${b.startSeconds} s | ${probe.failureThreshold} × ${probe.periodSeconds} s | ${fetchJobTimeouts(b).create} | ${deploymentTimeouts(probe, 0).create} | ${deploymentTimeouts(probe, b.fetchSeconds).create} |`;
  });
  return [
    "| model size up to | fetch budget | start budget | startup probe | fill Job wait | Deployment wait (shared cache) | Deployment wait (per-pod copy) |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

test("docs/model-delivery.md prints exactly the table the code derives its probes and timeouts from", () => {
  const doc = readFileSync(path.join(REPO_ROOT, "docs", "model-delivery.md"), "utf8");
  const m = /<!-- startup-budget:begin -->\n([\s\S]*?)\n<!-- startup-budget:end -->/.exec(doc);
  assert.ok(m, "docs/model-delivery.md has the startup-budget markers");
  assert.equal(m[1], renderTable());
});

test("a model's row is the first at least its size; beyond the table there is none", () => {
  assert.equal(startupBudget("5Gi")?.sizeGiB, 8);
  assert.equal(startupBudget("40Gi")?.sizeGiB, 48);
  assert.equal(startupBudget("48Gi")?.sizeGiB, 48);
  assert.equal(startupBudget("512Mi")?.sizeGiB, 8);
  assert.equal(startupBudget("1Ti"), undefined);
  assert.ok(Number.isNaN(quantityGiB("40GB")));
});

test("every wait covers what it waits for, for any size in the table (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 384 }), (gib) => {
      const b = startupBudget(`${gib}Gi`)!;
      const probe = startupProbe(b);
      const seconds = (t: string) => Number(t.replace(/m$/, "")) * 60;
      return (
        startupWorstCaseSeconds(probe) >= b.startSeconds &&
        seconds(deploymentTimeouts(probe, b.fetchSeconds).create) > startupWorstCaseSeconds(probe) + b.fetchSeconds &&
        seconds(fetchJobTimeouts(b).create) > fetchJobTimeouts(b).activeDeadlineSeconds
      );
    }),
  );
});

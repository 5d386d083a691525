/** Renders a plan for people (a table) or for machines (one JSON document, secrets masked). */
import type { CapacityPlan } from "../capacity/plan";
import { renderCapacity } from "../capacity/render";
import { renderCost, type CostEstimate } from "../cost/estimate";
import { maskSecrets } from "../policy/inspect";
import type { PlannedResource } from "../policy/types";
import type { Plan } from "./run";

export interface PlanDocument {
  stack: string;
  resources: {
    type: string;
    name: string;
    parent: string | null;
    inputs: unknown;
    customTimeouts?: PlannedResource["customTimeouts"];
  }[];
  policies: { name: string; passed: boolean; message: string }[];
  cost: CostEstimate;
  capacity: CapacityPlan;
}

export function toDocument(plan: Plan): PlanDocument {
  return {
    stack: plan.stack,
    resources: plan.resources.map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent,
      inputs: maskSecrets(r.inputs),
      ...(r.customTimeouts ? { customTimeouts: r.customTimeouts } : {}),
    })),
    policies: plan.policies.map((p) => ({ name: p.name, passed: p.passed, message: p.message })),
    cost: plan.cost,
    capacity: plan.capacity,
  };
}

export function renderText(plan: Plan): string {
  const rows = plan.resources.map((r) => [r.type, r.name, r.parent ?? "-"]);
  const header = ["TYPE", "NAME", "PARENT"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const failed = plan.policies.filter((p) => !p.passed).length;
  return [
    `Stack ${plan.stack} (environment ${plan.environment}): ${plan.resources.length} resources`,
    "",
    line(header),
    ...rows.map(line),
    "",
    ...renderCost(plan.cost),
    "",
    ...renderCapacity(plan.capacity),
    "",
    "Policies:",
    ...plan.policies.map((p) => `  [${p.passed ? "pass" : "FAIL"}] ${p.name}: ${p.message}`),
    "",
    failed === 0 ? `All ${plan.policies.length} policies passed.` : `${failed} of ${plan.policies.length} policies failed.`,
  ].join("\n");
}

/**
 * Where a model states a traffic target, the bounds the autoscalers may move in must reach it: the model's
 * `replicas.max` and its GPU pool's `max` cover the replicas and nodes the target needs at peak
 * (stacks/capacity). Falling short fails, naming the key and by how much; bounds far above the need (or a
 * minimum above the peak) are reported as notes, since they cost money only if used (or always, for a minimum).
 */
import type { ModelCapacity, PoolCapacity } from "../capacity/plan";
import type { Policy, PolicyContext, Violation } from "./types";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const where = (m: ModelCapacity) => `${m.model}@${m.cluster}`;
const poolKey = (p: PoolCapacity) => `clusters[${p.clusterIndex}].gpuPools[${p.poolIndex}].max`;

function sized(ctx: PolicyContext): ModelCapacity[] {
  return (ctx.capacity?.models ?? []).filter((m) => m.sizing?.ok === true && m.problem === null);
}

export const capacityMeetsTarget: Policy = {
  name: "capacity-meets-target",
  description:
    "Where a model states a traffic target, models[].replicas.max and its GPU pool's max reach the replicas and nodes the target needs at peak.",
  check(_resources, ctx) {
    const out: Violation[] = [];
    for (const m of ctx.capacity?.models ?? []) {
      if (m.unsized) continue;
      if (m.problem !== null) {
        out.push({ resource: where(m), message: `models[${m.modelIndex}].target cannot be met on ${m.cluster}: ${m.problem}` });
        continue;
      }
      const need = m.sizing?.ok ? m.sizing.atPeak : 0;
      if (m.replicas.max < need)
        out.push({
          resource: where(m),
          message: `models[${m.modelIndex}].replicas.max is ${m.replicas.max}; the target needs ${need} replicas at peak (${plural(need - m.replicas.max, "replica")} short)`,
        });
    }
    for (const p of ctx.capacity?.pools ?? [])
      if (p.max < p.nodesAtPeak)
        out.push({
          resource: `${p.cluster}/${p.pool}`,
          message: `${poolKey(p)} is ${p.max}; ${p.models.length === 1 ? `the target of ${p.models[0]} needs` : `the targets of ${p.models.join(", ")} need`} ${p.nodesAtPeak} ${p.machineType} nodes at peak (${plural(p.nodesAtPeak - p.max, "node")} short)`,
        });
    return out;
  },
  notes(_resources, ctx) {
    const out: string[] = [];
    for (const m of sized(ctx)) {
      const need = m.sizing?.ok ? m.sizing.atPeak : 0;
      if (m.replicas.max > need)
        out.push(
          `models[${m.modelIndex}].replicas.max ${m.replicas.max} allows ${plural(m.replicas.max - need, "replica")} above the ${need} the target needs at peak on ${m.cluster}`,
        );
      const forObjectives = m.sizing?.ok ? m.sizing.forObjectives : 0;
      if (m.replicas.min > forObjectives)
        out.push(
          `models[${m.modelIndex}].replicas.min ${m.replicas.min} runs ${plural(m.replicas.min - forObjectives, "replica")} more than the ${forObjectives} the objectives need at peak on ${m.cluster}, all the time`,
        );
    }
    for (const p of ctx.capacity?.pools ?? [])
      if (p.max > p.nodesAtPeak)
        out.push(
          `${poolKey(p)} ${p.max} allows ${plural(p.max - p.nodesAtPeak, "node")} above the ${p.nodesAtPeak} the target needs at peak`,
        );
    for (const m of ctx.capacity?.models ?? []) if (m.unsized) out.push(`${where(m)}: ${m.problem}`);
    return out;
  },
};

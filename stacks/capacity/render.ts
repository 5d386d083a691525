/** The capacity plan as text, for `npm run capacity` and the plan's table output. */
import { usd } from "../cost/estimate";
import type { CapacityPlan, ModelCapacity } from "./plan";

const ms = (s: number) => (Number.isFinite(s) ? `${Math.round(s * 1000)} ms` : "unbounded");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const num = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });

function modelLines(m: ModelCapacity): string[] {
  const head = `  ${m.model} on ${m.cluster} (${m.substrate}): ${num(m.requestsPerSecond)} req/s, ${num(m.tokensPerSecond)} generated tokens/s at peak`;
  if (m.problem && (!m.sizing || !m.sizing.ok)) return [head, `    ${m.unsized ? "" : "CANNOT MEET TARGET: "}${m.problem}`];
  const out = [head];
  if (m.pool)
    out.push(
      `    pool clusters[${m.clusterIndex}].gpuPools[${m.pool.poolIndex}] ${m.pool.pool}: ${m.pool.machineType} (${m.pool.gpusPerNode} x ${m.pool.gpu})`,
    );
  if (m.row) out.push(`    table row ${m.row.key} (${m.row.kind}, ${m.row.asOf}): ${m.row.source}`);
  const s = m.sizing;
  if (s?.ok) {
    out.push(
      `    per replica: ${s.slots} concurrent sequences at ${num(s.decodeTokensPerSecond)} tokens/s, prefill ${ms(s.prefillSeconds)} per prompt`,
      `    replicas: ${s.forObjectives} meet the objectives, ${s.atPeak} at peak${s.headroom ? ` (${s.headroom})` : ""}; models[${m.modelIndex}].replicas.max is ${m.replicas.max}`,
      `    at peak: TTFT p95 ${ms(s.operating.ttftP95Seconds)}, inter-token ${ms(s.operating.interTokenLatencySeconds)}, slots ${Math.round(s.operating.utilization * 100)}% busy`,
    );
  }
  if (m.problem) out.push(`    CANNOT MEET TARGET: ${m.problem}`);
  else if (m.nodesAtPeak !== null)
    out.push(
      `    GPU nodes: ${m.nodesAtPeak} x ${m.pool?.machineType} (${plural(m.replicasPerNode ?? 0, "replica")} per node, ${plural(m.nodesAtPeak * (m.pool?.gpusPerNode ?? 0), "GPU")})` +
        (m.monthlyAtPeak === null
          ? "; not in the price table"
          : `; ${usd(m.monthlyAtPeak)}/month at peak, ${usd(m.usdPerMillionTokens ?? 0)} per million tokens (${usd(m.usdPerMillionGeneratedTokens ?? 0)} per million generated)`),
    );
  return out;
}

export function renderCapacity(plan: CapacityPlan): string[] {
  if (plan.models.length === 0) return ["Capacity: no model states a traffic target (models[].target)."];
  const out = [
    `Capacity at peak (${plan.queueingModel}; throughput table as of ${plan.tableAsOf}, prices as of ${plan.pricesAsOf ?? "n/a"}):`,
    ...plan.models.flatMap(modelLines),
  ];
  for (const p of plan.pools)
    out.push(
      `  pool clusters[${p.clusterIndex}].gpuPools[${p.poolIndex}] (${p.cluster}/${p.pool}): ${plural(p.nodesAtPeak, "node")} at peak for ${p.models.join(", ")}; max is ${p.max}`,
    );
  if (plan.stackMonthlyAtPeak !== null)
    out.push(
      `  Stack at peak scale: ${usd(plan.stackMonthlyAtPeak)}/month (${plan.currency}, ${plan.hoursPerMonth} h/month, fixed items included)`,
    );
  out.push(...plan.notes.map((n) => `  Note: ${n}`));
  return out;
}

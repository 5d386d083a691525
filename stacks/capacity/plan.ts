/**
 * The capacity plan of a stack: for each model with a traffic target and each cluster serving it, the GPU
 * pool it lands on, the throughput row used, the replicas at peak (sizing.ts), the nodes that takes, what
 * that costs a month and per million tokens (stacks/cost prices), and the whole stack's monthly cost at that
 * scale. On-prem and local clusters state no GPU model or node count in config, so they are listed unsized.
 */
import {
  AZURE_GPU_VM_SHAPES,
  AZURE_GPU_VM_SIZES,
  EC2_GPU_INSTANCE_SHAPES,
  EC2_GPU_INSTANCE_TYPES,
  gpuOfMachine,
} from "../config/cloud-catalog";
import type { ClusterSettings, ModelSettings, Settings } from "../config/schema";
import { aksAllocatable, cpuMillicores, eksAllocatable, memoryMiB } from "../config/validators";
import { estimateCost, gpuPoolItem, gpuPoolMachine, priceOf, PRICES, round, type PriceTable } from "../cost/estimate";
import { sizeReplicas, type Sizing } from "./sizing";
import { findRow, rowKey, THROUGHPUT, type ThroughputRow, type ThroughputTable } from "./table";

export const QUEUEING_MODEL = "M/M/c (Erlang C) over batch slots; see docs/capacity.md";

type CloudCluster = Extract<ClusterSettings, { substrate: "eks" | "aks" }>;

export interface PoolRef {
  cluster: string;
  clusterIndex: number;
  pool: string;
  poolIndex: number;
  machineType: string;
  gpu: string | null;
  gpusPerNode: number;
  min: number;
  max: number;
}

export interface ModelCapacity {
  model: string;
  modelIndex: number;
  cluster: string;
  clusterIndex: number;
  substrate: ClusterSettings["substrate"];
  /** Requests/s and generated tokens/s at peak, whichever way the target stated them. */
  requestsPerSecond: number;
  tokensPerSecond: number;
  replicas: { min: number; max: number };
  pool: PoolRef | null;
  /** The throughput row used: key, kind and source, so the numbers can be traced. */
  row:
    (Pick<ThroughputRow, "gpu" | "modelClass" | "kind" | "asOf" | "source" | "prefillTokensPerSecond"> & { key: string }) | null;
  sizing: Sizing | null;
  replicasPerNode: number | null;
  /** Nodes of the pool this model's replicas take at peak. */
  nodesAtPeak: number | null;
  /** The pool's price for those nodes all month (null: no price in the table). */
  monthlyAtPeak: number | null;
  /** Monthly cost over the tokens a month of peak traffic processes (prompt + completion), per million. */
  usdPerMillionTokens: number | null;
  /** The same over generated tokens only. */
  usdPerMillionGeneratedTokens: number | null;
  /** Why the model was not sized here (no row, an objective out of reach, an on-prem cluster). */
  problem: string | null;
  /** True when the problem is a fact of the config (on-prem) rather than a target the stack cannot meet. */
  unsized: boolean;
}

export interface PoolCapacity extends PoolRef {
  models: string[];
  nodesAtPeak: number;
}

export interface CapacityPlan {
  queueingModel: string;
  tableAsOf: string;
  pricesAsOf: string | null;
  currency: string;
  hoursPerMonth: number;
  models: ModelCapacity[];
  pools: PoolCapacity[];
  /** The stack's estimated monthly cost with every sized pool at its peak node count (fixed items included). */
  stackMonthlyAtPeak: number | null;
  notes: string[];
}

function poolRefs(c: CloudCluster, ci: number): PoolRef[] {
  return c.gpuPools.map((p, j) => {
    const machineType = gpuPoolMachine(c, j);
    const gpus = c.substrate === "eks" ? EC2_GPU_INSTANCE_TYPES[machineType] : AZURE_GPU_VM_SIZES[machineType];
    return {
      cluster: c.name,
      clusterIndex: ci,
      pool: p.name,
      poolIndex: j,
      machineType,
      gpu: gpuOfMachine(machineType) ?? null,
      gpusPerNode: gpus ?? 0,
      min: p.min,
      max: p.max,
    };
  });
}

/** Replicas one node of the pool holds: GPUs, then allocatable CPU and memory (validators.ts reservations). */
function replicasPerNode(c: CloudCluster, pool: PoolRef, m: ModelSettings): number {
  const shape = c.substrate === "eks" ? EC2_GPU_INSTANCE_SHAPES[pool.machineType] : AZURE_GPU_VM_SHAPES[pool.machineType];
  const byGpu = Math.floor(pool.gpusPerNode / m.gpus);
  if (!shape) return byGpu;
  const alloc = c.substrate === "eks" ? eksAllocatable(shape) : aksAllocatable(shape);
  return Math.min(
    byGpu,
    Math.floor(alloc.cpuMilli / cpuMillicores(m.resources.cpu)),
    Math.floor(alloc.memoryMiB / memoryMiB(m.resources.memory)),
  );
}

const servedOn = (m: ModelSettings, c: ClusterSettings) => m.clusters === undefined || m.clusters.includes(c.name);

export function planCapacity(
  settings: Pick<Settings, "clusters" | "models">,
  table: ThroughputTable = THROUGHPUT,
  prices: PriceTable = PRICES,
): CapacityPlan {
  const models: ModelCapacity[] = [];
  settings.models.forEach((m, mi) => {
    const t = m.target;
    if (!t) return;
    const rps = t.requestsPerSecond ?? (t.tokensPerSecond ?? 0) / t.completionTokens;
    settings.clusters.forEach((c, ci) => {
      if (!servedOn(m, c)) return;
      const base = {
        model: m.name,
        modelIndex: mi,
        cluster: c.name,
        clusterIndex: ci,
        substrate: c.substrate,
        requestsPerSecond: rps,
        tokensPerSecond: rps * t.completionTokens,
        replicas: m.replicas,
        pool: null,
        row: null,
        sizing: null,
        replicasPerNode: null,
        nodesAtPeak: null,
        monthlyAtPeak: null,
        usdPerMillionTokens: null,
        usdPerMillionGeneratedTokens: null,
      };
      if (c.substrate !== "eks" && c.substrate !== "aks") {
        models.push({
          ...base,
          problem: `not sized: ${c.substrate} clusters state no GPU model or node count in config`,
          unsized: true,
        });
        return;
      }
      const pools = poolRefs(c, ci);
      // The first pool whose GPU has a row: the pool the autoscaler's scale-from-zero template comes from.
      const found = pools
        .map((p) => ({ p, row: p.gpu ? findRow(table, p.gpu, t.modelClass, m.gpus) : undefined }))
        .find((x) => x.row !== undefined);
      if (!found?.row) {
        const gpus = [...new Set(pools.map((p) => p.gpu ?? `${p.machineType} (unknown GPU)`))].join(", ");
        const have = table.rows.filter((r) => r.modelClass === t.modelClass && r.gpusPerReplica === m.gpus).map((r) => r.gpu);
        models.push({
          ...base,
          problem: `no throughput row for ${t.modelClass} with ${m.gpus} GPU per replica on ${gpus} (the table has it on ${have.join(", ") || "no GPU"})`,
          unsized: false,
        });
        return;
      }
      const { p: pool, row } = found;
      const sizing = sizeReplicas({
        row,
        requestsPerSecond: rps,
        promptTokens: t.promptTokens,
        completionTokens: t.completionTokens,
        ttftP95Seconds: t.ttftP95Seconds,
        interTokenLatencySeconds: t.interTokenLatencySeconds,
        maxConcurrent: m.maxConcurrent,
        targetQueueDepth: m.targetQueueDepth,
        minReplicas: m.replicas.min,
      });
      const rowInfo = {
        key: rowKey(row),
        gpu: row.gpu,
        modelClass: row.modelClass,
        kind: row.kind,
        asOf: row.asOf,
        source: row.source,
        prefillTokensPerSecond: row.prefillTokensPerSecond,
      };
      if (!sizing.ok) {
        models.push({ ...base, pool, row: rowInfo, sizing, problem: sizing.reason, unsized: false });
        return;
      }
      const perNode = replicasPerNode(c, pool, m);
      const nodes = perNode > 0 ? Math.ceil(sizing.atPeak / perNode) : null;
      const price = priceOf(c, gpuPoolItem(c, pool.poolIndex), prices);
      const monthly = nodes !== null && price ? round(nodes * price.usdPerHour * prices.hoursPerMonth) : null;
      const perMonth = (tokensPerSecond: number) => tokensPerSecond * 3600 * prices.hoursPerMonth;
      models.push({
        ...base,
        pool,
        row: rowInfo,
        sizing,
        replicasPerNode: perNode,
        nodesAtPeak: nodes,
        monthlyAtPeak: monthly,
        usdPerMillionTokens:
          monthly === null ? null : round((monthly / perMonth(rps * (t.promptTokens + t.completionTokens))) * 1e6),
        usdPerMillionGeneratedTokens: monthly === null ? null : round((monthly / perMonth(rps * t.completionTokens)) * 1e6),
        problem:
          perNode > 0
            ? null
            : `one replica (${m.gpus} GPU, ${m.resources.cpu} CPU, ${m.resources.memory}) does not fit a ${pool.machineType} node`,
        unsized: false,
      });
    });
  });

  const pools = new Map<string, PoolCapacity>();
  for (const mc of models) {
    if (!mc.pool || mc.nodesAtPeak === null) continue;
    const key = `${mc.clusterIndex}/${mc.pool.poolIndex}`;
    const prev = pools.get(key) ?? { ...mc.pool, models: [], nodesAtPeak: 0 };
    pools.set(key, { ...prev, models: [...prev.models, mc.model], nodesAtPeak: prev.nodesAtPeak + mc.nodesAtPeak });
  }

  // The stack's estimate with each sized pool pinned at its peak node count (never below its minimum).
  const atPeak = settings.clusters.map((c, ci) => {
    if (c.substrate !== "eks" && c.substrate !== "aks") return c;
    const gpuPools = c.gpuPools.map((p, j) => {
      const sized = pools.get(`${ci}/${j}`);
      const n = sized ? Math.max(p.min, sized.nodesAtPeak) : p.min;
      return { ...p, min: n, max: n };
    });
    return { ...c, gpuPools } as ClusterSettings;
  });
  const sized = pools.size > 0;
  const estimate = estimateCost({ clusters: atPeak }, prices);
  return {
    queueingModel: QUEUEING_MODEL,
    tableAsOf: table.asOf,
    pricesAsOf: estimate.pricesAsOf,
    currency: prices.currency,
    hoursPerMonth: prices.hoursPerMonth,
    models,
    pools: [...pools.values()],
    stackMonthlyAtPeak: sized ? estimate.monthlyMax : null,
    notes: sized
      ? [
          "Monthly figures price the peak all month (an upper bound: the autoscaler scales down off-peak); pools not sized stay at their minimum.",
          ...(table.rows.some((r) => r.kind === "derived")
            ? ["Derived rows are a roofline estimate, not a measurement: calibrate with runtime/bench (--import-bench)."]
            : []),
        ]
      : [],
  };
}

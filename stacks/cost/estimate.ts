/**
 * Monthly cost estimate of a stack's cloud clusters, from the dated price table in prices.json: nodes at
 * their pools' minimum and maximum, plus what runs all the time (control plane, NAT gateways, interface
 * endpoints, the gateway's load balancer). On-prem and local clusters run on owned hardware: no line items.
 */
import type { ClusterSettings, Settings } from "../config/schema";
import PRICE_TABLE from "./prices.json";

export interface PriceEntry {
  cloud: "aws" | "azure";
  region: string;
  item: string;
  usdPerHour: number;
  asOf: string;
  source: string;
}

export interface PriceTable {
  currency: string;
  hoursPerMonth: number;
  note: string;
  entries: PriceEntry[];
}

export interface CostLine {
  item: string;
  /** Units at the pools' minimum and maximum (equal for fixed items). */
  min: number;
  max: number;
  usdPerHour: number;
  monthlyMin: number;
  monthlyMax: number;
  source: string;
}

export interface ClusterCost {
  cluster: string;
  substrate: ClusterSettings["substrate"];
  region?: string;
  lines: CostLine[];
  monthlyMin: number;
  monthlyMax: number;
  /** Items the table has no price for (left out of the totals, listed so nobody mistakes them for free). */
  unpriced: string[];
}

export interface CostEstimate {
  currency: string;
  hoursPerMonth: number;
  /** Oldest `asOf` among the prices used. */
  pricesAsOf: string | null;
  clusters: ClusterCost[];
  monthlyMin: number;
  monthlyMax: number;
  notes: string[];
}

export const PRICES = PRICE_TABLE as PriceTable;

export const round = (n: number) => Math.round(n * 100) / 100;

/** The interface endpoints and load balancers the cluster components create (network.ts, one gateway LB). */
const AWS_INTERFACE_ENDPOINTS = 3;

export function estimateCost(settings: Pick<Settings, "clusters">, table: PriceTable = PRICES): CostEstimate {
  const used: PriceEntry[] = [];
  const clusters = settings.clusters.map((c) => clusterCost(c, table, used));
  const asOf = used.map((e) => e.asOf).sort()[0] ?? null;
  const spot = settings.clusters.some(
    (c) =>
      (c.substrate === "eks" && c.gpuPools.some((p) => p.capacityType === "SPOT")) ||
      (c.substrate === "aks" && c.gpuPools.some((p) => p.priority === "Spot")),
  );
  return {
    currency: table.currency,
    hoursPerMonth: table.hoursPerMonth,
    pricesAsOf: asOf,
    clusters,
    monthlyMin: round(clusters.reduce((s, c) => s + c.monthlyMin, 0)),
    monthlyMax: round(clusters.reduce((s, c) => s + c.monthlyMax, 0)),
    notes: [
      table.note,
      "Pools with several instance types are priced at the first one.",
      ...(spot ? ["Spot pools are priced at the on-demand rate: an upper bound."] : []),
    ],
  };
}

type CloudCluster = Extract<ClusterSettings, { substrate: "eks" | "aks" }>;

/** A GPU pool's machine: its first EC2 instance type (what it is priced and scaled from zero at) or its VM size. */
export function gpuPoolMachine(c: CloudCluster, pool: number): string {
  return c.substrate === "eks" ? c.gpuPools[pool].instanceTypes[0] : c.gpuPools[pool].vmSize;
}

/** The price-table item of a GPU pool's machine: `ec2:<type>` or `vm:<size>`. */
export function gpuPoolItem(c: CloudCluster, pool: number): string {
  return `${c.substrate === "eks" ? "ec2" : "vm"}:${gpuPoolMachine(c, pool)}`;
}

/** The table's price of `item` in the cluster's cloud and region, if it has one. */
export function priceOf(c: CloudCluster, item: string, table: PriceTable = PRICES): PriceEntry | undefined {
  const cloud = c.substrate === "eks" ? "aws" : "azure";
  const region = c.substrate === "eks" ? c.region : c.location;
  return table.entries.find((e) => e.cloud === cloud && e.region === region && e.item === item);
}

function clusterCost(c: ClusterSettings, table: PriceTable, used: PriceEntry[]): ClusterCost {
  if (c.substrate !== "eks" && c.substrate !== "aks")
    return { cluster: c.name, substrate: c.substrate, lines: [], monthlyMin: 0, monthlyMax: 0, unpriced: [] };
  const region = c.substrate === "eks" ? c.region : c.location;
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const add = (item: string, min: number, max: number) => {
    const entry = priceOf(c, item, table);
    if (!entry) {
      unpriced.push(item);
      return;
    }
    used.push(entry);
    const monthly = (n: number) => round(n * entry.usdPerHour * table.hoursPerMonth);
    lines.push({
      item,
      min,
      max,
      usdPerHour: entry.usdPerHour,
      monthlyMin: monthly(min),
      monthlyMax: monthly(max),
      source: entry.source,
    });
  };

  if (c.substrate === "eks") {
    const nat = c.natGateways === "perZone" ? c.availabilityZones : 1;
    add("eks-control-plane", 1, 1);
    add(`ec2:${c.systemPool.instanceTypes[0]}`, c.systemPool.min, c.systemPool.max);
    c.gpuPools.forEach((p, j) => add(gpuPoolItem(c, j), p.min, p.max));
    add("nat-gateway", nat, nat);
    add("vpc-interface-endpoint", AWS_INTERFACE_ENDPOINTS * c.availabilityZones, AWS_INTERFACE_ENDPOINTS * c.availabilityZones);
    add("network-load-balancer", 1, 1);
  } else {
    if (c.tier === "Standard") add("aks-standard-tier", 1, 1);
    add(`vm:${c.systemPool.vmSize}`, c.systemPool.min, c.systemPool.max);
    c.gpuPools.forEach((p, j) => add(gpuPoolItem(c, j), p.min, p.max));
    add("standard-load-balancer", 1, 1);
  }
  return {
    cluster: c.name,
    substrate: c.substrate,
    region,
    lines: mergeLines(lines),
    monthlyMin: round(lines.reduce((s, l) => s + l.monthlyMin, 0)),
    monthlyMax: round(lines.reduce((s, l) => s + l.monthlyMax, 0)),
    unpriced: [...new Set(unpriced)],
  };
}

/** Pools of the same machine type become one line. */
function mergeLines(lines: CostLine[]): CostLine[] {
  const out = new Map<string, CostLine>();
  for (const l of lines) {
    const prev = out.get(l.item);
    out.set(
      l.item,
      prev
        ? {
            ...prev,
            min: prev.min + l.min,
            max: prev.max + l.max,
            monthlyMin: round(prev.monthlyMin + l.monthlyMin),
            monthlyMax: round(prev.monthlyMax + l.monthlyMax),
          }
        : l,
    );
  }
  return [...out.values()];
}

export const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** Text for the plan's table output. */
export function renderCost(cost: CostEstimate): string[] {
  const priced = cost.clusters.filter((c) => c.lines.length > 0 || c.unpriced.length > 0);
  if (priced.length === 0) return ["Estimated monthly cost: no cloud clusters (on-prem and local run on owned hardware)."];
  const out = [
    `Estimated monthly cost (${cost.currency}, list prices as of ${cost.pricesAsOf ?? "n/a"}, ${cost.hoursPerMonth} h/month): ` +
      `${usd(cost.monthlyMin)} at minimum scale, ${usd(cost.monthlyMax)} at maximum scale`,
  ];
  for (const c of priced) {
    out.push(`  ${c.cluster} (${c.substrate}, ${c.region}): ${usd(c.monthlyMin)} .. ${usd(c.monthlyMax)}`);
    for (const l of c.lines)
      out.push(
        `    ${l.item.padEnd(32)} ${`${l.min}..${l.max}`.padStart(7)} x $${l.usdPerHour}/h  ${usd(l.monthlyMin)} .. ${usd(l.monthlyMax)}`,
      );
    if (c.unpriced.length > 0) out.push(`    not in the price table (left out): ${c.unpriced.join(", ")}`);
  }
  out.push(...cost.notes.map((n) => `  Note: ${n}`));
  return out;
}

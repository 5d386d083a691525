/**
 * The start-up budget per model size: the one table the startup probe, the fetch step's deadline, the Job's and
 * the Deployment's Pulumi timeouts are derived from (docs/model-delivery.md prints it; a test keeps the two
 * equal). Budgets, not measurements: each row is the size at the throughputs below plus a fixed allowance,
 * chosen so that a slow but healthy start is never failed and a stuck one is noticed within the hour.
 */

/** Sustained throughputs the budgets assume, MiB/s (the slowest path, not the typical one). */
export const BUDGET_RATES = {
  /** Object store to volume, hashing every file on the way (one fetch process, EFS or Azure Files writes). */
  fetchMiBps: 50,
  /** Volume to accelerator: the runtime reads, hashes (unless --skip-verify) and loads the weights. */
  startMiBps: 100,
} as const;

/** Fixed allowances, seconds: listing and retries for the fetch; CUDA and session set-up plus a first token at start. */
export const BUDGET_ALLOWANCE_SECONDS = { fetch: 300, start: 300 } as const;

/** What a new node costs before any of the above (cluster autoscaler, instance boot and join, GPU driver). */
export const NODE_BUDGET_SECONDS = { nodeProvisioning: 300, gpuDriver: 600 } as const;

/** Size tiers of the table (GiB): 8B INT4 is about 5 GB, 8B FP16 16 GB, 70B INT4 40 GB, 70B FP16 140 GB. */
export const SIZE_TIERS_GIB = [8, 16, 48, 96, 192, 384] as const;

export interface StartupBudget {
  /** The tier this model falls in: its volume size (`cacheSize`) rounded up. */
  sizeGiB: number;
  /** Download and verify, by the init container or the cache Job. */
  fetchSeconds: number;
  /** Runtime start until /readyz answers: verify, load, first token. */
  startSeconds: number;
}

const budgetOf = (sizeGiB: number): StartupBudget => ({
  sizeGiB,
  fetchSeconds: Math.ceil((sizeGiB * 1024) / BUDGET_RATES.fetchMiBps) + BUDGET_ALLOWANCE_SECONDS.fetch,
  startSeconds: Math.ceil((sizeGiB * 1024) / BUDGET_RATES.startMiBps) + BUDGET_ALLOWANCE_SECONDS.start,
});

/** Every row of the table, smallest first. */
export const STARTUP_BUDGETS: readonly StartupBudget[] = SIZE_TIERS_GIB.map(budgetOf);

/** Kubernetes memory/storage quantity ("40Gi", "512Mi", "1Ti") in GiB; NaN if it is not one. */
export function quantityGiB(q: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) return NaN;
  return Number(m[1]) * { Ki: 1 / (1024 * 1024), Mi: 1 / 1024, Gi: 1, Ti: 1024 }[m[2] as "Ki" | "Mi" | "Gi" | "Ti"];
}

/** The row for a model whose volume is `size`; undefined when it is larger than the table goes. */
export function startupBudget(size: string): StartupBudget | undefined {
  const gib = quantityGiB(size);
  return STARTUP_BUDGETS.find((b) => gib <= b.sizeGiB);
}

export const PROBE_PERIOD_SECONDS = 10;

/** The startup probe: /readyz every 10 s for the row's start budget, after which liveness takes over. */
export function startupProbe(budget: StartupBudget) {
  return {
    httpGet: { path: "/readyz", port: "http" },
    periodSeconds: PROBE_PERIOD_SECONDS,
    failureThreshold: Math.ceil(budget.startSeconds / PROBE_PERIOD_SECONDS),
  };
}

/** Worst case a startup probe allows: initial delay plus every failed attempt (Kubernetes' own arithmetic). */
export function startupWorstCaseSeconds(probe: {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}) {
  return (probe.initialDelaySeconds ?? 0) + (probe.failureThreshold ?? 3) * (probe.periodSeconds ?? 10);
}

/** Margin on every Pulumi wait, for scheduling and image pulls. */
export const PULUMI_MARGIN_SECONDS = 300;

const minutes = (seconds: number) => `${Math.ceil(seconds / 60)}m`;

/**
 * Pulumi's wait for the Deployment (its default, 10 minutes, is shorter than most probes allow): a new GPU
 * node, the probe's worst case, and the fetch when each pod fetches its own copy (with the shared cache the
 * Job has fetched before the Deployment is touched), plus the margin.
 */
export function deploymentTimeouts(
  probe: Parameters<typeof startupWorstCaseSeconds>[0],
  fetchInPodSeconds: number,
): { create: string; update: string } {
  const n = NODE_BUDGET_SECONDS;
  const t = minutes(
    startupWorstCaseSeconds(probe) + n.nodeProvisioning + n.gpuDriver + fetchInPodSeconds + PULUMI_MARGIN_SECONDS,
  );
  return { create: t, update: t };
}

/** The cache Job: its deadline is the fetch budget; Pulumi waits that plus the margin. */
export function fetchJobTimeouts(budget: StartupBudget): { activeDeadlineSeconds: number; create: string; update: string } {
  const t = minutes(budget.fetchSeconds + PULUMI_MARGIN_SECONDS);
  return { activeDeadlineSeconds: budget.fetchSeconds, create: t, update: t };
}

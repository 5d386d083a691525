/** Runs the stack's Pulumi program under mocks and applies the policy suite to what it would declare. */
import { loadSettings } from "../config/load";
import { readStackConfig } from "../config/pulumi-config";
import { planCapacity, type CapacityPlan } from "../capacity/plan";
import { estimateCost, type CostEstimate } from "../cost/estimate";
import { runPolicies, type PolicyResult } from "../policy";
import type { PlannedResource } from "../policy/types";
import { capture } from "./capture";
import type { StackConfig } from "./stack-file";

export interface Plan {
  stack: string;
  environment: string;
  resources: PlannedResource[];
  policies: PolicyResult[];
  /** Estimated monthly cost of the stack's cloud clusters. */
  cost: CostEstimate;
  /** Replicas, nodes and cost at each model's traffic target (stacks/capacity). */
  capacity: CapacityPlan;
}

/** `now` is the plan date the time-bound policies judge at (default: the current time). */
export async function runPlan(cfg: StackConfig, opts: { now?: Date } = {}): Promise<Plan> {
  const { result, resources } = await capture(
    async () => {
      // Imported after the mocks are in place, as Pulumi's testing guide requires.
      const { main } = await import("../program");
      return main();
    },
    { project: cfg.project, stack: cfg.stack, config: cfg.config, secretKeys: cfg.secretKeys },
  );
  const environment = String(result.environment);
  // The program validated this config already; reading it again gives the typed settings the estimate needs.
  const settings = loadSettings(cfg.stack, readStackConfig(cfg.project));
  const cost = estimateCost(settings);
  // The program declares the cloud clusters in config order, so policies can name `clusters[i]`.
  const cloudClusterIndexes = settings.clusters.flatMap((c, i) => (c.substrate === "eks" || c.substrate === "aks" ? [i] : []));
  const stateSecrets = { ...cfg.stateSecrets, awsRegion: cfg.config["aws:region"] };
  const capacity = planCapacity(settings);
  const policies = runPolicies(resources, { environment, now: opts.now, cloudClusterIndexes, stateSecrets, capacity });
  return { stack: cfg.stack, environment, resources, policies, cost, capacity };
}

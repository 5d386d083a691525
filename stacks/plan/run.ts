/** Runs the stack's Pulumi program under mocks and applies the policy suite to what it would declare. */
import { loadSettings } from "../config/load";
import { readStackConfig } from "../config/pulumi-config";
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
}

export async function runPlan(cfg: StackConfig): Promise<Plan> {
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
  const cost = estimateCost(loadSettings(cfg.stack, readStackConfig(cfg.project)));
  return { stack: cfg.stack, environment, resources, policies: runPolicies(resources, { environment }), cost };
}

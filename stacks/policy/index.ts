/** The policy suite: the plan and the tests run exactly this list. */
import { capacityMeetsTarget } from "./rules-capacity";
import { nonRootContainers, secretsAreSecret, tlsOutsideLocal, workloadResources } from "./rules";
import { CLOUD_POLICIES } from "./rules-cloud";
import { KUBERNETES_POLICIES } from "./rules-kubernetes";
import { stateSecretsKms } from "./rules-state";
import { runtimeHopsTls } from "./rules-tls";
import { kubernetesVersionSupported } from "./rules-versions";
import type { Policy, PolicyContext, PolicyResult, PlannedResource } from "./types";

export type { Policy, PolicyContext, PolicyResult, PlannedResource } from "./types";

export const POLICIES: readonly Policy[] = [
  workloadResources,
  nonRootContainers,
  secretsAreSecret,
  tlsOutsideLocal,
  ...CLOUD_POLICIES,
  ...KUBERNETES_POLICIES,
  kubernetesVersionSupported,
  runtimeHopsTls,
  stateSecretsKms,
  capacityMeetsTarget,
];

export function runPolicy(policy: Policy, resources: readonly PlannedResource[], ctx: PolicyContext): PolicyResult {
  const violations = policy.check(resources, ctx);
  const notes = policy.notes?.(resources, ctx) ?? [];
  const verdict = violations.length === 0 ? policy.description : violations.map((v) => `${v.resource}: ${v.message}`).join("; ");
  return {
    name: policy.name,
    passed: violations.length === 0,
    message: notes.length === 0 ? verdict : `${verdict} Note: ${notes.join("; ")}`,
  };
}

export function runPolicies(resources: readonly PlannedResource[], ctx: PolicyContext): PolicyResult[] {
  return POLICIES.map((p) => runPolicy(p, resources, ctx));
}

import type { CapacityPlan } from "../capacity/plan";

/** What the policy suite reads: the planned resources, as recorded under mocks. */
export interface PlannedResource {
  type: string;
  name: string;
  /** `type::name` of the parent component, or null at the top of the stack. */
  parent: string | null;
  inputs: Record<string, unknown>;
  /** The resource's `customTimeouts` option, where the program set one (Pulumi's default wait is 10 minutes). */
  customTimeouts?: { create?: string; update?: string; delete?: string };
}

export interface PolicyContext {
  environment: string;
  /** The plan date that time-bound rules (version support) are judged at; default: now. */
  now?: Date;
  /** Config indexes (`clusters[i]`) of the EKS/AKS clusters, in the order the plan declares them. */
  cloudClusterIndexes?: readonly number[];
  /** The stack file's secrets provider, where the caller read the stack file (unset: not judged). */
  stateSecrets?: { file: string; secretsProvider?: string; hasEncryptionSalt: boolean; awsRegion?: string };
  /** The stack's capacity plan (stacks/capacity), where the plan computed one. */
  capacity?: CapacityPlan;
}

export interface Violation {
  /** `type::name` of the offending resource. */
  resource: string;
  message: string;
}

export interface Policy {
  name: string;
  description: string;
  check(resources: readonly PlannedResource[], ctx: PolicyContext): Violation[];
  /** Findings that do not fail the policy (over-provisioning, say): reported after its verdict. */
  notes?(resources: readonly PlannedResource[], ctx: PolicyContext): string[];
}

export interface PolicyResult {
  name: string;
  passed: boolean;
  message: string;
}

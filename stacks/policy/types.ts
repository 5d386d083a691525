/** What the policy suite reads: the planned resources, as recorded under mocks. */
export interface PlannedResource {
  type: string;
  name: string;
  /** `type::name` of the parent component, or null at the top of the stack. */
  parent: string | null;
  inputs: Record<string, unknown>;
}

export interface PolicyContext {
  environment: string;
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
}

export interface PolicyResult {
  name: string;
  passed: boolean;
  message: string;
}

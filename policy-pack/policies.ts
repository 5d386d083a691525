/**
 * The rules of stacks/policy as Pulumi stack policies. Each pack policy runs the very `Policy.check` the offline
 * plan runs, over the stack's resources as Pulumi resolved them, with the context the plan gives it (the
 * environment, cluster order, secrets provider and capacity plan, read from the stack's own stack file).
 */
import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { planCapacity } from "../stacks/capacity/plan";
import { loadSettings } from "../stacks/config/load";
import { rawConfigOf, readStackConfigFile, type StackConfig } from "../stacks/plan/stack-file";
import { POLICIES, type PlannedResource, type Policy, type PolicyContext } from "../stacks/policy";

export const PACK_NAME = "llm-platform";

/**
 * Rules the pack leaves to the offline plan, with why. The policy SDK hands policies secret values already
 * unwrapped (deserializeProperties(..., false) in @pulumi/policy's server.js), so whether a value is a Pulumi
 * secret cannot be judged there; the offline plan judges it on the same program.
 */
export const NOT_IN_PACK: Readonly<Record<string, string>> = {
  "secrets-are-pulumi-secrets": "secret values reach policies unwrapped, so their secretness is not visible to a pack",
};

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** A resource as the policy SDK gives it, in the shape the rules read (the offline plan's `PlannedResource`). */
export function toPlanned(r: PolicyResource): PlannedResource {
  // The plan's parent is null at the top of the stack, where the engine's is the stack resource.
  const parent = r.parent && r.parent.type !== "pulumi:pulumi:Stack" ? key(r.parent) : null;
  const planned: PlannedResource = { type: r.type, name: r.name, parent, inputs: r.props };
  const t = r.opts?.customTimeouts;
  const timeouts = Object.fromEntries(
    (
      [
        ["create", t?.createSeconds],
        ["update", t?.updateSeconds],
        ["delete", t?.deleteSeconds],
      ] as const
    ).flatMap(([op, s]) => (s !== undefined && s > 0 ? [[op, `${s}s`]] : [])),
  );
  if (Object.keys(timeouts).length > 0) planned.customTimeouts = timeouts;
  return planned;
}

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function stackOf(resources: readonly PolicyResource[]): string {
  const m = /^urn:pulumi:([^:]+)::/.exec(resources[0]?.urn ?? "");
  if (!m) throw new Error("policy pack: cannot tell the stack from the resources' URNs");
  return m[1];
}

/** The context the offline plan gives the rules, from the stack file the update runs with. */
export function contextFor(cfg: StackConfig, now?: Date): PolicyContext {
  const environment = cfg.config[`${cfg.project}:environment`];
  if (environment === undefined) throw new Error(`policy pack: ${cfg.stateSecrets.file} sets no ${cfg.project}:environment`);
  const clusters = JSON.parse(cfg.config[`${cfg.project}:clusters`] ?? "[]") as { substrate?: string }[];
  return {
    environment,
    now,
    cloudClusterIndexes: clusters.flatMap((c, i) => (c.substrate === "eks" || c.substrate === "aks" ? [i] : [])),
    stateSecrets: { ...cfg.stateSecrets, awsRegion: cfg.config["aws:region"] },
    // The same capacity plan the offline plan judges, from the same settings.
    capacity: planCapacity(loadSettings(cfg.stack, rawConfigOf(cfg))),
  };
}

/** One rule as a mandatory stack policy: runs `policy.check` and reports each violation on its resource. */
export function packPolicy(
  policy: Policy,
  context: (resources: readonly PolicyResource[]) => PolicyContext,
): StackValidationPolicy {
  return {
    name: policy.name,
    description: policy.description,
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const resources = args.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
      const urns = new Map(resources.map((r) => [key(r), r.urn] as const));
      for (const v of policy.check(resources.map(toPlanned), context(args.resources)))
        report(`${v.resource}: ${v.message}`, urns.get(v.resource));
    },
  };
}

/** Every rule of the suite but those in NOT_IN_PACK, judged against the stack file of the stack being updated. */
export function packPolicies(readStack: (stack: string) => StackConfig = readStackConfigFile): StackValidationPolicy[] {
  const context = (resources: readonly PolicyResource[]) => contextFor(readStack(stackOf(resources)));
  return POLICIES.filter((p) => !(p.name in NOT_IN_PACK)).map((p) => packPolicy(p, context));
}

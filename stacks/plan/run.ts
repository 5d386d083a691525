/**
 * Runs the Pulumi program in-process under mocks and records what it would declare. One stack per process:
 * Pulumi's config and mock monitor are process-wide.
 */
import * as pulumi from "@pulumi/pulumi";
import { runPolicies, type PolicyResult } from "../policy";
import type { PlannedResource } from "../policy/types";
import { createMocks, type RecordedResource } from "./mocks";
import type { StackConfig } from "./stack-file";

export interface Plan {
  stack: string;
  environment: string;
  resources: PlannedResource[];
  policies: PolicyResult[];
}

const resourceKey = (type: string, name: string) => `${type}::${name}`;

/** Resolves when no registration has arrived for `quietMs`: mocks answer asynchronously. */
async function settle(count: () => number, quietMs = 100, maxMs = 60_000): Promise<void> {
  const start = Date.now();
  let last = -1;
  while (Date.now() - start < maxMs) {
    const now = count();
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

export async function runPlan(cfg: StackConfig): Promise<Plan> {
  pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
  const recorded: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    createMocks((r) => recorded.push(r)),
    cfg.project,
    cfg.stack,
    true,
  );

  const identity = new WeakMap<pulumi.Resource, string>();
  const parents = new Map<string, string | null>();
  // Imported after the mocks are in place, as Pulumi's testing guide requires.
  const { main } = await import("../program");
  let environment = "";
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const key = resourceKey(args.type, args.name);
      identity.set(args.resource, key);
      const parent = args.opts.parent ? identity.get(args.opts.parent) : undefined;
      parents.set(key, parent ?? null);
      return undefined;
    });
    const outputs = main();
    environment = String(outputs.environment);
    return outputs;
  });
  await settle(() => recorded.length);

  const resources: PlannedResource[] = recorded
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r) => {
      const parent = parents.get(resourceKey(r.type, r.name)) ?? null;
      return {
        type: r.type,
        name: r.name,
        parent: parent?.startsWith("pulumi:pulumi:Stack::") ? null : parent,
        inputs: r.inputs,
      };
    });
  return { stack: cfg.stack, environment, resources, policies: runPolicies(resources, { environment }) };
}

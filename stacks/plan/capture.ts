/**
 * Runs code that declares Pulumi resources under mocks and returns what it declared, with each resource's
 * parent. Shared by the offline plan and the component tests. Config and mocks are process-wide in the
 * Pulumi SDK, so one process captures one program (Node's test runner gives each test file its own process).
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlannedResource } from "../policy/types";
import { createMocks, type RecordedResource } from "./mocks";

export interface CaptureOptions {
  project?: string;
  stack?: string;
  /** Full config keys (`project:key`) to string values (objects as JSON). */
  config?: Record<string, string>;
  secretKeys?: string[];
}

const resourceKey = (type: string, name: string) => `${type}::${name}`;

/** Resolves once no registration has arrived for `quietMs`: the mock monitor answers asynchronously. */
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

export interface Captured<T> {
  result: T;
  resources: PlannedResource[];
}

export async function capture<T>(program: () => T | Promise<T>, opts: CaptureOptions = {}): Promise<Captured<T>> {
  pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
  const recorded: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    createMocks((r) => recorded.push(r)),
    opts.project ?? "llm-platform",
    opts.stack ?? "test",
    true,
  );

  const identity = new WeakMap<pulumi.Resource, string>();
  const parents = new Map<string, string | null>();
  const timeouts = new Map<string, NonNullable<PlannedResource["customTimeouts"]>>();
  let result: T | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const key = resourceKey(args.type, args.name);
      identity.set(args.resource, key);
      parents.set(key, (args.opts.parent && identity.get(args.opts.parent)) ?? null);
      const t = (args.opts as pulumi.CustomResourceOptions).customTimeouts;
      if (t) timeouts.set(key, { ...t });
      return undefined;
    });
    result = await program();
    return {};
  });
  await settle(() => recorded.length);

  const resources = recorded
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r) => {
      const key = resourceKey(r.type, r.name);
      const planned: PlannedResource = { type: r.type, name: r.name, parent: parents.get(key) ?? null, inputs: r.inputs };
      const t = timeouts.get(key);
      if (t) planned.customTimeouts = t;
      return planned;
    });
  return { result: result as T, resources };
}

/**
 * The policy pack runs the very rules of stacks/policy: its validateStack, over the resources of a mock plan
 * shaped the way the policy SDK hands them over (URNs, parent objects, secrets unwrapped, timeouts in
 * seconds), reports exactly the violations the offline plan reports for the same resources.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { NOT_IN_PACK, packPolicies, stackOf, toPlanned } from "../../../policy-pack/policies";
import { runPlan } from "../../../stacks/plan/run";
import { readStackConfigFile, type StackConfig } from "../../../stacks/plan/stack-file";
import { POLICIES, runPolicies, type PlannedResource } from "../../../stacks/policy";
import { durationSeconds } from "../../../stacks/policy/rules-kubernetes";
import { reveal } from "../../../stacks/policy/inspect";

const STACK = "prod";
const NOW = new Date("2026-12-01T00:00:00Z");
let cfg: StackConfig;
let planned: PlannedResource[];

/** What the policy SDK does to a property bag: secrets unwrapped (deserializeProperties(..., false)). */
function unwrap(v: unknown): unknown {
  const x = reveal(v);
  if (Array.isArray(x)) return x.map(unwrap);
  if (x !== null && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, unwrap(y)]));
  return x;
}

/** The plan's resources as the policy SDK gives them to validateStack. */
function asPolicyResources(resources: readonly PlannedResource[]): PolicyResource[] {
  const root: PlannedResource = { type: "pulumi:pulumi:Stack", name: `llm-platform-${STACK}`, parent: null, inputs: {} };
  const seconds = (d?: string) => (d === undefined ? 0 : durationSeconds(d));
  const byKey = new Map<string, PolicyResource>();
  const all = [root, ...resources].map((r) => {
    const t = r.customTimeouts;
    const pr = {
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:${STACK}::llm-platform::${r.type}::${r.name}`,
      props: unwrap(r.inputs) as Record<string, unknown>,
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        additionalSecretOutputs: [],
        customTimeouts: {
          createSeconds: seconds(t?.create),
          updateSeconds: seconds(t?.update),
          deleteSeconds: seconds(t?.delete),
        },
      },
      dependencies: [],
      propertyDependencies: {},
    } as unknown as PolicyResource;
    byKey.set(`${r.type}::${r.name}`, pr);
    return { pr, parent: r === root ? `${root.type}::${root.name}` : r.parent };
  });
  // Under the engine every top-level component is a child of the stack resource.
  for (const { pr, parent } of all.slice(1))
    (pr as { parent?: PolicyResource }).parent = byKey.get(parent ?? `${root.type}::${root.name}`);
  return all.map((o) => o.pr);
}

/** Runs one pack policy's validateStack and returns the messages it reported. */
async function validate(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<string[]> {
  const out: string[] = [];
  const args = { resources, stackTags: new Map(), getConfig: () => ({}) as never, notApplicable: () => undefined as never };
  await policy.validateStack(args, (message) => out.push(message));
  return out;
}

/** The offline plan's messages for one policy, split back into violations. */
const planMessages = (resources: readonly PlannedResource[], name: string, stateCfg = cfg) => {
  const result = runPolicies(resources, {
    environment: "prod",
    now: NOW,
    cloudClusterIndexes: [0],
    stateSecrets: { ...stateCfg.stateSecrets, awsRegion: stateCfg.config["aws:region"] },
  }).find((r) => r.name === name)!;
  return result.passed ? [] : result.message.split("; ");
};

const pack = (readStack = (_: string) => cfg) => packPolicies(readStack);

before(async () => {
  cfg = readStackConfigFile(STACK);
  planned = (await runPlan(cfg, { now: NOW })).resources;
});

test("the pack holds every rule of the suite but those it cannot judge, each mandatory", () => {
  const names = pack().map((p) => p.name);
  assert.deepEqual(
    names,
    POLICIES.map((p) => p.name).filter((n) => !(n in NOT_IN_PACK)),
  );
  assert.ok(pack().every((p) => p.enforcementLevel === "mandatory"));
  assert.deepEqual(Object.keys(NOT_IN_PACK), ["secrets-are-pulumi-secrets"]);
});

test("the SDK's resources convert back to the plan's: same parents, same timeouts, the stack from the URN", () => {
  const resources = asPolicyResources(planned);
  assert.equal(stackOf(resources), STACK);
  const back = resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map(toPlanned);
  assert.deepEqual(
    back.map((r) => [r.type, r.name, r.parent]),
    planned.map((r) => [r.type, r.name, r.parent]),
  );
  const deployment = planned.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.customTimeouts)!;
  const converted = back.find((r) => r.name === deployment.name && r.type === deployment.type)!;
  assert.equal(durationSeconds(converted.customTimeouts!.create!), durationSeconds(deployment.customTimeouts!.create!));
});

test("on prod's plan the pack reports what the offline plan reports: nothing", async () => {
  const resources = asPolicyResources(planned);
  for (const p of pack()) assert.deepEqual(await validate(p, resources), planMessages(planned, p.name), p.name);
});

test("a runtime the gateway reaches without TLS: the pack's violation is the offline plan's", async () => {
  const broken = planned.filter((r) => !r.type.endsWith(":BackendTLSPolicy"));
  const expected = planMessages(broken, "runtime-hops-tls");
  assert.ok(expected.length > 0);
  assert.match(expected[0], /Service::.*the gateway reaches it without TLS/);
  const policy = pack().find((p) => p.name === "runtime-hops-tls")!;
  assert.deepEqual(await validate(policy, asPolicyResources(broken)), expected);
});

test("a stack file on the passphrase provider: the pack reads the same stack file and reports the same violation", async () => {
  const passphrase: StackConfig = {
    ...cfg,
    stateSecrets: { file: "stacks/Pulumi.prod.yaml", hasEncryptedKey: false, hasEncryptionSalt: true },
  };
  const expected = planMessages(planned, "state-secrets-kms", passphrase);
  assert.match(expected[0], /secretsprovider is not declared/);
  const policy = pack(() => passphrase).find((p) => p.name === "state-secrets-kms")!;
  assert.deepEqual(await validate(policy, asPolicyResources(planned)), expected);
});

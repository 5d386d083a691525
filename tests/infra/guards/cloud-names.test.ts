/**
 * Guard: every cloud name in the plans of all six stacks fits its provider's rules (components/clusters/
 * names.ts), counting what the provider appends; a failure names the resource, the name and the config
 * key whose value makes it too long.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkResourceNames, NAMED_RESOURCES, type NameProblem } from "../../../components/clusters/names";
import { readStackConfigFile } from "../../../stacks/plan/stack-file";
import { planJson } from "../helpers";

const STACKS = ["local", "dev", "staging", "prod", "onprem", "dr"];

/** Every string value of the stack file's config, by its key path (`clusters[0].name`). */
function configLeaves(config: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === "string") out.push([path, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  for (const [key, raw] of Object.entries(config)) {
    const short = key.slice(key.indexOf(":") + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    walk(value, short);
  }
  return out;
}

/** The config key whose value the name is built from (the longest value the name contains). */
export function configKeyFor(name: string, config: Record<string, string>): string | undefined {
  const hits = configLeaves(config).filter(([, v]) => v.length >= 3 && name.toLowerCase().includes(v.toLowerCase()));
  hits.sort((a, b) => b[1].length - a[1].length);
  return hits[0]?.[0];
}

const describe = (p: NameProblem, config: Record<string, string>) =>
  `${p.resource}: ${p.problems.join("; ")} (config key: ${configKeyFor(p.name, config) ?? "none; a name the component builds"})`;

for (const stack of STACKS)
  test(`stack ${stack}: every cloud name fits its provider's rules`, async () => {
    const plan = await planJson(stack);
    const config = readStackConfigFile(stack).config;
    if (stack !== "local" && stack !== "onprem")
      assert.ok(plan.resources.filter((r) => r.type in NAMED_RESOURCES).length >= 4, "the cloud stacks' names are checked");
    assert.deepEqual(
      checkResourceNames(plan.resources).map((p) => describe(p, config)),
      [],
    );
  });

test("the guard names the resource, the name and the config key that makes it too long", () => {
  const cluster = `prod-${"x".repeat(40)}`;
  const config = { "llm-platform:clusters": JSON.stringify([{ name: cluster, substrate: "eks" }]) };
  const problems = checkResourceNames([
    { type: "aws:iam/role:Role", name: `${cluster}-cluster-autoscaler`, inputs: {} },
    { type: "aws:s3/bucket:Bucket", name: "m", inputs: { bucket: "Models_Bucket" } },
    { type: "azure-native:containerservice:ManagedCluster", name: "c", inputs: { agentPoolProfiles: [{ name: "system-pool" }] } },
    { type: "aws:iam/role:Role", name: "short", inputs: {} },
  ]);
  assert.deepEqual(
    problems.map((p) => p.resource),
    [
      `aws:iam/role:Role::${cluster}-cluster-autoscaler`,
      "aws:s3/bucket:Bucket::m",
      "azure-native:containerservice:ManagedCluster::c",
    ],
  );
  assert.match(
    describe(problems[0], config),
    /aws:iam\/role:Role::prod-x+-cluster-autoscaler: IAM role name .* > 64 \(config key: clusters\[0\]\.name\)/,
  );
});

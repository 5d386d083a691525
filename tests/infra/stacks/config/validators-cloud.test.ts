import assert from "node:assert/strict";
import { test } from "node:test";
import { settingsOf } from "./fixtures";
import type { Settings } from "../../../../stacks/config/schema";
import {
  validateCloudRegions,
  validateDisasterRecovery,
  validateGpuMachineTypes,
  validateImageLocality,
  validateModelStores,
  validateNetworkOverlaps,
} from "../../../../stacks/config/validators";
import { formatIssue } from "../../../../stacks/config/issues";

const prod = () => settingsOf("prod");
const eks = (s: Settings) => s.clusters.find((c) => c.substrate === "eks")!;
const messages = (issues: { path: readonly (string | number)[]; message: string }[]) => issues.map(formatIssue);

test("every cloud stack passes the cloud rules", () => {
  for (const stack of ["dev", "staging", "prod", "dr"]) assert.doesNotThrow(() => settingsOf(stack), stack);
});

test("unknown regions are named with the allowed examples", () => {
  const s = prod();
  const c = eks(s) as Extract<Settings["clusters"][number], { substrate: "eks" }>;
  c.region = "us-east-9";
  assert.match(messages(validateCloudRegions(s))[0], /^clusters\[0\]\.region: must be a known AWS region .*got "us-east-9"/);
});

test("GPU pools must name GPU instance types", () => {
  const s = prod();
  const c = eks(s) as Extract<Settings["clusters"][number], { substrate: "eks" }>;
  c.gpuPools[0].instanceTypes = ["m7i.xlarge"];
  assert.match(
    messages(validateGpuMachineTypes(s))[0],
    /^clusters\[0\]\.gpuPools\[0\]\.instanceTypes\[0\]: must be an EC2 instance type with NVIDIA GPUs/,
  );
});

test("overlapping networks across a hybrid stack are reported with both keys", () => {
  const s = prod();
  const onprem = s.clusters.find((c) => c.substrate === "onprem") as Extract<
    Settings["clusters"][number],
    { substrate: "onprem" }
  >;
  onprem.network = { podCidr: "10.20.128.0/17", nodeCidrs: [] };
  assert.deepEqual(messages(validateNetworkOverlaps(s)), [
    'clusters[1].network.podCidr: overlaps clusters[0].vpcCidr (10.20.0.0/16); every network of a stack must be disjoint, got "10.20.128.0/17"',
  ]);
});

test("the DR peer must be another region, and the dr stack must read replicas", () => {
  const s = prod();
  const c = eks(s) as Extract<Settings["clusters"][number], { substrate: "eks" }>;
  c.dr = { region: c.region, modelBucket: "other-bucket" };
  assert.match(messages(validateDisasterRecovery(s))[0], /^clusters\[0\]\.dr\.region: must differ from the cluster's region/);
  const dr = settingsOf("dr");
  (eks(dr) as Extract<Settings["clusters"][number], { substrate: "eks" }>).artifacts.role = "primary";
  assert.match(messages(validateDisasterRecovery(dr))[0], /artifacts\.role: must be 'replica' in environment dr/);
});

test("s3 model sources must be in the serving cluster's model bucket", () => {
  const s = prod();
  s.models[0].source = { kind: "s3", uri: "s3://someone-elses-bucket/m/" };
  assert.match(messages(validateModelStores(s))[0], /^models\[0\]\.source\.uri: must be in s3:\/\/llm-platform-prod-models\//);
});

test("the dr stack may not pull its image from another region", () => {
  const dr = settingsOf("dr");
  dr.runtime.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm-platform/llm-runtime:0.1.0";
  assert.match(
    messages(validateImageLocality(dr))[0],
    /^runtime\.image: must come from the ECR replica in this stack's region \(us-west-2\)/,
  );
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { checkDrIndependence, drPrerequisites } from "../../../../stacks/config/dr-prerequisites";
import { settingsOf } from "../../../../stacks/config/promotion";
import type { Settings } from "../../../../stacks/config/schema";
import { readStackConfigFile } from "../../../../stacks/plan/stack-file";
import { REPO_ROOT } from "../../helpers";

const stack = (name: string) => settingsOf(readStackConfigFile(name));
const edit = (s: Settings, f: (s: Settings) => void) => {
  const copy = structuredClone(s);
  f(copy);
  return copy;
};

test("the dr stack needs the replicated model artifacts and the runtime image", () => {
  assert.deepEqual(drPrerequisites(stack("dr")), [
    { kind: "s3", target: "s3://llm-platform-prod-models-replica/models/llama-3.1-8b-instruct-int4/2026-11-28.1/" },
    { kind: "image", target: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-platform/llm-runtime:0.1.0-cuda" },
  ]);
});

test("a model on an on-prem volume needs nothing from the cloud, its bucket twin does", () => {
  assert.deepEqual(
    drPrerequisites(stack("prod")).map((p) => p.kind),
    ["s3", "image"],
  );
});

test("the repository's dr stack stands on its own: another region, the replica bucket", () => {
  assert.deepEqual(checkDrIndependence(stack("prod"), stack("dr")), []);
});

test("flags a dr stack that reads prod's bucket or runs in prod's region", () => {
  const prod = stack("prod");
  const sameBucket = edit(stack("dr"), (s) => {
    s.models[0].source = {
      ...s.models[0].source,
      kind: "s3",
      uri: "s3://llm-platform-prod-models/models/llama-3.1-8b-instruct-int4",
    };
  });
  assert.deepEqual(checkDrIndependence(prod, sameBucket), [
    "models.llama-31-8b-instruct on dr-uswest2: reads s3://llm-platform-prod-models, prod's own bucket; point it at the replica in the DR region",
  ]);
  const sameRegion = edit(stack("dr"), (s) => {
    const c = s.clusters[0];
    if (c.substrate === "eks") c.region = "us-east-1";
  });
  assert.deepEqual(checkDrIndependence(prod, sameRegion), [
    "clusters: dr runs in us-east-1, a region prod also runs in",
    "clusters: dr runs in us-east-1 but prod replicates to us-west-2 (clusters[].dr.region)",
  ]);
});

test("flags a dr stack that pulls its image from ECR in prod's region", () => {
  const dr = edit(stack("dr"), (s) => {
    s.runtime.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm-platform/llm-runtime:0.1.0-cuda";
  });
  assert.deepEqual(checkDrIndependence(stack("prod"), dr), [
    "runtime.image: pulled from ECR in us-east-1, prod's region; use the replica in the DR region",
  ]);
});

test("the command prints one prerequisite per line for dr.yml to check", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "stacks/config/dr-prerequisites.ts"], {
    cwd: REPO_ROOT,
  });
  assert.equal(
    stdout,
    "s3 s3://llm-platform-prod-models-replica/models/llama-3.1-8b-instruct-int4/2026-11-28.1/\n" +
      "image 123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-platform/llm-runtime:0.1.0-cuda\n",
  );
});

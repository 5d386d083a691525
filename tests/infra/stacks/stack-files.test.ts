/** Every stack file in the repo loads, validates and plans under mocks; the policy suite passes on each. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { ENVIRONMENTS } from "../../../stacks/config/schema";
import { planJson, REPO_ROOT } from "../helpers";

const stackFiles = readdirSync(path.join(REPO_ROOT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
const stacks = stackFiles.map((f) => f.replace(/^Pulumi\.(.+)\.yaml$/, "$1"));

test("there is one stack file per environment", () => {
  assert.deepEqual([...stacks].sort(), [...ENVIRONMENTS].sort());
});

test("each stack file declares the environment of its name", () => {
  for (const file of stackFiles) {
    const doc = parse(readFileSync(path.join(REPO_ROOT, "stacks", file), "utf8")) as { config: Record<string, unknown> };
    assert.equal(doc.config["llm-platform:environment"], file.split(".")[1], file);
  }
});

describe("offline plan of every stack", { concurrency: 2 }, () => {
  for (const stack of stacks) {
    const doc = parse(readFileSync(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as {
      config: Record<string, { substrate: string; name: string }[]>;
    };
    const clusters = doc.config["llm-platform:clusters"];
    test(`${stack}: plans every cluster with every policy passing`, async () => {
      const plan = await planJson(stack);
      const failed = plan.policies.filter((p) => !p.passed);
      assert.deepEqual(failed, [], `policies failed on ${stack}`);
      for (const c of clusters)
        assert.ok(
          plan.resources.some((r) => r.name === `${c.name}-k8s`),
          `provider for ${c.name}`,
        );
    });
  }
});

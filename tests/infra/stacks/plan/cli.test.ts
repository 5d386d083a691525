/** The offline plan command: its JSON shape, secret masking, exit codes and error messages. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { planCli, planJson, REPO_ROOT } from "../../helpers";

describe("plan --json", () => {
  test("prints exactly one JSON document with stack, resources and policies", async () => {
    const r = await planCli(["onprem", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(doc.stack, "onprem");
    assert.ok(Array.isArray(doc.resources) && Array.isArray(doc.policies));
    for (const res of doc.resources as Record<string, unknown>[]) {
      // customTimeouts only where the program set them (the model Deployments).
      const keys = Object.keys(res).filter((k) => !(k === "customTimeouts" && res.type === "kubernetes:apps/v1:Deployment"));
      assert.deepEqual(keys.sort(), ["inputs", "name", "parent", "type"]);
      assert.equal(typeof res.type, "string");
      assert.ok(res.parent === null || typeof res.parent === "string");
    }
    for (const p of doc.policies as Record<string, unknown>[])
      assert.deepEqual(Object.keys(p).sort(), ["message", "name", "passed"]);
  });

  test("masks secret values: kubeconfig and API keys never appear", async () => {
    const plan = await planJson("onprem");
    const text = JSON.stringify(plan);
    assert.doesNotMatch(text, /offline-plan-secret/);
    const provider = plan.resources.find((r) => r.type === "pulumi:providers:kubernetes");
    assert.equal((provider?.inputs as Record<string, unknown>).kubeconfig, "[secret]");
    const keys = plan.resources.find((r) => r.type === "kubernetes:core/v1:Secret");
    assert.equal((keys?.inputs as Record<string, unknown>).stringData, "[secret]");
  });

  test("every parent names a resource of the plan", async () => {
    const plan = await planJson("local");
    const ids = new Set(plan.resources.map((r) => `${r.type}::${r.name}`));
    for (const r of plan.resources) if (r.parent !== null) assert.ok(ids.has(r.parent), `${r.name} -> ${r.parent}`);
  });
});

describe("plan text output", () => {
  test("lists every resource with type, name and parent, then the policy results", async () => {
    const r = await planCli(["local"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TYPE\s+NAME\s+PARENT$/m);
    assert.match(r.stdout, /kubernetes:apps\/v1:Deployment\s+laptop-demo\s+llm:serving:LlmService::laptop-demo/);
    assert.match(r.stdout, /All \d+ policies passed\./);
  });
});

describe("plan errors", () => {
  test("unknown stack names the file it looked for and lists the stacks that exist", async () => {
    const r = await planCli(["nope"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No stack file for 'nope': expected stacks\/Pulumi\.nope\.yaml/);
    assert.match(r.stderr, /\(stacks: dev, dr, local, onprem, prod, staging\)/);
  });

  /** The repo's local stack file with `edit` applied, written to a temporary folder. */
  const variant = (edit: (text: string) => string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "plan-")), "Pulumi.local.yaml");
    writeFileSync(file, edit(readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")));
    return file;
  };

  test("a YAML syntax error names the file, line and column, without a stack trace", async () => {
    const file = variant((t) => t.replace("llm-platform:domain:", "llm-platform:domain: [unclosed\n  x:"));
    const r = await planCli(["local", "--config-file", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: invalid YAML: `));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, "");
  });

  test("a misspelled project namespace is reported as an unknown key with the project key suggested", async () => {
    const file = variant((t) => t.replace("llm-platform:domain:", "llm-platfrom:domain:"));
    const r = await planCli(["local", "--config-file", file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /- llm-platfrom:domain: is not a known config key: namespace 'llm-platfrom' is neither this project's nor a provider's \(aws, azure-native, kubernetes, pulumi\); did you mean 'domain' in the project's namespace\?/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test("missing stack argument prints usage", async () => {
    const r = await planCli([]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /usage: npm run --silent plan -- <stack>/);
  });

  test("a broken config exits non-zero with the validation message and no stack trace", async () => {
    // The repo's onprem stack file with one bad value.
    const file = path.join(mkdtempSync(path.join(tmpdir(), "plan-")), "Pulumi.onprem.yaml");
    writeFileSync(
      file,
      readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.onprem.yaml"), "utf8").replace("gpus: 1", "gpus: 12"),
    );
    const r = await planCli(["onprem", "--config-file", file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Invalid configuration for stack 'onprem' \(1 problem\):\n {2}- models\[0\]\.gpus: must be <= 8, got 12/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, "");
  });
});

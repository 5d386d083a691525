/** `npm run capacity`: its report, JSON, exit codes and error messages, as the plan CLI's. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { capacityCli, REPO_ROOT } from "../../helpers";

const dir = mkdtempSync(path.join(tmpdir(), "capacity-cli-"));
const prodFile = readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.prod.yaml"), "utf8");
const variant = (name: string, from: string, to: string) => {
  assert.ok(prodFile.includes(from), from);
  const file = path.join(dir, name);
  writeFileSync(file, prodFile.replace(from, to));
  return file;
};

describe("capacity <stack>", () => {
  test("prints replicas, GPU nodes, monthly cost and cost per million tokens with the table row used; exit 0", async () => {
    const r = await capacityCli(["prod"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {4}table row L40S\/8b-int4\/1gpu \(derived, \d{4}-\d{2}-\d{2}\): roofline/m);
    assert.match(r.stdout, /^ {4}replicas: 5 meet the objectives, 5 at peak; models\[0\]\.replicas\.max is 8$/m);
    assert.match(
      r.stdout,
      /^ {4}GPU nodes: 5 x g6e\.2xlarge \(1 replica per node, 5 GPUs\); \$8,183\.59\/month at peak, \$0\.46 per million tokens/m,
    );
    assert.match(r.stdout, /^ {2}llama-31-8b-instruct on dc1 \(onprem\): .*\n {4}not sized: /m);
  });

  test("--json carries the plan, with no shortfalls for prod", async () => {
    const r = await capacityCli(["prod", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { stack: string; models: { nodesAtPeak: number | null }[]; shortfalls: string[] };
    assert.equal(doc.stack, "prod");
    assert.equal(doc.models[0].nodesAtPeak, 5);
    assert.deepEqual(doc.shortfalls, []);
  });

  test("exit 2 with the keys named when the pool cannot meet the target", async () => {
    const r = await capacityCli([
      "prod",
      "--config-file",
      variant("short.yaml", "requestsPerSecond: 8\n", "requestsPerSecond: 33.3\n"),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stdout,
      /Targets not met:\n {2}- llama-31-8b-instruct@prod-useast1: models\[0\]\.replicas\.max is 8; the target needs 20 replicas at peak \(12 replicas short\)/,
    );
  });

  test("exit 1 naming the key for an invalid target", async () => {
    const r = await capacityCli([
      "prod",
      "--config-file",
      variant("both.yaml", "requestsPerSecond: 8\n", "requestsPerSecond: 8\n        tokensPerSecond: 2000\n"),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /models\[0\]\.target: must set exactly one of requestsPerSecond and tokensPerSecond \(both are set\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test("exit 64 with the usage for bad arguments", async () => {
    for (const args of [[], ["prod", "dev"], ["prod", "--bogus"], ["--import-bench", "x.json"]]) {
      const r = await capacityCli(args);
      assert.equal(r.code, 64, args.join(" "));
      assert.match(r.stderr, /usage: npm run --silent capacity -- <stack>/);
    }
  });

  test("--import-bench writes a measured row into the table it is given", async () => {
    const table = path.join(dir, "throughput.json");
    copyFileSync(path.join(REPO_ROOT, "stacks", "capacity", "throughput.json"), table);
    const bench = path.join(dir, "bench.json");
    writeFileSync(bench, JSON.stringify({ rows: [{ concurrency: 1, server_tokens_per_s: 70, ttft_p50_ms: 80 }] }));
    const r = await capacityCli(["--import-bench", bench, "--gpu", "L40S", "--model-class", "8b-int4", "--table", table]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /measured row L40S\/8b-int4 \(1 batch sizes\) replaces the derived row/);
    const rows = (JSON.parse(readFileSync(table, "utf8")) as { rows: { gpu: string; modelClass: string; kind: string }[] }).rows;
    assert.equal(rows.find((x) => x.gpu === "L40S" && x.modelClass === "8b-int4")?.kind, "measured");
    const missing = await capacityCli([
      "--import-bench",
      path.join(dir, "none.json"),
      "--gpu",
      "L40S",
      "--model-class",
      "8b-int4",
      "--table",
      table,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^--import-bench: cannot read .*none\.json: ENOENT$/m);
  });
});

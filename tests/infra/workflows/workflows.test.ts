/**
 * The GitHub Actions workflows: each validates with action-validator (as `npm run lint` does), references only
 * scripts and files that exist, pins its actions, grants least privilege, and keeps the promises the
 * operations docs make (one update per stack at a time, dev -> staging -> prod, fork-safe previews).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { stacksIn } from "../../../stacks/plan/preview";
import { REPO_ROOT } from "../helpers";

const run = promisify(execFile);
const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
const files = readdirSync(WORKFLOWS)
  .filter((f) => f.endsWith(".yml"))
  .sort();
const text = (f: string) => readFileSync(path.join(WORKFLOWS, f), "utf8");

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  uses?: string;
  needs?: string | string[];
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  environment?: { name: string } | string;
  steps?: Step[];
  strategy?: { matrix?: Record<string, unknown> };
  with?: Record<string, unknown>;
  if?: string;
};
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };
const workflow = (f: string) => parse(text(f)) as Workflow;

const validator = path.join(REPO_ROOT, "node_modules", ".bin", "action-validator");

async function validate(file: string): Promise<{ code: number; output: string }> {
  try {
    await run(validator, [file]);
    return { code: 0, output: "" };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

test("the workflows the operations docs describe are all there", () => {
  for (const f of [
    "ci.yml",
    "preview.yml",
    "preview-comment.yml",
    "deploy.yml",
    "pulumi-up.yml",
    "image.yml",
    "dr.yml",
    "state-backup.yml",
    "drift.yml",
    "model.yml",
  ])
    assert.ok(files.includes(f), `${f} is missing`);
});

for (const f of files)
  test(`${f} passes action-validator`, async () => {
    const r = await validate(path.join(WORKFLOWS, f));
    assert.equal(r.code, 0, r.output);
  });

test("action-validator rejects a broken workflow, so the check can fail", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-"));
  const bad = path.join(dir, "bad.yml");
  writeFileSync(bad, text("deploy.yml").replace("needs: staging", "needs: stagin"));
  const r = await validate(bad);
  assert.equal(r.code, 1);
  assert.match(r.output, /unresolved job stagin/);
});

test("npm run lint validates every workflow file", () => {
  const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts;
  assert.match(scripts["lint:workflows"], /for f in \.github\/workflows\/\*\.yml; do action-validator "\$f" \|\| exit 1; done/);
  assert.match(scripts.lint, /npm run --silent lint:workflows/);
});

const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
  .scripts;

/** Repository paths a workflow or its scripts call: scripts, TypeScript entry points, project folders. */
function referencedPaths(source: string): string[] {
  const found = new Set<string>();
  for (const m of source.matchAll(/(?:^|[\s"'=])((?:\.github|\.ci|stacks|runtime|docs)\/[A-Za-z0-9_./-]+)/g))
    found.add(m[1].replace(/[.,]$/, ""));
  return [...found];
}

for (const f of files)
  test(`${f} references only npm scripts and files that exist`, () => {
    const source = text(f);
    for (const m of source.matchAll(/npm run (?:--silent )?([a-z][a-z0-9:-]*)/g))
      assert.ok(m[1] in scripts, `${f} runs npm script '${m[1]}', which package.json does not define`);
    if (/\bnpm test\b/.test(source) || source.includes(".ci/run")) assert.ok("test" in scripts);
    const scriptsCalled = [...source.matchAll(/\.github\/scripts\/[a-z0-9-]+\.sh/g)].map((m) => m[0]);
    const all = [
      ...referencedPaths(source),
      ...scriptsCalled.flatMap((s) => referencedPaths(readFileSync(path.join(REPO_ROOT, s), "utf8"))),
    ];
    for (const p of all) assert.ok(existsSync(path.join(REPO_ROOT, p)), `${f} references ${p}, which does not exist`);
    for (const job of Object.values(workflow(f).jobs))
      if (job.uses?.startsWith("./")) assert.ok(existsSync(path.join(REPO_ROOT, job.uses)), `${f}: ${job.uses} does not exist`);
  });

test("ci.yml runs the README's test command through .ci/run", () => {
  assert.ok((workflow("ci.yml").jobs.test.steps ?? []).some((s) => s.run === ".ci/run"));
  assert.match(readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8"), /^npm test$/m);
  assert.deepEqual(Object.keys(workflow("ci.yml").on), ["push", "pull_request"]);
});

test("the helper scripts parse with bash -n and call the smoke command exactly as documented", async () => {
  const dir = path.join(REPO_ROOT, ".github", "scripts");
  for (const s of readdirSync(dir)) await run("bash", ["-n", path.join(dir, s)]);
  assert.match(
    readFileSync(path.join(dir, "smoke.sh"), "utf8"),
    /dotnet run --project runtime\/Smoke -c Release -- --url "\$base" --api-keys-file "\$key_file"/,
  );
});

const usesOf = (f: string) =>
  Object.values(workflow(f).jobs).flatMap((j) => (j.steps ?? []).map((s) => s.uses).filter((u): u is string => !!u));

for (const f of files)
  test(`${f} pins third-party actions to a commit sha, or says why only to a major version`, () => {
    const lines = text(f).split("\n");
    for (const uses of usesOf(f)) {
      if (uses.startsWith("./")) continue;
      const at = lines.findIndex((l) => l.includes(`uses: ${uses}`));
      if (/@[0-9a-f]{40}$/.test(uses)) assert.match(lines[at], /# v[0-9]+(\.[0-9]+)*$/, `${uses}: say which release the sha is`);
      else {
        assert.match(uses, /@v[0-9]+$/, `${uses}: pin to a full sha or a major version`);
        assert.match(
          lines.slice(Math.max(0, at - 3), at).join("\n"),
          /# .*Major-version pin/,
          `${uses}: say why it is not a sha`,
        );
      }
    }
  });

for (const f of files)
  test(`${f} grants least privilege: read-only by default, writes per job`, () => {
    const wf = workflow(f);
    assert.ok(wf.permissions !== undefined, "top-level permissions must be set");
    for (const [scope, level] of Object.entries(wf.permissions))
      assert.notEqual(level, "write", `top-level ${scope}: write; grant writes per job`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      assert.notEqual(job.permissions, "write-all", `${name}: write-all`);
      // A job that writes says so itself; jobs that call a reusable workflow must pass what it needs.
      const p = typeof job.permissions === "object" ? job.permissions : {};
      if (job.uses) assert.equal(p["id-token"], "write", `${name} calls ${job.uses}, which logs in with OIDC`);
    }
  });

test("deploy.yml updates dev, then staging, then prod, each through pulumi-up.yml in its own environment", () => {
  const { jobs } = workflow("deploy.yml");
  assert.deepEqual(Object.keys(jobs), ["dev", "staging", "prod"]);
  assert.equal(jobs.dev.needs, undefined);
  assert.equal(jobs.staging.needs, "dev");
  assert.equal(jobs.prod.needs, "staging");
  for (const [name, job] of Object.entries(jobs)) {
    assert.equal(job.uses, "./.github/workflows/pulumi-up.yml");
    assert.equal(job.with?.stack, name);
  }
  assert.deepEqual(workflow("deploy.yml").on.push, { branches: ["main"] });
});

test("pulumi-up.yml: one concurrency group per stack, never cancelled, in the stack's protected environment, smoke after up", () => {
  const { up } = workflow("pulumi-up.yml").jobs;
  assert.deepEqual(up.concurrency, { group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false });
  assert.deepEqual(up.environment, { name: "${{ inputs.stack }}" });
  const steps = up.steps ?? [];
  const plan = steps.findIndex((s) => s.run?.includes("npm run --silent plan --"));
  const upIdx = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "up");
  const smoke = steps.findIndex((s) => s.run?.includes(".github/scripts/smoke.sh"));
  assert.ok(plan >= 0 && plan < upIdx && upIdx < smoke, `order: offline plan ${plan}, up ${upIdx}, smoke ${smoke}`);
});

test("preview.yml: fork-safe offline plan, credentials only for branches of this repository, one group per PR", () => {
  const wf = workflow("preview.yml");
  const source = text("preview.yml");
  assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
  assert.equal(
    (wf as unknown as { concurrency: { group: string } }).concurrency.group,
    "preview-${{ github.event.pull_request.number }}",
  );
  const offline = wf.jobs["offline-plan"];
  assert.deepEqual(offline.permissions, { contents: "read" });
  assert.ok(!JSON.stringify(offline).includes("secrets."), "the offline plan must not need secrets");
  assert.ok((offline.steps ?? []).some((s) => s.run?.includes("stacks/plan/preview.ts")));
  assert.equal(wf.jobs["cloud-preview"].if, "github.event.pull_request.head.repo.full_name == github.repository");
  assert.match(source, /command: preview/);
  assert.match(source, /comment-on-pr: true/);
});

test("preview-comment.yml posts from a trusted context without running the pull request's code", () => {
  const wf = workflow("preview-comment.yml");
  assert.deepEqual(wf.on, { workflow_run: { workflows: ["preview"], types: ["completed"] } });
  assert.deepEqual(wf.permissions, {});
  const steps = wf.jobs.comment.steps ?? [];
  assert.ok(!steps.some((s) => s.uses?.startsWith("actions/checkout")), "must not check out the PR");
  const script = String(steps.find((s) => s.uses?.startsWith("actions/github-script"))?.with?.script);
  assert.match(script, /<!-- llm-platform:offline-plan -->/);
  assert.match(script, /updateComment/);
  assert.match(script, /pr\.head\.sha !== process\.env\.HEAD_SHA/);
});

test("the comment marker of the workflow is the one the plan comment starts with", async () => {
  const { COMMENT_MARKER } = await import("../../../stacks/plan/preview");
  assert.ok(text("preview-comment.yml").includes(COMMENT_MARKER));
});

const sharedStacks = () => stacksIn(REPO_ROOT).filter((s) => s !== "local");

test("state-backup.yml exports every shared stack, never with secrets in clear, to a checked bucket", () => {
  const job = workflow("state-backup.yml").jobs.export;
  assert.deepEqual([...(job.strategy?.matrix?.stack as string[])].sort(), sharedStacks());
  const source = text("state-backup.yml");
  assert.match(source, /pulumi stack export --stack "\$STACK"/);
  assert.doesNotMatch(source.replace(/#.*$/gm, ""), /--show-secrets/);
  assert.match(source, /get-bucket-versioning/);
  assert.match(source, /--sse aws:kms/);
  assert.ok("schedule" in workflow("state-backup.yml").on);
});

test("the cloud previews cover every shared stack", () => {
  const include = workflow("preview.yml").jobs["cloud-preview"].strategy?.matrix?.include as { stack: string }[];
  assert.deepEqual(include.map((i) => i.stack).sort(), sharedStacks());
});

test("image.yml pushes under the git sha, makes an SBOM and signs keylessly with an OIDC token", () => {
  const job = workflow("image.yml").jobs.build;
  assert.deepEqual(job.permissions, { contents: "read", packages: "write", "id-token": "write" });
  const source = text("image.yml");
  assert.match(source, /tag=\$repo:\$SHA-\$FLAVOR/);
  assert.match(source, /build-args: GENAI_FLAVOR=\$\{\{ matrix\.flavor \}\}/);
  assert.match(source, /file: runtime\/Dockerfile/);
  assert.ok(usesOf("image.yml").some((u) => u.startsWith("anchore/sbom-action@")));
  assert.match(source, /cosign sign --yes "\$REF"/);
  assert.match(source, /cosign attest --yes --type spdxjson --predicate sbom\.spdx\.json "\$REF"/);
  // dr pulls the ECR replica: the signed image must reach prod's ECR repository, digest unchanged.
  assert.match(source, /cosign copy "\$REF" "\$ECR:\$TAG"/);
});

test("dr.yml checks prerequisites, then redeploys dr through pulumi-up.yml, then waits for dr's health checks", () => {
  const wf = workflow("dr.yml");
  assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
  assert.deepEqual(Object.keys(wf.jobs), ["prerequisites", "redeploy", "failover"]);
  assert.equal(wf.jobs.redeploy.needs, "prerequisites");
  assert.equal(wf.jobs.redeploy.uses, "./.github/workflows/pulumi-up.yml");
  assert.equal(wf.jobs.redeploy.with?.stack, "dr");
  assert.equal(wf.jobs.failover.needs, "redeploy");
  const source = text("dr.yml");
  assert.match(source, /npx tsx stacks\/config\/dr-prerequisites\.ts dr prod/);
  assert.match(source, /pulumi stack ls --json/);
  // Route 53 moves traffic by health check: no switch input, no manual switch script.
  const inputs = (wf.on.workflow_dispatch as { inputs?: Record<string, unknown> }).inputs ?? {};
  assert.deepEqual(Object.keys(inputs), ["reason"]);
  assert.doesNotMatch(source, /dns-switch/);
  assert.match(source, /\.github\/scripts\/failover-status\.sh dr 900/);
  assert.ok(!existsSync(path.join(REPO_ROOT, ".github", "scripts", "dns-switch.sh")));
});

const fakeFailoverOutput = JSON.stringify({
  switchSeconds: { detectionSeconds: 30, ttlSeconds: 60, totalSeconds: 90 },
  healthChecks: { "dr-uswest2": { m1: "hc-m1", grafana: "hc-grafana" } },
});
const fakeRoute53 = (grafana: string) =>
  `case "$*" in *hc-grafana*) s='${grafana}' ;; *) s='"Success: HTTP Status Code 200, OK"' ;; esac
   jq -n --argjson s "$s" '{HealthCheckObservations: [{StatusReport: {Status: $s}}, {StatusReport: {Status: $s}}]}'`;

test("failover-status.sh waits for every health check of the stack and prints the switch time", async () => {
  const pulumi = `echo '${fakeFailoverOutput}'`;
  const healthy = await withFakes({ pulumi, aws: fakeRoute53('"Success: HTTP Status Code 200, OK"') }, "failover-status.sh", [
    "dr",
    "5",
  ]);
  assert.equal(healthy.result.code, 0, healthy.result.stderr);
  assert.match(healthy.result.stdout, /ok: grafana on dr-uswest2 \(health check hc-grafana\)/);
  assert.match(healthy.result.stdout, /switch time 90 s \(detection 30 s \+ TTL 60 s/);
  assert.ok(healthy.calls.includes("stack output failover --json --stack dr"), healthy.calls.join("; "));

  process.env.POLL_SECONDS = "0";
  try {
    const failing = await withFakes({ pulumi, aws: fakeRoute53('"Failure: Connection timed out."') }, "failover-status.sh", [
      "dr",
      "0",
    ]);
    assert.equal(failing.result.code, 1);
    assert.match(failing.result.stderr, /unhealthy after 0s: grafana on dr-uswest2 \(health check hc-grafana\)/);
  } finally {
    delete process.env.POLL_SECONDS;
  }

  const none = await withFakes({ pulumi: "exit 1" }, "failover-status.sh", ["staging"]);
  assert.equal(none.result.code, 1);
  assert.match(none.result.stderr, /stack staging exports no failover/);
});

test("drift.yml previews every shared stack nightly with refresh and expecting no changes, then reports", () => {
  const wf = workflow("drift.yml");
  assert.ok("schedule" in wf.on && "workflow_dispatch" in wf.on);
  const include = wf.jobs.preview.strategy?.matrix?.include as { stack: string }[];
  assert.deepEqual(include.map((i) => i.stack).sort(), sharedStacks());
  assert.ok((wf.jobs.preview.steps ?? []).some((s) => s.run?.includes('.github/scripts/drift-check.sh "$STACK" drift')));
  // Previews read; only the report job writes, and only issues.
  assert.deepEqual(wf.jobs.preview.permissions, { contents: "read", "id-token": "write" });
  assert.deepEqual(wf.jobs.report.permissions, { contents: "read", issues: "write" });
  assert.equal(wf.jobs.report.needs, "preview");
  assert.equal(wf.jobs.report.if, "always()");
  // Never the deploy's concurrency group: a queued drift check would cancel a pending deploy.
  assert.match(String(wf.jobs.preview.concurrency?.group), /^drift-/);
  const check = readFileSync(path.join(REPO_ROOT, ".github", "scripts", "drift-check.sh"), "utf8");
  assert.match(check, /preview --stack "\$stack" --refresh --expect-no-changes --diff/);
  for (const source of [text("drift.yml"), check]) assert.doesNotMatch(source.replace(/#.*$/gm, ""), /--show-secrets/);
});

/** Runs a helper script with fake `pulumi` / `gh` commands that log their arguments. */
async function withFakes(fakes: Record<string, string>, script: string, args: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), "drift-"));
  const env: Record<string, string> = { ...process.env, LOG: path.join(dir, "calls.log") } as Record<string, string>;
  for (const [name, body] of Object.entries(fakes)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/usr/bin/env bash\necho "$*" >> "$LOG"\n${body}\n`, { mode: 0o755 });
    env[name.toUpperCase()] = file;
  }
  const file = path.join(REPO_ROOT, ".github", "scripts", script);
  const result = await run("bash", [file, ...args.map((a) => a.replace("$DIR", dir))], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  const calls = existsSync(env.LOG) ? readFileSync(env.LOG, "utf8").trim().split("\n") : [];
  return { dir, result, calls, read: (f: string) => readFileSync(path.join(dir, f), "utf8") };
}

const fakePulumi = (preview: string) => `case "$1" in stack) echo '[{"name":"acme/prod"}]' ;; preview) ${preview} ;; esac`;

test("drift-check.sh tells drift from a clean stack, a stack not deployed and a failed preview", async () => {
  const drift = await withFakes(
    {
      pulumi: fakePulumi(
        'echo "~ aws:eks/cluster:Cluster  ~ tags"; echo "error: no changes were expected but changes were proposed"; exit 255',
      ),
    },
    "drift-check.sh",
    ["prod", "$DIR/out"],
  );
  assert.equal(drift.result.code, 0);
  assert.equal(drift.read("out/prod.status").trim(), "drift");
  assert.match(drift.read("out/prod.diff"), /~ tags/);
  assert.ok(
    drift.calls.some((c) => /^preview --stack prod --refresh --expect-no-changes --diff/.test(c)),
    drift.calls.join("; "),
  );

  const clean = await withFakes({ pulumi: fakePulumi("exit 0") }, "drift-check.sh", ["prod", "$DIR/out"]);
  assert.equal(clean.result.code, 0);
  assert.equal(clean.read("out/prod.status").trim(), "clean");

  const missing = await withFakes({ pulumi: fakePulumi("exit 0") }, "drift-check.sh", ["dr", "$DIR/out"]);
  assert.equal(missing.read("out/dr.status").trim(), "missing");
  assert.ok(!missing.calls.some((c) => c.startsWith("preview")), "no preview of a stack that is not deployed");

  const failed = await withFakes(
    { pulumi: fakePulumi('echo "error: could not get cluster credentials"; exit 255') },
    "drift-check.sh",
    ["prod", "$DIR/out"],
  );
  assert.equal(failed.result.code, 1);
  assert.equal(failed.read("out/prod.status").trim(), "error");
});

test("drift-report.sh opens one issue per drifted stack, updates the open one, closes it when clean", async () => {
  const results = (dir: string, stacks: Record<string, string>) => {
    for (const [stack, status] of Object.entries(stacks)) {
      writeFileSync(path.join(dir, `${stack}.status`), `${status}\n`);
      writeFileSync(path.join(dir, `${stack}.diff`), status === "drift" ? "~ kubernetes:apps/v1:Deployment m1\n" : "");
    }
  };
  const report = async (openIssue: string, stacks: Record<string, string>) => {
    const dir = mkdtempSync(path.join(tmpdir(), "drift-results-"));
    results(dir, stacks);
    // `issue create/edit` copy the body file where the test can read it.
    const gh = `case "$1 $2" in "issue list") echo "${openIssue}" ;; "issue create"|"issue edit") for a; do [ "$prev" = --body-file ] && cp "$a" "$(dirname "$LOG")/body.md"; prev=$a; done ;; esac`;
    return withFakes({ gh }, "drift-report.sh", [dir, "https://github.example/run/1"]);
  };

  const opened = await report("", { prod: "drift", dev: "clean", dr: "error" });
  assert.equal(opened.result.code, 0, opened.result.stderr);
  const create = opened.calls.find((c) => c.startsWith("issue create"));
  assert.match(String(create), /--title Drift: stack prod differs from its code --label drift/);
  assert.equal(opened.calls.filter((c) => c.startsWith("issue create")).length, 1, "one issue: prod");
  assert.ok(!opened.calls.some((c) => c.startsWith("issue close")), "nothing open to close");
  const body = opened.read("body.md");
  assert.match(body, /~ kubernetes:apps\/v1:Deployment m1/);
  assert.match(body, /https:\/\/github\.example\/run\/1/);

  const updated = await report("17", { prod: "drift" });
  assert.ok(updated.calls.some((c) => c.startsWith("issue edit 17 --body-file")));
  assert.ok(updated.calls.some((c) => c.startsWith("issue comment 17")));
  assert.ok(!updated.calls.some((c) => c.startsWith("issue create")));

  const closed = await report("17", { prod: "clean" });
  assert.ok(closed.calls.some((c) => c.startsWith("issue close 17")));
});

test("model.yml builds CUDA and CPU INT4 with the GenAI builder at the runtime's GenAI version, then manifests and publishes with llm-model", () => {
  const wf = workflow("model.yml");
  assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
  const job = wf.jobs.build;
  assert.deepEqual(job.strategy?.matrix?.provider, ["cuda", "cpu"]);
  assert.deepEqual(job.permissions, { contents: "read", "id-token": "write" });
  assert.equal(job.environment, "dev");
  const source = text("model.yml");
  // The builder's own flags (onnxruntime_genai/models/builder.py): -i input folder, -o output, -p precision, -e provider.
  assert.match(source, /python -m onnxruntime_genai\.models\.builder -i hf-model -o genai-model -p int4 -e "\$PROVIDER"/);
  // The exact Hugging Face revision, checked to be a commit, is what gets built and recorded.
  assert.match(source, /hf download "\$HF_MODEL" --revision "\$REVISION"/);
  assert.match(source, /\[\[ "\$REVISION" =~ \^\[0-9a-f\]\{40\}\$ \]\]/);
  assert.match(source, /llm-model\/LlmInfra\.ModelTool" manifest genai-model/);
  assert.match(source, /--source "\$HF_MODEL@\$REVISION"/);
  assert.match(source, /llm-model\/LlmInfra\.ModelTool" publish genai-model --to "\$STORE\/\$ARTIFACT"\)/);
  // The builder is the release of the GenAI package the runtime serves with.
  const props = readFileSync(path.join(REPO_ROOT, "Directory.Packages.props"), "utf8");
  const genai = /Include="Microsoft\.ML\.OnnxRuntimeGenAI" Version="([^"]+)"/.exec(props)?.[1];
  assert.ok(genai);
  const requirements = readFileSync(path.join(REPO_ROOT, ".github", "model-builder", "requirements.txt"), "utf8");
  assert.match(requirements, new RegExp(`^onnxruntime-genai==${genai.replace(/\./g, "\\.")}$`, "m"));
  for (const line of requirements.split("\n").filter((l) => l && !l.startsWith("#"))) assert.match(line, /^[a-z0-9-]+==[0-9.]+$/);
});

test("pulumi preview and pulumi up run the policy pack, and no stack they touch needs a passphrase", () => {
  const pulumiSteps = [
    ...(workflow("pulumi-up.yml").jobs.up.steps ?? []),
    ...(workflow("preview.yml").jobs["cloud-preview"].steps ?? []),
  ].filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command !== undefined);
  assert.deepEqual(
    pulumiSteps.map((s) => [s.with?.command, s.with?.policyPacks]),
    [
      ["up", "policy-pack"],
      ["preview", "policy-pack"],
    ],
  );
  assert.ok(existsSync(path.join(REPO_ROOT, "policy-pack", "PulumiPolicy.yaml")));
  for (const f of ["pulumi-up.yml", "preview.yml", "drift.yml"]) assert.doesNotMatch(text(f), /PULUMI_CONFIG_PASSPHRASE/, f);
});

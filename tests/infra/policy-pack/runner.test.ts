/**
 * The pack as Pulumi runs it: started by @pulumi/pulumi's own policy-pack runner (the program the Node language
 * host runs for `--policy-pack`), asked over the analyzer gRPC protocol to analyze prod's mock plan, with
 * properties serialized the way the engine sends them (secrets as Pulumi's secret structs).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { runPlan } from "../../../stacks/plan/run";
import { readStackConfigFile } from "../../../stacks/plan/stack-file";
import { runPolicies, type PlannedResource } from "../../../stacks/policy";
import { durationSeconds } from "../../../stacks/policy/rules-kubernetes";
import { REPO_ROOT } from "../helpers";

const STACK = "prod";
const NOW = new Date("2026-12-01T00:00:00Z");
let runner: ChildProcess;
let client: analyzerRpc.AnalyzerClient;
let planned: PlannedResource[];

const urn = (type: string, name: string) => `urn:pulumi:${STACK}::llm-platform::${type}::${name}`;

/** The resources as the engine sends them to AnalyzeStack. */
function request(resources: readonly PlannedResource[]): analyzer.AnalyzeStackRequest {
  const root = urn("pulumi:pulumi:Stack", `llm-platform-${STACK}`);
  const stack = new analyzer.AnalyzerResource();
  stack.setType("pulumi:pulumi:Stack");
  stack.setName(`llm-platform-${STACK}`);
  stack.setUrn(root);
  stack.setProperties(Struct.fromJavaScript({}));
  stack.setOptions(new analyzer.AnalyzerResourceOptions());
  const list = resources.map((r) => {
    const a = new analyzer.AnalyzerResource();
    a.setType(r.type);
    a.setName(r.name);
    a.setUrn(urn(r.type, r.name));
    a.setParent(r.parent ? urn(...(r.parent.split("::") as [string, string])) : root);
    a.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs)) as Record<string, never>));
    const opts = new analyzer.AnalyzerResourceOptions();
    if (r.customTimeouts) {
      const t = new analyzer.AnalyzerResourceOptions.CustomTimeouts();
      if (r.customTimeouts.create) t.setCreate(durationSeconds(r.customTimeouts.create));
      if (r.customTimeouts.update) t.setUpdate(durationSeconds(r.customTimeouts.update));
      opts.setCustomtimeouts(t);
    }
    a.setOptions(opts);
    return a;
  });
  const req = new analyzer.AnalyzeStackRequest();
  req.setResourcesList([stack, ...list]);
  return req;
}

const analyzeStack = (req: analyzer.AnalyzeStackRequest) =>
  new Promise<analyzer.AnalyzeDiagnostic[]>((resolve, reject) =>
    client.analyzeStack(req, (err, res) => (err ? reject(err) : resolve(res!.getDiagnosticsList()))),
  );

before(async () => {
  planned = (await runPlan(readStackConfigFile(STACK), { now: NOW })).resources;
  runner = spawn(
    process.execPath,
    [path.join(REPO_ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", "."],
    { cwd: path.join(REPO_ROOT, "policy-pack"), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  runner.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  // The runner prints the port it serves on, as the engine expects.
  const port = await new Promise<string>((resolve, reject) => {
    runner.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
    runner.once("exit", (code) => reject(new Error(`policy pack exited ${String(code)}: ${stderr}`)));
  });
  assert.match(port, /^\d+$/);
  client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client?.close();
  runner?.kill();
});

test("the runner serves the pack under its name with every policy mandatory", async () => {
  const info = await new Promise<analyzer.AnalyzerInfo>((resolve, reject) =>
    client.getAnalyzerInfo(new Empty(), (err, res) => (err ? reject(err) : resolve(res!))),
  );
  assert.equal(info.getName(), "llm-platform");
  const policies = info.getPoliciesList();
  assert.ok(policies.some((p) => p.getName() === "runtime-hops-tls"));
  assert.ok(policies.some((p) => p.getName() === "state-secrets-kms"));
  assert.ok(policies.every((p) => p.getEnforcementlevel() === analyzer.EnforcementLevel.MANDATORY));
});

test("AnalyzeStack over prod's plan: no violation, as in the offline plan", async () => {
  assert.deepEqual(
    (await analyzeStack(request(planned))).map((d) => `${d.getPolicyname()}: ${d.getMessage()}`),
    [],
  );
});

test("AnalyzeStack without the BackendTLSPolicies: the offline plan's violations, on the Services' URNs", async () => {
  const broken = planned.filter((r) => !r.type.endsWith(":BackendTLSPolicy"));
  const offline = runPolicies(broken, { environment: "prod", now: NOW, cloudClusterIndexes: [0] }).find(
    (p) => p.name === "runtime-hops-tls",
  )!;
  assert.equal(offline.passed, false);
  const diagnostics = await analyzeStack(request(broken));
  assert.deepEqual(
    diagnostics.map((d) => [d.getPolicyname(), d.getMessage().split("\n").slice(1).join("\n")]),
    offline.message.split("; ").map((m) => ["runtime-hops-tls", m]),
  );
  for (const d of diagnostics) assert.match(d.getUrn(), /::kubernetes:core\/v1:Service::/);
});

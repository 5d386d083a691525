/** Shared test helpers: capture resources under Pulumi mocks, build a cluster record, run the plan CLI. */
import * as k8s from "@pulumi/kubernetes";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ClusterRecord } from "../../components/clusters/record";
import type { ServedModel } from "../../components/serving/llm-service";
import type { PlannedResource } from "../../stacks/policy/types";
import type { PlanDocument } from "../../stacks/plan/render";

export { capture } from "../../stacks/plan/capture";
export { isSecret, reveal, get } from "../../stacks/policy/inspect";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export function find(resources: readonly PlannedResource[], type: string, name: string): PlannedResource {
  const r = resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} named ${name}; have: ${resources.map((x) => `${x.type}::${x.name}`).join(", ")}`);
  return r;
}

export const ofType = (resources: readonly PlannedResource[], type: string) => resources.filter((r) => r.type === type);

/** A GPU cluster record as the cluster components return it; call inside `capture`. */
export function gpuCluster(overrides: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    name: "c1",
    substrate: "onprem",
    provider: new k8s.Provider("c1-k8s", { kubeconfig: "test" }),
    gpu: {
      enabled: true,
      resourceName: "nvidia.com/gpu",
      nodeSelector: { "nvidia.com/gpu.present": "true" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      installOperator: true,
    },
    storageClass: "fast-ssd",
    loadBalancer: { annotations: {}, scheme: "internet-facing" },
    ready: [],
    ...overrides,
  };
}

/** A served model (one GPU, 2 to 4 replicas, an S3 source) for the tests to vary. */
export function servedModel(overrides: Partial<ServedModel> = {}): ServedModel {
  return {
    name: "m1",
    source: { kind: "s3", uri: "s3://bucket/m1/" },
    gpus: 1,
    resources: { cpu: "4", memory: "16Gi" },
    replicas: { min: 2, max: 4 },
    maxConcurrent: 8,
    maxQueue: 64,
    cacheSize: "40Gi",
    ...overrides,
  };
}

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the offline plan CLI in its own process (Pulumi config is process-wide). */
export function planCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli("stacks/plan/cli.ts", args, env);
}

/** Runs the capacity planner's CLI in its own process. */
export function capacityCli(args: string[]): Promise<CliResult> {
  return runCli("stacks/capacity/cli.ts", args);
}

async function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

export async function planJson(stack: string): Promise<PlanDocument> {
  const r = await planCli([stack, "--json"]);
  if (r.code !== 0 && r.code !== 2) throw new Error(`plan ${stack} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PlanDocument;
}

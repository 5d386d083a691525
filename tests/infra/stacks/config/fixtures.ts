/** A valid raw config to mutate in tests: what a stack file hands the program, keyed without the project prefix. */
import { loadSettings, type RawConfig } from "../../../../stacks/config/load";
import type { Settings } from "../../../../stacks/config/schema";
import { rawConfigOf, readStackConfigFile } from "../../../../stacks/plan/stack-file";

/** A model artifact pin: version folder and manifest digest. */
export const PIN = { version: "2026-11-28.1", digest: `sha256:${"ab".repeat(32)}` } as const;

export function baseInput(): Record<string, unknown> {
  return {
    environment: "onprem",
    domain: "llm.example.com",
    runtime: { image: "ghcr.io/org/llm-runtime:1.0.0" },
    tls: { issuer: { kind: "ca", secretName: "corp-ca" } },
    clusters: [
      { name: "dc1", substrate: "onprem", kubeconfigSecret: "kubeconfig", storageClass: "ceph" },
      {
        name: "cloud",
        substrate: "eks",
        region: "us-east-1",
        version: "1.35",
        vpcCidr: "10.20.0.0/16",
        gpuPools: [{ name: "l4", instanceTypes: ["g6.2xlarge"], min: 2, max: 4 }],
        artifacts: { modelBucket: "bucket" },
      },
    ],
    models: [{ name: "m1", source: { kind: "s3", uri: "s3://bucket/m1", ...PIN }, replicas: { min: 1, max: 2 } }],
    observability: { grafanaAdminPasswordSecret: "grafanaPassword" },
  };
}

export const SECRETS: Record<string, string> = { apiKeys: "k", kubeconfig: "kc", grafanaPassword: "pw" };

/** Raw config as Pulumi hands it over: object keys as JSON text, secrets flagged. */
export function toRaw(input: Record<string, unknown>, secrets: Record<string, string> = SECRETS): RawConfig {
  const raw = new Map<string, { value: string; secret: boolean }>();
  for (const [k, v] of Object.entries(input)) raw.set(k, { value: typeof v === "string" ? v : JSON.stringify(v), secret: false });
  for (const [k, v] of Object.entries(secrets)) raw.set(k, { value: v, secret: true });
  return raw;
}

/** Sets `value` at a dotted/indexed path such as `clusters[1].gpuPools[0].max`; `undefined` deletes it. */
export function withValue(input: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(input);
  const parts = path.match(/[^.[\]]+/g) ?? [];
  let cur: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  const last = parts[parts.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}

/** The settings of a committed stack file, as the program loads them (project keys only, secrets marked). */
export function settingsOf(stack: string): Settings {
  return loadSettings(stack, rawConfigOf(readStackConfigFile(stack)));
}

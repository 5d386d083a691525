/** Helpers to read planned Kubernetes objects and Pulumi secrets out of recorded inputs. */
import type { PlannedResource } from "./types";

/** The marker Pulumi's serializer puts on secret values (sdk/nodejs/runtime/rpc.ts). */
const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecret(value: unknown): boolean {
  return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SPECIAL_SIG_KEY] === SECRET_SIG;
}

/** The plain value inside a secret wrapper (or the value itself). */
export function reveal(value: unknown): unknown {
  return isSecret(value) ? (value as { value: unknown }).value : value;
}

/** Deep copy with every secret replaced by `mask`. */
export function maskSecrets(value: unknown, mask = "[secret]"): unknown {
  if (isSecret(value)) return mask;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, mask));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, mask)]));
  return value;
}

export const id = (r: PlannedResource) => `${r.type}::${r.name}`;

export function get(value: unknown, ...path: string[]): unknown {
  let cur = reveal(value);
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = reveal((cur as Record<string, unknown>)[key]);
  }
  return cur;
}

export type Obj = Record<string, unknown>;
export const asObj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const WORKLOAD_POD_PATHS: Record<string, string[]> = {
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
  "kubernetes:core/v1:Pod": ["spec"],
};

/** Pod specs of every workload we declare directly (charts' own workloads are reviewed via their values). */
export function podSpecs(resources: readonly PlannedResource[]): { resource: PlannedResource; pod: Obj }[] {
  return resources.flatMap((r) => {
    const path = WORKLOAD_POD_PATHS[r.type];
    return path ? [{ resource: r, pod: asObj(get(r.inputs, ...path)) }] : [];
  });
}

export function containersOf(pod: Obj): Obj[] {
  return [...asArray(reveal(pod.initContainers)), ...asArray(reveal(pod.containers))].map(asObj);
}

export const ofType = (resources: readonly PlannedResource[], type: string) => resources.filter((r) => r.type === type);

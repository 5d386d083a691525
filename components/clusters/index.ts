/** Picks the cluster component for a substrate; each returns the same `ClusterRecord`. */
import type * as pulumi from "@pulumi/pulumi";
import { LocalCluster, type LocalClusterArgs } from "./local";
import { OnPremCluster, type OnPremClusterArgs } from "./onprem";
import type { ClusterRecord } from "./record";

export type { ClusterRecord } from "./record";

export type ClusterSpec =
  | ({ name: string; substrate: "local" } & LocalClusterArgs)
  | ({ name: string; substrate: "onprem" } & OnPremClusterArgs)
  | { name: string; substrate: "eks" }
  | { name: string; substrate: "aks" };

/** Substrates this version can build. The cloud ones arrive with their cluster components. */
export const SUPPORTED_SUBSTRATES = ["local", "onprem"] as const;

/** Clusters whose substrate is accepted by config but not built yet, described for the error message. */
export function unsupportedClusters(specs: readonly { name: string; substrate: string }[]): string[] {
  return specs
    .filter((s) => !(SUPPORTED_SUBSTRATES as readonly string[]).includes(s.substrate))
    .map((s) => `${s.name} (${s.substrate})`);
}

export function createCluster(spec: ClusterSpec, opts?: pulumi.ComponentResourceOptions): ClusterRecord {
  switch (spec.substrate) {
    case "local":
      return new LocalCluster(spec.name, spec, opts).record;
    case "onprem":
      return new OnPremCluster(spec.name, spec, opts).record;
    default:
      throw new Error(`cluster '${spec.name}': substrate '${spec.substrate}' is not yet supported`);
  }
}

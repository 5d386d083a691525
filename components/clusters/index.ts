/** Picks the cluster component for a substrate; each returns the same `ClusterRecord`. */
import type * as pulumi from "@pulumi/pulumi";
import { EksCluster, type EksClusterArgs } from "./aws";
import { AksCluster, type AksClusterArgs } from "./azure";
import { LocalCluster, type LocalClusterArgs } from "./local";
import { OnPremCluster, type OnPremClusterArgs } from "./onprem";
import type { ClusterRecord } from "./record";

export type { ClusterRecord } from "./record";

export type ClusterSpec =
  | ({ name: string; substrate: "local" } & LocalClusterArgs)
  | ({ name: string; substrate: "onprem" } & OnPremClusterArgs)
  | ({ name: string; substrate: "eks" } & EksClusterArgs)
  | ({ name: string; substrate: "aks" } & AksClusterArgs);

/** Substrates this version can build. */
export const SUPPORTED_SUBSTRATES = ["local", "onprem", "eks", "aks"] as const;

export function createCluster(spec: ClusterSpec, opts?: pulumi.ComponentResourceOptions): ClusterRecord {
  switch (spec.substrate) {
    case "local":
      return new LocalCluster(spec.name, spec, opts).record;
    case "onprem":
      return new OnPremCluster(spec.name, spec, opts).record;
    case "eks":
      return new EksCluster(spec.name, spec, opts).record;
    case "aks":
      return new AksCluster(spec.name, spec, opts).record;
  }
}

/**
 * Kubernetes version support: every EKS and AKS cluster stays in standard support for SUPPORT_MARGIN_DAYS after
 * the plan date. EKS clusters ask for `upgradePolicy.supportType: STANDARD`, so at the end of standard support
 * EKS upgrades the control plane on its own; AKS drops the version to platform support. Either way the stack
 * must move first.
 */
import { KUBERNETES_SUPPORT_FILE, SUPPORT_MARGIN_DAYS, supportVerdict, type CloudSubstrate } from "../config/kubernetes-support";
import { id } from "./inspect";
import type { PlannedResource, Policy, Violation } from "./types";

const CLUSTER_TYPES: Readonly<Record<string, { substrate: CloudSubstrate; field: string }>> = {
  "aws:eks/cluster:Cluster": { substrate: "eks", field: "version" },
  "azure-native:containerservice:ManagedCluster": { substrate: "aks", field: "kubernetesVersion" },
};

export interface ClusterVersion {
  /** Config key of the version, e.g. `clusters[0].version`. */
  key: string;
  substrate: CloudSubstrate;
  version: string;
  /** `type::name` of the planned cluster resource. */
  resource: string;
}

/** The cloud clusters of a plan in declaration order; the i-th cloud cluster of the config is the i-th here. */
export function plannedClusterVersions(
  resources: readonly PlannedResource[],
  configIndexes?: readonly number[],
): ClusterVersion[] {
  const out: ClusterVersion[] = [];
  for (const r of resources) {
    const kind = CLUSTER_TYPES[r.type];
    if (!kind) continue;
    const n = out.length;
    const index = configIndexes?.[n] ?? n;
    out.push({
      key: `clusters[${index}].version`,
      substrate: kind.substrate,
      version: String(r.inputs[kind.field]),
      resource: id(r),
    });
  }
  return out;
}

export function checkVersionSupport(clusters: readonly ClusterVersion[], planDate: Date): Violation[] {
  const out: Violation[] = [];
  for (const c of clusters) {
    const v = supportVerdict(c.substrate, c.version, planDate);
    if (v.ok) continue;
    const message =
      v.reason === "unknown"
        ? `${c.key}: ${c.substrate.toUpperCase()} version '${c.version}' is not in the support table (${KUBERNETES_SUPPORT_FILE}); add its end of standard support from the provider's release calendar`
        : `${c.key}: ${c.substrate.toUpperCase()} ${c.version} leaves standard support on ${v.endOfStandardSupport}, before ${v.deadline} (${SUPPORT_MARGIN_DAYS} days after the plan date); move to a newer version (${KUBERNETES_SUPPORT_FILE})`;
    out.push({ resource: c.resource, message });
  }
  return out;
}

export const kubernetesVersionSupported: Policy = {
  name: "kubernetes-version-supported",
  description: `Every EKS and AKS cluster's Kubernetes version stays in standard support for at least ${SUPPORT_MARGIN_DAYS} days after the plan date.`,
  check(resources, ctx) {
    return checkVersionSupport(plannedClusterVersions(resources, ctx.cloudClusterIndexes), ctx.now ?? new Date());
  },
};

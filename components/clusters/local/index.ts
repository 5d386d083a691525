/** `local`: whatever kubeconfig context is current (kind, k3d, Docker Desktop). CPU only, no cloud. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GPU_RESOURCE, type ClusterRecord } from "../record";

export interface LocalClusterArgs {
  /** kubeconfig context; unset uses the current one. */
  context?: string;
  /** Storage class of the laptop cluster (kind and k3d ship `standard` / `local-path`). */
  storageClass: string;
  loadBalancer: { annotations: Record<string, string>; scheme: "internet-facing" | "internal" };
}

export class LocalCluster extends pulumi.ComponentResource {
  readonly record: ClusterRecord;

  constructor(name: string, args: LocalClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:clusters:LocalCluster", name, {}, opts);
    const provider = new k8s.Provider(
      `${name}-k8s`,
      // No kubeconfig: the provider reads the current one, as kubectl does.
      { context: args.context, enableServerSideApply: true },
      { parent: this },
    );
    this.record = {
      name,
      substrate: "local",
      provider,
      gpu: { enabled: false, resourceName: GPU_RESOURCE, nodeSelector: {}, tolerations: [], installOperator: false },
      storageClass: args.storageClass,
      loadBalancer: args.loadBalancer,
      ready: [],
    };
    this.registerOutputs({});
  }
}

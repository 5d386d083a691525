/** `onprem`: an existing cluster reached through a kubeconfig kept as a Pulumi secret. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuFacts, type ClusterRecord, type TaintSpec } from "../record";

export interface OnPremClusterArgs {
  /** kubeconfig contents; must be a secret output. */
  kubeconfig: pulumi.Input<string>;
  context?: string;
  storageClass: string;
  /** A ReadWriteMany class (NFS, CephFS) for the shared model cache; unset: per-pod copies. */
  sharedStorageClass?: string;
  gpuNodes: {
    labels: Record<string, string>;
    taints: TaintSpec[];
    devicePlugin: "gpu-operator" | "preinstalled";
  };
  loadBalancer: { annotations: Record<string, string>; scheme: "internet-facing" | "internal" };
}

export class OnPremCluster extends pulumi.ComponentResource {
  readonly record: ClusterRecord;

  constructor(name: string, args: OnPremClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:clusters:OnPremCluster", name, {}, opts);
    const provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: pulumi.secret(args.kubeconfig), context: args.context, enableServerSideApply: true },
      { parent: this },
    );
    this.record = {
      name,
      substrate: "onprem",
      provider,
      gpu: gpuFacts(args.gpuNodes.labels, args.gpuNodes.taints, {
        installOperator: args.gpuNodes.devicePlugin === "gpu-operator",
      }),
      storageClass: args.storageClass,
      sharedCache: args.sharedStorageClass ? { storageClass: args.sharedStorageClass } : undefined,
      loadBalancer: args.loadBalancer,
      ready: [],
    };
    this.registerOutputs({});
  }
}

/**
 * Composition root: builds every cluster of the stack, then applies the same Kubernetes layer to each
 * through its `ClusterRecord`. Hybrid stacks (cloud + on-prem) are just several clusters.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createCluster, type ClusterRecord, type ClusterSpec } from "./clusters";
import { podSecurityLabels } from "./security/pod-security";
import { LlmService } from "./serving/llm-service";
import type { ModelSource } from "./serving/model-source";

export interface ModelSpec {
  name: string;
  source: ModelSource;
  /** Per-cluster override of `source`. */
  sourceByCluster: Record<string, ModelSource>;
  gpus: number;
  resources: { cpu: string; memory: string };
  replicas: { min: number; max: number };
  targetQueueDepth: number;
  maxConcurrent: number;
  maxQueue: number;
  cacheSize: string;
  /** Clusters that serve this model; unset means all. */
  clusters?: string[];
}

export interface PlatformArgs {
  environment: string;
  domain: string;
  clusters: ClusterSpec[];
  models: ModelSpec[];
  runtime: { image: string; apiKeys: pulumi.Input<string> };
}

/** Namespace that holds the inference workloads on every cluster. */
export const SERVING_NAMESPACE = "llm-serving";

export class Platform extends pulumi.ComponentResource {
  readonly clusters: ClusterRecord[];

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:platform:Platform", name, {}, opts);
    this.clusters = args.clusters.map((spec) => createCluster(spec, { parent: this }));
    for (const cluster of this.clusters) {
      const models = args.models.filter((m) => m.clusters === undefined || m.clusters.includes(cluster.name));
      const child = { parent: this, provider: cluster.provider };
      const ns = new k8s.core.v1.Namespace(
        `${cluster.name}-${SERVING_NAMESPACE}`,
        { metadata: { name: SERVING_NAMESPACE, labels: podSecurityLabels("restricted") } },
        child,
      );
      for (const model of models) {
        new LlmService(
          `${cluster.name}-${model.name}`,
          {
            cluster,
            namespace: ns.metadata.name,
            model: { ...model, source: model.sourceByCluster[cluster.name] ?? model.source },
            image: args.runtime.image,
            apiKeys: args.runtime.apiKeys,
          },
          { parent: this },
        );
      }
    }
    this.registerOutputs({});
  }
}

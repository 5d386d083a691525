/**
 * Composition root: builds every cluster of the stack, then applies the same Kubernetes layer to each
 * through its `ClusterRecord`. Hybrid stacks (cloud + on-prem) are just several clusters.
 */
import * as pulumi from "@pulumi/pulumi";
import { createCluster, type ClusterRecord, type ClusterSpec } from "./clusters";
import { KubernetesLayer } from "./kubernetes-layer";
import type { ObservabilitySettings } from "./observability/observability";
import type { IssuerSettings } from "./security/tls";
import type { ServedModel } from "./serving/llm-service";
import type { ModelSource } from "./serving/model-source";

/** A configured model: what one cluster serves, plus where it is placed and per-cluster sources. */
export interface ModelSpec extends ServedModel {
  /** Per-cluster override of `source`. */
  sourceByCluster: Record<string, ModelSource>;
  targetQueueDepth: number;
  /** Clusters that serve this model; unset means all. */
  clusters?: string[];
}

export interface PlatformArgs {
  environment: string;
  domain: string;
  clusters: ClusterSpec[];
  models: ModelSpec[];
  runtime: { image: string; apiKeys: pulumi.Input<string> };
  /** The stack's issuer, and per-cluster overrides (hybrid stacks: corporate CA on-prem, ACME in the cloud). */
  tls: {
    issuer: IssuerSettings;
    byCluster?: Record<string, IssuerSettings>;
    /** What the runtime speaks behind the gateway (default https; http only on local). */
    backendProtocol?: "https" | "http";
  };
  observability: ObservabilitySettings;
  /** Grafana admin password; must be a secret. */
  grafanaAdminPassword: pulumi.Input<string>;
  /** The alert receiver's routing key or URL, with `observability.alerting`; must be a secret. */
  alertCredential?: pulumi.Input<string>;
}

export class Platform extends pulumi.ComponentResource {
  readonly clusters: ClusterRecord[];

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:platform:Platform", name, {}, opts);
    this.clusters = args.clusters.map((spec) => createCluster(spec, { parent: this }));
    for (const cluster of this.clusters) {
      const models = args.models
        .filter((m) => m.clusters === undefined || m.clusters.includes(cluster.name))
        .map(({ sourceByCluster, clusters: _placement, ...m }) => ({ ...m, source: sourceByCluster[cluster.name] ?? m.source }));
      new KubernetesLayer(
        cluster.name,
        {
          cluster,
          domain: args.domain,
          // A laptop has one node: everything else runs controllers with a standby and disruption budgets.
          highAvailability: args.environment !== "local",
          issuer: args.tls.byCluster?.[cluster.name] ?? args.tls.issuer,
          observability: args.observability,
          grafanaAdminPassword: args.grafanaAdminPassword,
          alertCredential: args.alertCredential,
          models,
          runtime: args.runtime,
          backendTls: (args.tls.backendProtocol ?? "https") === "https",
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}

/**
 * Composition root: builds every cluster of the stack, then applies the same Kubernetes layer to each
 * through its `ClusterRecord`. Hybrid stacks (cloud + on-prem) are just several clusters.
 */
import * as pulumi from "@pulumi/pulumi";
import { createCluster, type ClusterRecord, type ClusterSpec } from "./clusters";
import { KubernetesLayer, type LayerFailover } from "./kubernetes-layer";
import { GRAFANA_HEALTH_PATH } from "./observability/observability";
import type { ObservabilitySettings } from "./observability/observability";
import type { IssuerSettings } from "./security/tls";
import type { ServedModel } from "./serving/llm-service";
import { READINESS_PATH } from "./serving/llm-service";
import type { ModelSource } from "./serving/model-source";
import {
  failoverAnnotations,
  FailoverDns,
  healthHost,
  type ClusterFailover,
  type FailoverDnsSettings,
  type FailoverHost,
  type FailoverRole,
} from "./traffic/failover";
import { GRAFANA_HOST } from "./traffic/hosts";

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
  /** Health-checked DNS failover in Route 53 (traffic/failover.ts): the zone, and each cluster's role. */
  failover?: {
    dns: FailoverDnsSettings;
    byCluster: Record<string, { role: FailoverRole; publicAddress?: string }>;
    tags: Record<string, string>;
  };
}

export class Platform extends pulumi.ComponentResource {
  readonly clusters: ClusterRecord[];
  /** Route 53 health check ids by cluster and host label, where the stack has DNS failover. */
  readonly failoverHealthChecks?: Record<string, Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:platform:Platform", name, {}, opts);
    this.clusters = args.clusters.map((spec) => createCluster(spec, { parent: this }));
    const servedBy = (cluster: string) => args.models.filter((m) => m.clusters === undefined || m.clusters.includes(cluster));
    const dns = args.failover && failoverDns(args.failover, args.clusters, args.domain, servedBy, this);
    this.failoverHealthChecks = dns?.healthChecks;
    const failover = dns?.layers;
    for (const cluster of this.clusters) {
      const models = servedBy(cluster.name).map(({ sourceByCluster, clusters: _placement, ...m }) => ({
        ...m,
        source: sourceByCluster[cluster.name] ?? m.source,
      }));
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
          failover: failover?.[cluster.name],
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}

/**
 * The stack's part of the failover chain: Route 53 health checks and the records no controller writes
 * (FailoverDns), and per cluster what its Kubernetes layer adds (route annotations, health hosts,
 * external-dns on clusters that publish their own records).
 */
function failoverDns(
  failover: NonNullable<PlatformArgs["failover"]>,
  specs: ClusterSpec[],
  domain: string,
  servedBy: (cluster: string) => ModelSpec[],
  parent: pulumi.Resource,
): { layers: Record<string, LayerFailover>; healthChecks: FailoverDns["healthChecks"] } {
  const chain: ClusterFailover[] = specs.flatMap((spec) => {
    const f = failover.byCluster[spec.name];
    if (f === undefined || f.role === "none") return [];
    const hosts: FailoverHost[] = [
      ...servedBy(spec.name).map((m) => ({ label: m.name, healthPath: READINESS_PATH })),
      { label: GRAFANA_HOST, healthPath: GRAFANA_HEALTH_PATH },
    ];
    return [{ cluster: spec.name, role: f.role, publicAddress: f.publicAddress, hosts }];
  });
  const dns = new FailoverDns("llm-dns", { domain, dns: failover.dns, clusters: chain, tags: failover.tags }, { parent });
  const layers = Object.fromEntries(
    chain.map((f) => {
      const spec = specs.find((s) => s.name === f.cluster);
      // A cluster with a public address gets its records from FailoverDns; the others publish their own.
      const publishes = f.publicAddress === undefined && spec?.substrate === "eks";
      const byHost = Object.fromEntries(
        f.hosts.map((h) => [
          h.label,
          {
            annotations: publishes ? failoverAnnotations(f, h.label, domain, dns.healthChecks[f.cluster][h.label]) : {},
            healthHostname: healthHost(h.label, f.cluster, domain),
          },
        ]),
      );
      const externalDns =
        publishes && spec?.substrate === "eks"
          ? { hostedZoneId: failover.dns.hostedZoneId, ownerId: f.cluster, region: spec.region }
          : undefined;
      return [f.cluster, { byHost, externalDns }];
    }),
  );
  return { layers, healthChecks: dns.healthChecks };
}

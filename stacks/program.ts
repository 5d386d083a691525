/**
 * The Pulumi program: read config once, validate it, compose the platform. Used by `pulumi up` (index.ts)
 * and by the offline plan (plan/), so both see exactly the same resource graph.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../components/clusters";
import { Platform } from "../components/platform";
import { switchSeconds } from "../components/traffic/failover";
import { loadSettings } from "./config/load";
import { readStackConfig, secretValue } from "./config/pulumi-config";
import type { ClusterSettings, Settings } from "./config/schema";

type Dns01 = NonNullable<Extract<Settings["tls"]["issuer"], { kind: "acme" }>["dns01"]>;

/** The stack's DNS-01 provider of one kind, if the stack solves ACME challenges there. */
function dns01Of<P extends Dns01["provider"]>(settings: Settings, provider: P): Extract<Dns01, { provider: P }> | undefined {
  const issuer = settings.tls.issuer;
  if (issuer.kind !== "acme" || issuer.solver !== "dns01" || issuer.dns01?.provider !== provider) return undefined;
  return issuer.dns01 as Extract<Dns01, { provider: P }>;
}

const stackTags = (settings: Settings) => ({
  "llm-platform/environment": settings.environment,
  "llm-platform/managed-by": "pulumi",
});

function clusterSpec(c: ClusterSettings, settings: Settings): ClusterSpec {
  // Secrets are resolved here, by name, so that components only ever see secret outputs.
  if (c.substrate === "onprem") return { ...c, kubeconfig: secretValue(c.kubeconfigSecret) };
  const tags = stackTags(settings);
  // cert-manager gets a DNS identity only where the stack solves ACME challenges in that cloud's DNS.
  if (c.substrate === "eks") {
    const route53 = dns01Of(settings, "route53");
    // external-dns gets a Route 53 identity only where this cluster publishes its own failover records.
    const failoverZoneId = c.failover && c.failover.role !== "none" ? settings.dns?.hostedZoneId : undefined;
    return { ...c, dnsZone: route53 && { name: settings.domain, id: route53.hostedZoneId }, failoverZoneId, tags };
  }
  if (c.substrate === "aks") {
    const azure = dns01Of(settings, "azureDns");
    const dnsZone = azure && {
      subscriptionId: azure.subscriptionId,
      resourceGroupName: azure.resourceGroupName,
      name: azure.hostedZoneName,
    };
    return { ...c, dnsZone, tags };
  }
  return c;
}

export function composePlatform(settings: Settings): Platform {
  const grafanaKey = settings.observability.grafanaAdminPasswordSecret;
  // validateSecretReferences requires it; this guards callers that skipped validation.
  if (grafanaKey === undefined) throw new Error("observability.grafanaAdminPasswordSecret is required");
  return new Platform("llm", {
    environment: settings.environment,
    domain: settings.domain,
    clusters: settings.clusters.map((c) => clusterSpec(c, settings)),
    models: settings.models,
    runtime: { image: settings.runtime.image, apiKeys: secretValue(settings.runtime.apiKeysSecret) },
    tls: {
      issuer: settings.tls.issuer,
      backendProtocol: settings.tls.backendProtocol,
      byCluster: Object.fromEntries(
        settings.clusters.flatMap((c) => (c.substrate === "onprem" && c.tlsIssuer ? [[c.name, c.tlsIssuer] as const] : [])),
      ),
    },
    observability: settings.observability,
    grafanaAdminPassword: secretValue(grafanaKey),
    alertCredential: settings.observability.alerting && secretValue(settings.observability.alerting.secret),
    failover: settings.dns && {
      dns: settings.dns,
      byCluster: Object.fromEntries(
        settings.clusters.flatMap((c) => ("failover" in c && c.failover ? [[c.name, c.failover] as const] : [])),
      ),
      tags: stackTags(settings),
    },
  });
}

/** Entry point: validates before anything is created, then returns the stack outputs. */
export function main(): Record<string, unknown> {
  const settings = loadSettings(pulumi.getStack(), readStackConfig());
  const platform = composePlatform(settings);
  return {
    environment: settings.environment,
    clusters: platform.clusters.map((c) => c.name),
    endpoints: settings.models.map((m) => `https://${m.name}.${settings.domain}/v1`),
    grafana: `https://grafana.${settings.domain}`,
    // How long DNS failover takes to move clients, and the health checks that decide it (dr.yml reads both).
    ...(settings.dns
      ? { failover: { switchSeconds: switchSeconds(settings.dns), healthChecks: platform.failoverHealthChecks } }
      : {}),
  };
}

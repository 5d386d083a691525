/**
 * The Pulumi program: read config once, validate it, compose the platform. Used by `pulumi up` (index.ts)
 * and by the offline plan (plan/), so both see exactly the same resource graph.
 */
import * as pulumi from "@pulumi/pulumi";
import { unsupportedClusters, type ClusterSpec } from "../components/clusters";
import { Platform } from "../components/platform";
import { loadSettings } from "./config/load";
import { readStackConfig, secretValue } from "./config/pulumi-config";
import type { ClusterSettings, Settings } from "./config/schema";

/** Raised when config is valid but names clusters this version cannot build yet. */
export class UnsupportedClusterError extends Error {
  constructor(readonly clusters: string[]) {
    super(`Clusters not yet supported by this version: ${clusters.join(", ")}. Supported substrates: local, onprem.`);
    this.name = "UnsupportedClusterError";
  }
}

function clusterSpec(c: ClusterSettings): ClusterSpec {
  // Secrets are resolved here, by name, so that components only ever see secret outputs.
  if (c.substrate === "onprem") return { ...c, kubeconfig: secretValue(c.kubeconfigSecret) };
  return c;
}

export function composePlatform(settings: Settings): Platform {
  const unsupported = unsupportedClusters(settings.clusters);
  if (unsupported.length > 0) throw new UnsupportedClusterError(unsupported);
  const grafanaKey = settings.observability.grafanaAdminPasswordSecret;
  // validateSecretReferences requires it; this guards callers that skipped validation.
  if (grafanaKey === undefined) throw new Error("observability.grafanaAdminPasswordSecret is required");
  return new Platform("llm", {
    environment: settings.environment,
    domain: settings.domain,
    clusters: settings.clusters.map(clusterSpec),
    models: settings.models,
    runtime: { image: settings.runtime.image, apiKeys: secretValue(settings.runtime.apiKeysSecret) },
    tls: settings.tls,
    observability: settings.observability,
    grafanaAdminPassword: secretValue(grafanaKey),
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
  };
}

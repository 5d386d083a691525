/**
 * external-dns (official chart) on clusters whose records it publishes: Route 53 as the provider, the
 * Gateway API's HTTPRoutes as the only source (targets from the Gateway's status, i.e. the load balancer
 * the AWS Load Balancer Controller made), the stack's one zone only, credentials from the cluster's
 * workload identity. The routing policy of each record comes from its route's annotations (failover.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { WorkloadIdentity } from "../clusters/record";

export interface ExternalDnsArgs {
  /** The cluster's identity for external-dns (namespace and service account it is bound to). */
  identity: WorkloadIdentity;
  domain: string;
  hostedZoneId: string;
  /** Owner id in the TXT registry: external-dns changes only records it owns, so every cluster needs its own. */
  ownerId: string;
  /** Region the AWS SDK signs with (Route 53 itself is global). */
  region: string;
}

export function externalDnsValues(args: ExternalDnsArgs): Record<string, unknown> {
  return {
    provider: { name: "aws" },
    sources: ["gateway-httproute"],
    // sync: records of routes that are gone are deleted, but only those this owner id wrote.
    policy: "sync",
    registry: "txt",
    txtOwnerId: args.ownerId,
    domainFilters: [args.domain],
    extraArgs: [`--zone-id-filter=${args.hostedZoneId}`, "--aws-zone-type=public"],
    env: [{ name: "AWS_DEFAULT_REGION", value: args.region }],
    serviceAccount: {
      create: true,
      name: args.identity.serviceAccount,
      annotations: args.identity.serviceAccountAnnotations,
    },
    podLabels: args.identity.podLabels,
    resources: containerResources("50m", "64Mi", "200m", "128Mi"),
  };
}

export function externalDns(name: string, args: ExternalDnsArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return chartRelease(
    name,
    { pin: CHARTS.externalDns, releaseName: "external-dns", namespace: args.identity.namespace, values: externalDnsValues(args) },
    opts,
  );
}

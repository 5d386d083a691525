/**
 * Health-checked DNS failover in Route 53 for the stack's public host names (each model and Grafana), in a
 * chain of up to three clusters, possibly in different stacks (prod's EKS cluster, prod's on-prem cluster,
 * the dr stack's cluster). Route 53 failover has two roles per name, so the chain is two nested pairs:
 *
 *   <host>            PRIMARY   -> the `primary` cluster (its health check)
 *                     SECONDARY -> alias of <host>--standby (healthy while either record below is)
 *   <host>--standby   PRIMARY   -> the `secondary` cluster (its health check)
 *                     SECONDARY -> the `tertiary` cluster (its health check)
 *
 * EKS clusters publish their records with external-dns (the load balancer's name exists only after the AWS
 * Load Balancer Controller made it), through the failover annotations on their HTTPRoutes. An on-prem
 * cluster has no AWS identity and a fixed public address, so this component writes its record directly, and
 * the `<host>` SECONDARY alias with it. Each cluster's health check asks for one path on a host of its own,
 * `<host>--<cluster>.<domain>`, which only that cluster's gateway serves (see healthRoute in routes.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export const FAILOVER_ROLES = ["primary", "secondary", "tertiary", "none"] as const;
export type FailoverRole = (typeof FAILOVER_ROLES)[number];

/** The name the primary's SECONDARY record aliases; its own pair holds the secondary and tertiary clusters. */
export const STANDBY = "standby";
/** Route 53 answers alias records to an ELB with the load balancer's own TTL, 60 s, whatever the record says. */
export const ELB_ALIAS_TTL_SECONDS = 60;
/** Route 53 health checks run over HTTPS with SNI; they do not validate the certificate. */
export const HEALTH_CHECK_PORT = 443;

export interface FailoverDnsSettings {
  hostedZoneId: string;
  /** TTL of the records this stack writes itself (an on-prem cluster's A record). */
  ttlSeconds: number;
  healthCheck: { intervalSeconds: 10 | 30; failureThreshold: number };
}

/** A cluster's place in the chain, and where Route 53's checkers reach it (on-prem: its public address). */
export interface ClusterFailover {
  cluster: string;
  role: Exclude<FailoverRole, "none">;
  /** Unset: the name resolves through the record external-dns publishes for the cluster's health host. */
  publicAddress?: string;
  /** The public hosts this cluster serves. */
  hosts: FailoverHost[];
}

/** One public host of the stack and the health path its backend answers without credentials. */
export interface FailoverHost {
  /** First label: the model's name or a reserved platform host such as `grafana`. */
  label: string;
  healthPath: string;
}

export const publicHost = (label: string, domain: string) => `${label}.${domain}`;
/** One label under the domain, so the gateway's `*.<domain>` listener and certificate cover it. */
export const healthHost = (label: string, cluster: string, domain: string) => `${label}--${cluster}.${domain}`;
export const standbyHost = (label: string, domain: string) => `${label}--${STANDBY}.${domain}`;

/**
 * How long until clients reach the next cluster after one stops answering: Route 53 marks a check unhealthy
 * after `failureThreshold` failed checks `intervalSeconds` apart, then resolvers keep the old answer for up
 * to the TTL (60 s for alias records to a load balancer, whichever is longer). Resolvers that hold answers
 * past their TTL add to this; nothing here can bound them.
 */
export function switchSeconds(dns: Pick<FailoverDnsSettings, "ttlSeconds" | "healthCheck">): {
  detectionSeconds: number;
  ttlSeconds: number;
  totalSeconds: number;
} {
  const detectionSeconds = dns.healthCheck.intervalSeconds * dns.healthCheck.failureThreshold;
  const ttlSeconds = Math.max(dns.ttlSeconds, ELB_ALIAS_TTL_SECONDS);
  return { detectionSeconds, ttlSeconds, totalSeconds: detectionSeconds + ttlSeconds };
}

/** Where a role's record goes: which name, and which Route 53 failover slot on it. */
export function recordSlot(role: ClusterFailover["role"]): { standby: boolean; failover: "PRIMARY" | "SECONDARY" } {
  if (role === "primary") return { standby: false, failover: "PRIMARY" };
  return { standby: true, failover: role === "secondary" ? "PRIMARY" : "SECONDARY" };
}

/** external-dns's annotations (read from the HTTPRoute, not the Gateway) for a cluster's record of one host. */
export function failoverAnnotations(
  f: Pick<ClusterFailover, "cluster" | "role">,
  label: string,
  domain: string,
  healthCheckId: pulumi.Input<string>,
): Record<string, pulumi.Input<string>> {
  const slot = recordSlot(f.role);
  return {
    "external-dns.alpha.kubernetes.io/set-identifier": f.cluster,
    "external-dns.alpha.kubernetes.io/aws-failover": slot.failover,
    "external-dns.alpha.kubernetes.io/aws-health-check-id": healthCheckId,
    // The standby name is not the route's host: publish it instead of the route's hostnames.
    ...(slot.standby
      ? {
          "external-dns.alpha.kubernetes.io/gateway-hostname-source": "annotation-only",
          "external-dns.alpha.kubernetes.io/hostname": standbyHost(label, domain),
        }
      : {}),
  };
}

export interface FailoverDnsArgs {
  domain: string;
  dns: FailoverDnsSettings;
  clusters: ClusterFailover[];
  tags: Record<string, string>;
}

/** Route 53 health checks (one per cluster and host) and the records no controller can write. */
export class FailoverDns extends pulumi.ComponentResource {
  /** Health check ids by cluster, then host label. */
  readonly healthChecks: Record<string, Record<string, pulumi.Output<string>>> = {};

  constructor(name: string, args: FailoverDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:traffic:FailoverDns", name, {}, opts);
    const child = { parent: this };
    const { dns, domain } = args;
    const standbyRecords: Record<string, pulumi.Resource[]> = {};
    for (const f of args.clusters) {
      this.healthChecks[f.cluster] = {};
      for (const h of f.hosts) {
        const check = new aws.route53.HealthCheck(
          `${name}-${f.cluster}-${h.label}`,
          {
            type: "HTTPS",
            fqdn: healthHost(h.label, f.cluster, domain),
            ...(f.publicAddress ? { ipAddress: f.publicAddress } : {}),
            port: HEALTH_CHECK_PORT,
            resourcePath: h.healthPath,
            enableSni: true,
            requestInterval: dns.healthCheck.intervalSeconds,
            failureThreshold: dns.healthCheck.failureThreshold,
            tags: { ...args.tags, Name: `${h.label} on ${f.cluster}` },
          },
          child,
        );
        this.healthChecks[f.cluster][h.label] = check.id;
        if (f.publicAddress === undefined) continue;
        // No controller on this cluster can write to Route 53: the record is written here.
        const slot = recordSlot(f.role);
        const record = new aws.route53.Record(
          `${name}-${f.cluster}-${h.label}`,
          {
            zoneId: dns.hostedZoneId,
            name: slot.standby ? standbyHost(h.label, domain) : publicHost(h.label, domain),
            type: "A",
            ttl: dns.ttlSeconds,
            records: [f.publicAddress],
            setIdentifier: f.cluster,
            failoverRoutingPolicies: [{ type: slot.failover }],
            healthCheckId: check.id,
          },
          child,
        );
        (standbyRecords[h.label] ??= []).push(record);
      }
    }
    // The primary's fallback: an alias of the standby pair, healthy while either of its records is. Route 53
    // refuses an alias to a name that does not exist yet, so it follows a standby record of this stack.
    for (const f of args.clusters.filter((c) => c.role === "primary"))
      for (const h of f.hosts)
        new aws.route53.Record(
          `${name}-${STANDBY}-${h.label}`,
          {
            zoneId: dns.hostedZoneId,
            name: publicHost(h.label, domain),
            type: "A",
            setIdentifier: STANDBY,
            failoverRoutingPolicies: [{ type: "SECONDARY" }],
            aliases: [{ name: standbyHost(h.label, domain), zoneId: dns.hostedZoneId, evaluateTargetHealth: true }],
          },
          { ...child, dependsOn: standbyRecords[h.label] ?? [] },
        );
    this.registerOutputs({});
  }
}

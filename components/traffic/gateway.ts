/**
 * The way in: Envoy Gateway (chart) as the Gateway API controller, one GatewayClass whose EnvoyProxy puts
 * the cluster record's load-balancer annotations on the proxies' Service, and one Gateway with an HTTPS
 * listener (TLS 1.2 minimum) and a plain-HTTP listener whose only route redirects to HTTPS.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord } from "../clusters/record";
import { ENVOY_GATEWAY_API, GATEWAY_API, type ListenerRef } from "./routes";

export const GATEWAY_NAME = "llm";
export const HTTPS_LISTENER = "https";
export const HTTP_LISTENER = "http";
export const CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller";
/** Labels Envoy Gateway puts on the proxy pods of a Gateway (used by network policy and the PodMonitor). */
export const proxyPodLabels = (gateway: string) => ({
  "app.kubernetes.io/name": "envoy",
  "gateway.envoyproxy.io/owning-gateway-name": gateway,
});

export interface GatewayArgs {
  cluster: ClusterRecord;
  namespace: string;
  domain: string;
  /** Secret (in `namespace`) holding the certificate for `*.domain` names the listener serves. */
  certificateSecret: string;
  /** Namespaces whose HTTPRoutes may attach to the HTTPS listener. */
  routeNamespaces: string[];
  highAvailability: boolean;
  proxy: { replicas: number; cpu: string; memory: string };
  /** Create a PodMonitor for the proxies (needs the Prometheus operator's CRDs). */
  monitoring?: { dependsOn: pulumi.Input<pulumi.Resource>[] };
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

export function envoyGatewayValues(ha: boolean): Record<string, unknown> {
  return {
    deployment: { replicas: ha ? 2 : 1, envoyGateway: { resources: containerResources("100m", "256Mi", "1", "1Gi") } },
    podDisruptionBudget: ha ? { minAvailable: 1 } : {},
  };
}

export function validateGatewayArgs(args: Pick<GatewayArgs, "proxy" | "highAvailability" | "routeNamespaces">): string[] {
  const out: string[] = [];
  if (args.proxy.replicas < 1) out.push(`proxy.replicas must be >= 1, got ${args.proxy.replicas}`);
  if (args.highAvailability && args.proxy.replicas < 2)
    out.push(
      `proxy.replicas must be >= 2 when highAvailability is on (one proxy is a single point of failure), got ${args.proxy.replicas}`,
    );
  if (args.routeNamespaces.length === 0) out.push("routeNamespaces must name at least one namespace");
  return out;
}

export class LlmGateway extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly gateway: k8s.apiextensions.CustomResource;
  readonly httpsListener: ListenerRef;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:traffic:LlmGateway", name, {}, opts);
    const problems = validateGatewayArgs(args);
    if (problems.length > 0) throw new Error(`LlmGateway ${name}: ${problems.join("; ")}`);
    const child = { parent: this, provider: args.cluster.provider };
    this.release = chartRelease(
      `${name}-envoy-gateway`,
      {
        pin: CHARTS.envoyGateway,
        releaseName: "envoy-gateway",
        namespace: args.namespace,
        values: envoyGatewayValues(args.highAvailability),
      },
      { ...child, dependsOn: [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])] },
    );
    const afterChart = { ...child, dependsOn: [this.release] };

    const proxyConfig = new k8s.apiextensions.CustomResource(
      `${name}-proxy-config`,
      {
        apiVersion: ENVOY_GATEWAY_API,
        kind: "EnvoyProxy",
        metadata: { name: `${GATEWAY_NAME}-proxy`, namespace: args.namespace },
        spec: {
          provider: {
            type: "Kubernetes",
            kubernetes: {
              envoyService: {
                type: "LoadBalancer",
                // Keep client source addresses (rate limits, audit logs) and skip the extra node hop.
                externalTrafficPolicy: "Local",
                annotations: args.cluster.loadBalancer.annotations,
              },
              envoyDeployment: {
                replicas: args.proxy.replicas,
                container: { resources: containerResources(args.proxy.cpu, args.proxy.memory) },
                pod: {
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        {
                          weight: 100,
                          podAffinityTerm: {
                            topologyKey: "kubernetes.io/hostname",
                            labelSelector: { matchLabels: proxyPodLabels(GATEWAY_NAME) },
                          },
                        },
                      ],
                    },
                  },
                },
              },
              ...(args.highAvailability ? { envoyPDB: { minAvailable: 1 } } : {}),
            },
          },
        },
      },
      afterChart,
    );

    const gatewayClass = new k8s.apiextensions.CustomResource(
      `${name}-class`,
      {
        apiVersion: `${GATEWAY_API}/v1`,
        kind: "GatewayClass",
        metadata: { name: GATEWAY_NAME },
        spec: {
          controllerName: CONTROLLER_NAME,
          parametersRef: {
            group: "gateway.envoyproxy.io",
            kind: "EnvoyProxy",
            name: `${GATEWAY_NAME}-proxy`,
            namespace: args.namespace,
          },
        },
      },
      { ...child, dependsOn: [this.release, proxyConfig] },
    );

    this.gateway = new k8s.apiextensions.CustomResource(
      `${name}-gateway`,
      {
        apiVersion: `${GATEWAY_API}/v1`,
        kind: "Gateway",
        metadata: { name: GATEWAY_NAME, namespace: args.namespace },
        spec: {
          gatewayClassName: GATEWAY_NAME,
          listeners: [
            { name: HTTP_LISTENER, protocol: "HTTP", port: 80, allowedRoutes: { namespaces: { from: "Same" } } },
            {
              name: HTTPS_LISTENER,
              protocol: "HTTPS",
              port: 443,
              hostname: `*.${args.domain}`,
              tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: args.certificateSecret }] },
              allowedRoutes: {
                namespaces: {
                  from: "Selector",
                  selector: {
                    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: args.routeNamespaces }],
                  },
                },
              },
            },
          ],
        },
      },
      { ...child, dependsOn: [gatewayClass] },
    );
    const onGateway = { ...child, dependsOn: [this.gateway] };

    // The plain-HTTP listener's only job: send clients to HTTPS. ACME HTTP-01 solver routes (created by
    // cert-manager at issue time) match a longer path and so take precedence for the challenge only.
    new k8s.apiextensions.CustomResource(
      `${name}-https-redirect`,
      {
        apiVersion: `${GATEWAY_API}/v1`,
        kind: "HTTPRoute",
        metadata: { name: "https-redirect", namespace: args.namespace },
        spec: {
          parentRefs: [{ group: GATEWAY_API, kind: "Gateway", name: GATEWAY_NAME, sectionName: HTTP_LISTENER }],
          rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
        },
      },
      onGateway,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-client-tls`,
      {
        apiVersion: ENVOY_GATEWAY_API,
        kind: "ClientTrafficPolicy",
        metadata: { name: `${GATEWAY_NAME}-client`, namespace: args.namespace },
        spec: {
          targetRefs: [{ group: GATEWAY_API, kind: "Gateway", name: GATEWAY_NAME }],
          tls: { minVersion: "1.2" },
          // Clients of streaming completions send nothing while tokens flow; do not cut them off as idle.
          timeout: { http: { idleTimeout: "15m" } },
        },
      },
      onGateway,
    );

    if (args.monitoring)
      new k8s.apiextensions.CustomResource(
        `${name}-proxy-metrics`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PodMonitor",
          metadata: { name: `${GATEWAY_NAME}-proxy`, namespace: args.namespace },
          spec: {
            selector: { matchLabels: proxyPodLabels(GATEWAY_NAME) },
            podMetricsEndpoints: [{ port: "metrics", path: "/stats/prometheus", interval: "15s" }],
          },
        },
        { ...child, dependsOn: [this.release, ...args.monitoring.dependsOn] },
      );

    this.httpsListener = { gatewayName: GATEWAY_NAME, gatewayNamespace: args.namespace, sectionName: HTTPS_LISTENER };
    this.registerOutputs({});
  }
}

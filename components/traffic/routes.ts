/** HTTPRoutes to services behind the gateway's HTTPS listener, and Envoy Gateway's per-route traffic policy. */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export const GATEWAY_API = "gateway.networking.k8s.io";
export const ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1";

/**
 * The only paths published through the gateway: the runtime's OpenAI-compatible API (runtime/Api/Endpoints.cs
 * serves /v1/chat/completions, /v1/completions, /v1/models). /metrics, /healthz and /readyz stay in-cluster:
 * Prometheus and the kubelet reach the pod directly, and the internet must not read metrics without a key.
 * Gateway API PathPrefix matches whole path elements, so "/v1" matches /v1/... but not /v1x.
 */
export const PUBLIC_PATH_PREFIXES = ["/v1"] as const;

/** Seconds in a Gateway API duration (GEP-2257: `600s`, `1h30m`, `500ms`); throws on anything else. */
export function gatewayDurationSeconds(duration: string): number {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(duration))
    throw new Error(`'${duration}' is not a Gateway API duration such as 600s`);
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  return [...duration.matchAll(/([0-9]+)(ms|h|m|s)/g)].reduce(
    (sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit],
    0,
  );
}

/** Where routes attach: the gateway's HTTPS listener. */
export interface ListenerRef {
  gatewayName: string;
  gatewayNamespace: string;
  sectionName: string;
}

export interface RouteArgs {
  /** Route name in its namespace (also names the traffic policy). */
  routeName: string;
  namespace: pulumi.Input<string>;
  hostname: string;
  listener: ListenerRef;
  /** `namespace`: a Service in another namespace (which must grant it with a ReferenceGrant). */
  backend: { service: pulumi.Input<string>; port: number; namespace?: string };
  /**
   * Whole-request timeout. Streaming completions hold the request open while tokens flow, so this bounds
   * the longest generation rather than a network round trip.
   */
  requestTimeout: string;
  labels?: Record<string, string>;
}

export function httpsRoute(name: string, args: RouteArgs, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: "HTTPRoute",
      metadata: { name: args.routeName, namespace: args.namespace, labels: args.labels },
      spec: {
        parentRefs: [
          {
            group: GATEWAY_API,
            kind: "Gateway",
            name: args.listener.gatewayName,
            namespace: args.listener.gatewayNamespace,
            sectionName: args.listener.sectionName,
          },
        ],
        hostnames: [args.hostname],
        rules: [
          {
            matches: PUBLIC_PATH_PREFIXES.map((value) => ({ path: { type: "PathPrefix", value } })),
            backendRefs: [
              {
                name: args.backend.service,
                port: args.backend.port,
                ...(args.backend.namespace ? { namespace: args.backend.namespace } : {}),
              },
            ],
            timeouts: { request: args.requestTimeout, backendRequest: args.requestTimeout },
          },
        ],
      },
    },
    opts,
  );
}

/**
 * Least-request balancing for a route: generation time varies by orders of magnitude between requests, so
 * round robin piles long generations onto one replica while others idle.
 */
export function leastRequestPolicy(
  name: string,
  args: { routeName: string; namespace: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: ENVOY_GATEWAY_API,
      kind: "BackendTrafficPolicy",
      metadata: { name: args.routeName, namespace: args.namespace },
      spec: {
        targetRefs: [{ group: GATEWAY_API, kind: "HTTPRoute", name: args.routeName }],
        loadBalancer: { type: "LeastRequest" },
      },
    },
    opts,
  );
}

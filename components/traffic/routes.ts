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
  /** Path prefixes routed; the model API's by default. A UI behind the gateway (Grafana) serves "/". */
  pathPrefixes?: readonly string[];
  /**
   * Give idempotent reads (GET) a rule of their own, named `READS_RULE`, so a policy can retry them (and only
   * them) on a 503; everything else falls through to the `API_RULE` rule.
   */
  separateReads?: boolean;
  /** Route annotations (external-dns reads its record settings from the route, not the Gateway). */
  annotations?: Record<string, pulumi.Input<string>>;
}

/** A route's attachment to the gateway's listener. */
const listenerParentRef = (l: ListenerRef) => ({
  group: GATEWAY_API,
  kind: "Gateway",
  name: l.gatewayName,
  namespace: l.gatewayNamespace,
  sectionName: l.sectionName,
});

/** Route rule names: Envoy Gateway policies address a rule by its name (`targetRefs[].sectionName`). */
export const READS_RULE = "reads";
export const API_RULE = "api";

export function httpsRoute(name: string, args: RouteArgs, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: "HTTPRoute",
      metadata: { name: args.routeName, namespace: args.namespace, labels: args.labels, annotations: args.annotations },
      spec: {
        parentRefs: [listenerParentRef(args.listener)],
        hostnames: [args.hostname],
        rules: routeRules(args),
      },
    },
    opts,
  );
}

/**
 * A cluster's health host for one public host (components/traffic/failover.ts): exactly one path, matched
 * exactly and for GET only, with no credentials, so Route 53's checkers can ask whether this cluster serves
 * the host. Nothing else is routed on that name.
 */
export function healthRoute(
  name: string,
  args: Pick<RouteArgs, "routeName" | "namespace" | "hostname" | "listener" | "backend" | "labels"> & { path: string },
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: "HTTPRoute",
      metadata: { name: args.routeName, namespace: args.namespace, labels: args.labels },
      spec: {
        parentRefs: [listenerParentRef(args.listener)],
        hostnames: [args.hostname],
        rules: [
          {
            matches: [{ path: { type: "Exact", value: args.path }, method: "GET" }],
            backendRefs: [{ name: args.backend.service, port: args.backend.port }],
            timeouts: { request: "5s" },
          },
        ],
      },
    },
    opts,
  );
}

/**
 * The rules of a route. With `separateReads`, GET requests match the `reads` rule first (Gateway API ranks a
 * match with a method above one without on the same path), everything else the `api` rule.
 */
export function routeRules(args: Pick<RouteArgs, "backend" | "requestTimeout" | "pathPrefixes" | "separateReads">) {
  const prefixes = args.pathPrefixes ?? PUBLIC_PATH_PREFIXES;
  const rule = (name: string | undefined, method?: "GET") => ({
    ...(name ? { name } : {}),
    matches: prefixes.map((value) => ({ path: { type: "PathPrefix", value }, ...(method ? { method } : {}) })),
    backendRefs: [
      {
        name: args.backend.service,
        port: args.backend.port,
        ...(args.backend.namespace ? { namespace: args.backend.namespace } : {}),
      },
    ],
    timeouts: { request: args.requestTimeout, backendRequest: args.requestTimeout },
  });
  return args.separateReads ? [rule(READS_RULE, "GET"), rule(API_RULE)] : [rule(undefined)];
}

/**
 * Outlier detection (Envoy's passive health checks) for a model's replicas. With local- and external-origin
 * errors split, a replica that refuses connections or resets them is ejected after 3 in a row, one that answers
 * 502/503/504 (the runtime's 503 while draining or before its model is loaded) after 3, any other 5xx after 5.
 * An ejected replica rests for `baseEjectionTime` (longer each time again); at most half of the replicas are
 * ejected at once, so a fault that hits every replica (a bad model version) cannot empty the pool. Interval
 * and the rest stay at Envoy Gateway's defaults (3 s).
 */
export const PASSIVE_HEALTH_CHECK = {
  splitExternalLocalOriginErrors: true,
  consecutiveLocalOriginFailures: 3,
  consecutiveGatewayErrors: 3,
  consecutive5XxErrors: 5,
  baseEjectionTime: "30s",
  maxEjectionPercent: 50,
} as const;

/**
 * Retries, by what is safe to repeat. Completions are POSTs that generate (and bill) tokens: they are retried
 * only when the request provably never reached a replica: the connection could not be opened
 * (`connect-failure`) or was reset before the request headers were sent (`reset-before-request`). Idempotent
 * reads (GET /v1/models) are also retried on a 503 (a replica draining or still loading its model).
 * Envoy Gateway retries on a different replica (its previous-hosts predicate), 2 retries at most.
 */
export const RETRY_TRIGGERS = {
  api: ["connect-failure", "reset-before-request"],
  reads: ["connect-failure", "reset-before-request", "retriable-status-codes"],
} as const;
export const RETRIED_READ_STATUS_CODES = [503] as const;
const NUM_RETRIES = 2;

/**
 * Envoy Gateway traffic policy for a model's route: least-request balancing (generation time varies by orders
 * of magnitude between requests, so round robin piles long generations onto one replica while others idle),
 * outlier detection, and retries. Two objects: one on the route (the `api` rule and anything else), one on its
 * `reads` rule. Envoy Gateway does not merge a rule's policy with the route's (the rule's replaces it), so the
 * rule's repeats the balancing and health checks.
 */
export function backendTrafficPolicies(
  name: string,
  args: { routeName: string; namespace: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource[] {
  const policy = (resourceName: string, policyName: string, sectionName: string | undefined, kind: keyof typeof RETRY_TRIGGERS) =>
    new k8s.apiextensions.CustomResource(
      resourceName,
      {
        apiVersion: ENVOY_GATEWAY_API,
        kind: "BackendTrafficPolicy",
        metadata: { name: policyName, namespace: args.namespace },
        spec: {
          targetRefs: [{ group: GATEWAY_API, kind: "HTTPRoute", name: args.routeName, ...(sectionName ? { sectionName } : {}) }],
          loadBalancer: { type: "LeastRequest" },
          healthCheck: { passive: { ...PASSIVE_HEALTH_CHECK } },
          retry: {
            numRetries: NUM_RETRIES,
            retryOn: {
              triggers: [...RETRY_TRIGGERS[kind]],
              ...(kind === "reads" ? { httpStatusCodes: [...RETRIED_READ_STATUS_CODES] } : {}),
            },
          },
        },
      },
      opts,
    );
  return [
    policy(name, args.routeName, undefined, "api"),
    policy(`${name}-${READS_RULE}`, `${args.routeName}-${READS_RULE}`, READS_RULE, "reads"),
  ];
}

/**
 * Makes the gateway reach a Service over TLS and verify it: Gateway API's BackendTLSPolicy (v1, standard since
 * Gateway API v1.4; gateway-helm v1.7.4 bundles v1.4.1 and serves v1). The CA is a Secret's `ca.crt`, a kind
 * Envoy Gateway supports beside ConfigMap (internal/gatewayapi/backendtlspolicy.go at v1.7.4); it must sit in
 * the Service's namespace. `hostname` is both the SNI and the name the certificate must carry.
 */
export function backendTlsPolicy(
  name: string,
  args: { service: pulumi.Input<string>; namespace: pulumi.Input<string>; caSecret: string; hostname: string },
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: "BackendTLSPolicy",
      metadata: { name: args.service, namespace: args.namespace },
      spec: {
        targetRefs: [{ group: "", kind: "Service", name: args.service }],
        validation: { caCertificateRefs: [{ group: "", kind: "Secret", name: args.caSecret }], hostname: args.hostname },
      },
    },
    opts,
  );
}

/**
 * Scale from zero without dropping requests: the KEDA HTTP add-on (official chart, pinned in charts.ts). Its
 * interceptor sits between the gateway and a model that may have no replica and holds each request until one
 * is ready (up to the model's `coldStartHoldSeconds`, then 504); its external scaler tells KEDA about the held
 * and in-flight requests. The add-on's own ScaledObject is switched off (skip-scaledobject-creation) and its
 * `external-push` trigger joins the model's queue-depth ScaledObject instead, as the add-on documents for
 * combining it with other scalers: KEDA allows one ScaledObject per Deployment, so 0 -> 1 (the interceptor's
 * requests) and 1 -> N (queue depth, concurrency) live in one object.
 *
 * TLS (`tls` given, every environment but local): the interceptor serves a second proxy on `INTERCEPTOR.tlsPort`
 * with a certificate from the internal CA, and requests that arrive there go on to `https://<service>.<ns>:<port>`
 * (interceptor/middleware/routing.go at v0.15.0). Go verifies that upstream against its system roots, which
 * `SSL_CERT_FILE` points at the `ca.crt` of the interceptor's own certificate: the internal root. The gateway
 * verifies the interceptor with a BackendTLSPolicy and reaches only the TLS port (the plain one keeps listening).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord } from "../clusters/record";
import { inNamespace } from "../security/network-policy";
import { restrictedContainerSecurityContext } from "../security/pod-security";
import { backendTlsPolicy, GATEWAY_API } from "../traffic/routes";

/** The Helm release name: the chart names its objects after the chart (`keda-add-ons-http-*`), not the release. */
export const HTTP_ADD_ON_RELEASE = "keda-add-ons-http";
/** Services the chart creates, and their ports (values `interceptor.proxy.port`, `scaler.grpcPort`). */
export const INTERCEPTOR = {
  service: "keda-add-ons-http-interceptor-proxy",
  port: 8080,
  /** Value `interceptor.tls.port`; the Service names it `proxy-tls` (templates/interceptor/service-proxy.yaml). */
  tlsPort: 8443,
  adminPort: 9090,
} as const;
/** The interceptor's serving certificate Secret, mounted by the chart at /certs. */
export const INTERCEPTOR_TLS_SECRET = "keda-add-ons-http-interceptor-tls";
/** The names the interceptor's certificate carries; the gateway verifies the last. */
export const interceptorDnsNames = (namespace: string) => [
  INTERCEPTOR.service,
  `${INTERCEPTOR.service}.${namespace}`,
  `${INTERCEPTOR.service}.${namespace}.svc`,
];
export const EXTERNAL_SCALER = { service: "keda-add-ons-http-external-scaler", port: 9090 } as const;
/** Pod labels of the chart's interceptor and scaler (templates/interceptor/deployment.yaml, scaler/deployment.yaml). */
export const INTERCEPTOR_POD_LABELS = {
  "app.kubernetes.io/component": "interceptor",
  "app.kubernetes.io/name": "http-add-on",
} as const;
export const SCALER_POD_LABELS = { "app.kubernetes.io/component": "scaler", "app.kubernetes.io/name": "http-add-on" } as const;

/** The operator honours this on an HTTPScaledObject: it creates no ScaledObject, so ours can carry its trigger. */
export const SKIP_SCALED_OBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation";

export interface HttpAddOnArgs {
  cluster: ClusterRecord;
  /** KEDA's namespace: the add-on's external scaler is called by KEDA's operator. */
  namespace: string;
  highAvailability: boolean;
  /** The longest a response may take to start (non-streamed generations): the interceptor's header timeout. */
  responseHeaderSeconds: number;
  /** Where the gateway's Envoy proxies run: the only clients the interceptor accepts. */
  gateway: { namespace: string; podLabels: Record<string, string> };
  /** Namespaces whose HTTPRoutes may send traffic to the interceptor (ReferenceGrant). */
  routeNamespaces: string[];
  /**
   * Verified TLS on both hops: the interceptor's certificate (from the internal CA, for `interceptorDnsNames`)
   * and a Secret in `namespace` whose `ca.crt` is that CA's root. Absent only where the runtime serves HTTP (local).
   */
  tls?: { certSecret: string; caSecret: string; dependsOn: pulumi.Input<pulumi.Resource>[] };
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

/** The restricted Pod Security Standard (the keda namespace enforces it); the chart's defaults lack two fields. */
const restrictedPod = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };

/** Where the chart mounts `interceptor.tls.certSecret`. */
const CERTS_DIR = "/certs";

export function httpAddOnValues(
  a: Pick<HttpAddOnArgs, "highAvailability" | "responseHeaderSeconds"> & {
    tls?: Pick<NonNullable<HttpAddOnArgs["tls"]>, "certSecret">;
  },
): Record<string, unknown> {
  const ha = a.highAvailability;
  return {
    crds: { install: true },
    operator: { replicas: 1, resources: containerResources("50m", "64Mi", "500m", "128Mi") },
    scaler: { replicas: ha ? 2 : 1, resources: containerResources("50m", "64Mi", "500m", "128Mi") },
    interceptor: {
      // The chart scales the interceptor itself with a ScaledObject between these bounds.
      replicas: { min: ha ? 2 : 1, max: ha ? 6 : 2 },
      // The default (300s) would cut a long non-streamed generation; readiness waits are set per route.
      responseHeaderTimeout: `${a.responseHeaderSeconds}s`,
      resources: containerResources("100m", "64Mi", "1", "256Mi"),
      pdb: { enabled: ha },
      ...(a.tls
        ? {
            tls: {
              enabled: true,
              certSecret: a.tls.certSecret,
              certPath: `${CERTS_DIR}/tls.crt`,
              keyPath: `${CERTS_DIR}/tls.key`,
              port: INTERCEPTOR.tlsPort,
              skipVerify: false,
            },
            // Go's system roots become this one file: the internal CA's root, beside the interceptor's certificate.
            extraEnvs: { SSL_CERT_FILE: `${CERTS_DIR}/ca.crt` },
          }
        : {}),
    },
    podSecurityContext: { ...restrictedPod, fsGroup: 1000, supplementalGroups: [1000] },
    securityContext: restrictedContainerSecurityContext,
  };
}

/** The keda namespace quota the add-on needs on top of KEDA's own: every pod at its limits, the interceptor at max. */
export function httpAddOnQuota(ha: boolean): { pods: number; cpuMilli: number; memoryMi: number; memoryLimitMi: number } {
  const interceptors = ha ? 6 : 2;
  const others = 1 + (ha ? 2 : 1);
  return {
    pods: interceptors + others,
    cpuMilli: interceptors * 100 + others * 50,
    memoryMi: (interceptors + others) * 64,
    memoryLimitMi: interceptors * 256 + others * 128,
  };
}

export class KedaHttpAddOn extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: HttpAddOnArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:autoscaling:KedaHttpAddOn", name, {}, opts);
    const child = { parent: this, provider: args.cluster.provider };
    const dependsOn = [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])];
    // The interceptor's pods mount the certificate's Secret: it comes first.
    this.release = chartRelease(
      `${name}-http-add-on`,
      { pin: CHARTS.kedaHttpAddOn, releaseName: HTTP_ADD_ON_RELEASE, namespace: args.namespace, values: httpAddOnValues(args) },
      { ...child, dependsOn: [...dependsOn, ...(args.tls?.dependsOn ?? [])] },
    );
    // Only the gateway's proxies reach the interceptor's proxy port (the TLS one when TLS is on), only the
    // add-on's scaler its admin port.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-interceptor-ingress`,
      {
        metadata: { name: "allow-gateway-to-interceptor", namespace: args.namespace },
        spec: {
          podSelector: { matchLabels: INTERCEPTOR_POD_LABELS },
          policyTypes: ["Ingress"],
          ingress: [
            {
              from: [inNamespace(args.gateway.namespace, args.gateway.podLabels)],
              ports: [{ protocol: "TCP", port: args.tls ? INTERCEPTOR.tlsPort : INTERCEPTOR.port }],
            },
            {
              from: [inNamespace(args.namespace, SCALER_POD_LABELS)],
              ports: [{ protocol: "TCP", port: INTERCEPTOR.adminPort }],
            },
          ],
        },
      },
      { ...child, dependsOn },
    );
    // A route in another namespace may name the interceptor's Service only with the namespace's consent.
    new k8s.apiextensions.CustomResource(
      `${name}-interceptor-grant`,
      {
        apiVersion: `${GATEWAY_API}/v1beta1`,
        kind: "ReferenceGrant",
        metadata: { name: "routes-to-interceptor", namespace: args.namespace },
        spec: {
          from: args.routeNamespaces.map((namespace) => ({ group: GATEWAY_API, kind: "HTTPRoute", namespace })),
          to: [{ group: "", kind: "Service", name: INTERCEPTOR.service }],
        },
      },
      { ...child, dependsOn },
    );
    if (args.tls)
      backendTlsPolicy(
        `${name}-interceptor-backend-tls`,
        {
          service: INTERCEPTOR.service,
          namespace: args.namespace,
          caSecret: args.tls.caSecret,
          hostname: interceptorDnsNames(args.namespace).at(-1)!,
        },
        { ...child, dependsOn: [...dependsOn, ...args.tls.dependsOn] },
      );
    this.registerOutputs({});
  }
}

export interface HeldRouteArgs {
  /** Name of the HTTPScaledObject (the model's); the external-push trigger names it. */
  name: string;
  namespace: string;
  hostname: string;
  pathPrefixes: readonly string[];
  deploymentName: pulumi.Input<string>;
  service: pulumi.Input<string>;
  port: number;
  replicas: { max: number };
  /** How long the interceptor holds a request while no replica is ready (then 504). */
  holdSeconds: number;
  /** The longest a response may take to start once a replica has it. */
  responseHeaderSeconds: number;
}

/**
 * The interceptor's routing entry for one model: requests for its host and paths are held until the
 * Deployment has a ready replica, then proxied to its Service. KEDA's ScaledObject is ours (annotation).
 */
export function heldRoute(name: string, a: HeldRouteArgs, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "http.keda.sh/v1alpha1",
      kind: "HTTPScaledObject",
      metadata: { name: a.name, namespace: a.namespace, annotations: { [SKIP_SCALED_OBJECT]: "true" } },
      spec: {
        hosts: [a.hostname],
        pathPrefixes: [...a.pathPrefixes],
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: a.deploymentName, service: a.service, port: a.port },
        replicas: { min: 0, max: a.replicas.max },
        timeouts: { conditionWait: `${a.holdSeconds}s`, responseHeader: `${a.responseHeaderSeconds}s` },
      },
    },
    opts,
  );
}

/** The trigger that joins the model's ScaledObject: the add-on's scaler reports held and in-flight requests. */
export function externalPushTrigger(namespace: string, httpScaledObject: string): Record<string, unknown> {
  return {
    type: "external-push",
    metadata: { scalerAddress: `${EXTERNAL_SCALER.service}.${namespace}:${EXTERNAL_SCALER.port}`, httpScaledObject },
  };
}

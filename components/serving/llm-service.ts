/**
 * LlmService: one model served by the runtime image on one cluster. Owns the Deployment, its Service, the
 * API-key Secret mounted as the runtime's key file, a PodDisruptionBudget where replicas allow, and, when
 * given, the KEDA ScaledObject on queue depth, the HTTPS route with least-request balancing, and the
 * network policy that lets the model fetch reach the object store.
 *
 * Replicas: when a scaler is attached the Deployment leaves `spec.replicas` unset, so the server-side-apply
 * field manager of this program never owns it and never fights KEDA's HPA; without one it pins max(min, 1).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { heldRoute, INTERCEPTOR, INTERCEPTOR_POD_LABELS } from "../autoscaling/http-add-on";
import { queueScaledObject } from "../autoscaling/keda";
import type { ClusterRecord } from "../clusters/record";
import { inNamespace, modelStoreEgress } from "../security/network-policy";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../security/pod-security";
import {
  backendTlsPolicy,
  backendTrafficPolicies,
  gatewayDurationSeconds,
  healthRoute,
  httpsRoute,
  PUBLIC_PATH_PREFIXES,
  type ListenerRef,
} from "../traffic/routes";
import { ModelCache, usesSharedCache } from "./model-cache";
import {
  isFetched,
  modelArgs,
  modelFetchContainer,
  modelVolume,
  storeEndpoint,
  MODEL_MOUNT,
  type ModelSource,
} from "./model-source";
import { deploymentTimeouts, startupBudget, startupProbe, STARTUP_BUDGETS } from "./startup-budget";

/** One model as a cluster serves it. */
export interface ServedModel {
  name: string;
  source: ModelSource;
  gpus: number;
  resources: { cpu: string; memory: string };
  replicas: { min: number; max: number };
  maxConcurrent: number;
  maxQueue: number;
  cacheSize: string;
  /** Waiting requests per replica before the scaler adds one. */
  targetQueueDepth?: number;
  /** With `replicas.min` 0: how long a request is held while the first replica starts (default 600). */
  coldStartHoldSeconds?: number;
}

export interface LlmServiceArgs {
  cluster: ClusterRecord;
  namespace: string;
  model: ServedModel;
  image: string;
  /** API keys, one per line; must be a secret. */
  apiKeys: pulumi.Input<string>;
  /** Seconds in-flight requests get to finish after SIGTERM (the runtime's drain grace period). */
  drainSeconds?: number;
  priorityClassName?: string;
  /** Service account the pods run under, and labels its cloud identity needs on the pods (workload identity). */
  serviceAccount?: { name: pulumi.Input<string>; podLabels: Record<string, string> };
  /** Publish the model at `https://<hostname>` through the gateway's HTTPS listener. */
  route?: {
    listener: ListenerRef;
    hostname: string;
    requestTimeout?: string;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** On the route: external-dns's failover record settings (components/traffic/failover.ts). */
    annotations?: Record<string, pulumi.Input<string>>;
    /** A health host of this cluster whose only route is `GET <READINESS_PATH>`, for Route 53's health checks. */
    healthHostname?: string;
  };
  /** Scale on queue depth with KEDA, reading the runtime's metrics from this Prometheus. */
  autoscaling?: { prometheusUrl: string; dependsOn?: pulumi.Input<pulumi.Resource>[] };
  tls?: RuntimeTls;
  /**
   * The KEDA HTTP add-on (http-add-on.ts) in `namespace`: a model with `replicas.min` 0 is routed through its
   * interceptor, which holds requests while the model has no ready replica.
   */
  scaleFromZero?: { namespace: string; dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

/** How long a request to a model at zero replicas is held by default (the config key's default). */
export const DEFAULT_COLD_START_HOLD_SECONDS = 600;

/** The runtime's serving certificate: a cert-manager Secret (`tls.crt`, `tls.key`) and the CA that signed it. */
export interface RuntimeTls {
  /** Secret cert-manager writes the certificate for `runtimeDnsNames` into, in the model's namespace. */
  secretName: string;
  /** Secret in the same namespace whose `ca.crt` the gateway verifies the runtime against. */
  caSecret: string;
  /** The Certificate (and its issuer): the pods cannot start before the Secret exists. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Names a runtime's certificate carries: its Service's in-cluster DNS names (the gateway verifies
 * `<service>.<namespace>.svc`), plus the one name Prometheus verifies for every model, since one scrape job
 * covers all runtime Services of a namespace and TLS verification takes a single server name.
 */
export function runtimeDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, runtimeScrapeServerName(namespace)];
}

/** The server name Prometheus verifies runtime certificates of `namespace` against. */
export const runtimeScrapeServerName = (namespace: string) => `llm-runtime.${namespace}.svc`;

/** The Secret name of a model's serving certificate. */
export const runtimeTlsSecret = (model: string) => `${model}-tls`;

/** Longest request (a long streamed generation) the gateway lets through. */
export const DEFAULT_REQUEST_TIMEOUT = "600s";

export function validateLlmService(
  args: Pick<LlmServiceArgs, "model" | "route" | "autoscaling" | "drainSeconds" | "scaleFromZero" | "tls">,
): string[] {
  const out: string[] = [];
  const { replicas } = args.model;
  if (replicas.min > replicas.max)
    out.push(`model.replicas.min (${replicas.min}) must be <= model.replicas.max (${replicas.max})`);
  if (replicas.min === 0 && args.autoscaling === undefined)
    out.push("model.replicas.min 0 needs autoscaling: without a scaler nothing brings the model back");
  if (replicas.min === 0 && args.route === undefined)
    out.push("model.replicas.min 0 needs route: requests reach a model at zero through the gateway's route");
  if (replicas.min === 0 && args.scaleFromZero === undefined)
    out.push(
      "model.replicas.min 0 needs scaleFromZero: without the interceptor a request at zero replicas fails instead of waiting",
    );
  if (args.drainSeconds !== undefined && args.drainSeconds < 1) out.push(`drainSeconds must be >= 1, got ${args.drainSeconds}`);
  if (startupBudget(args.model.cacheSize) === undefined)
    out.push(
      `model.cacheSize ${args.model.cacheSize} is beyond the start-up budget table (up to ${STARTUP_BUDGETS[STARTUP_BUDGETS.length - 1].sizeGiB}Gi, components/serving/startup-budget.ts)`,
    );
  return out;
}

/** Port the runtime listens on inside the pod. */
export const RUNTIME_PORT = 8080;
const KEYS_DIR = "/etc/llm-runtime";
/** Where the serving certificate is mounted (read-only; the kubelet swaps the files on rotation, the runtime reloads). */
export const TLS_DIR = "/etc/llm-runtime-tls";
const DEFAULT_DRAIN_SECONDS = 60;

/**
 * How the runtime stops (runtime/Hosting): on SIGTERM `/readyz` turns 503 and new `/v1` requests get 503,
 * in-flight ones get `DrainGraceSeconds`, and the host gives up `RUNTIME_HOST_MARGIN_SECONDS` after that
 * (RuntimeApp.cs: `ShutdownTimeout = DrainGraceSeconds + 5`; a test reads it from there).
 */
export const RUNTIME_HOST_MARGIN_SECONDS = 5;
/**
 * The preStop sleep. A terminating pod leaves the Service's ready endpoints at once, but each Envoy proxy stops
 * picking it only after Envoy Gateway has seen the EndpointSlice change and pushed new endpoints over xDS.
 * Until then requests still arrive; sleeping before SIGTERM lets the runtime serve them instead of refusing
 * them with a 503, which the gateway does not retry for completions (POST). A budget, not a measurement.
 */
export const ENDPOINT_PROPAGATION_SECONDS = 10;
/** After the host's own deadline: process exit (model and GPU context teardown) before the kubelet's SIGKILL. */
export const PROCESS_EXIT_MARGIN_SECONDS = 5;

/**
 * The pod's stop sequence from the drain budget: preStop sleep, then SIGTERM and the runtime's drain, then its
 * host margin and exit. The kubelet's grace period counts from the start of preStop, so it covers all of them.
 * `sleep` is the kubelet's own action (no shell or binary in the image needed; Kubernetes 1.30 and newer).
 */
export function podTermination(drainSeconds: number) {
  return {
    preStop: { sleep: { seconds: ENDPOINT_PROPAGATION_SECONDS } },
    terminationGracePeriodSeconds:
      ENDPOINT_PROPAGATION_SECONDS + drainSeconds + RUNTIME_HOST_MARGIN_SECONDS + PROCESS_EXIT_MARGIN_SECONDS,
  };
}

/** Well-known node labels the scheduler spreads replicas over. */
export const ZONE_KEY = "topology.kubernetes.io/zone";
export const HOST_KEY = "kubernetes.io/hostname";

/**
 * Replicas spread over zones first, then nodes, so one zone outage or one node drain takes as few as
 * possible. Preferences (`ScheduleAnyway`), not hard rules: the GPU node groups span every zone in one
 * autoscaling group, so the cluster autoscaler cannot add a node in a chosen zone, and a hard rule would
 * leave a replica Pending while GPUs are free in another zone (capacity beats placement for GPUs); nodes
 * without a zone label (on-prem, local) count as no zone. `pod-template-hash` spreads each rollout's
 * ReplicaSet on its own, so old pods being replaced do not skew where new ones go.
 */
export function topologySpread(labels: Record<string, string>) {
  return [ZONE_KEY, HOST_KEY].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: labels },
    matchLabelKeys: ["pod-template-hash"],
  }));
}
const DEFAULT_TARGET_QUEUE_DEPTH = 4;

/** The runtime's readiness endpoint (no credentials): the probes, and Route 53's health checks through the gateway. */
export const READINESS_PATH = "/readyz";

/** A probe that speaks HTTPS when the runtime does (the kubelet does not verify the certificate). */
export function probeFor<P extends { httpGet: Record<string, unknown> }>(probe: P, tls: boolean): P {
  return tls ? { ...probe, httpGet: { ...probe.httpGet, scheme: "HTTPS" } } : probe;
}

/** The runtime's listener and certificate options (the contract with runtime/: `--tls-cert-file`, `--tls-key-file`). */
export function listenArgs(tls: boolean): string[] {
  if (!tls) return ["--urls", `http://0.0.0.0:${RUNTIME_PORT}`];
  return [
    "--urls",
    `https://0.0.0.0:${RUNTIME_PORT}`,
    "--tls-cert-file",
    `${TLS_DIR}/tls.crt`,
    "--tls-key-file",
    `${TLS_DIR}/tls.key`,
  ];
}

export { startupWorstCaseSeconds } from "./startup-budget";

export class LlmService extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly labels: Record<string, string>;
  /** The cluster's shared copy of this model's version, where the cluster has a shared class and the model is pinned. */
  readonly cache?: ModelCache;
  /** The interceptor's routing entry (HTTPScaledObject) of a model that scales from zero. */
  readonly heldRoute?: k8s.apiextensions.CustomResource;
  /** How long Pulumi waits for the Deployment to become ready (derived from the startup probe). */
  readonly timeouts: { create: string; update: string };

  constructor(name: string, args: LlmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:serving:LlmService", name, {}, opts);
    const problems = validateLlmService(args);
    if (problems.length > 0) throw new Error(`LlmService ${name}: ${problems.join("; ")}`);
    const { cluster, model } = args;
    const child = { parent: this, provider: cluster.provider, dependsOn: cluster.ready };
    const drain = args.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
    const termination = podTermination(drain);
    this.labels = { "app.kubernetes.io/name": "llm-runtime", "app.kubernetes.io/instance": model.name };

    const keys = new k8s.core.v1.Secret(
      `${name}-api-keys`,
      {
        metadata: { namespace: args.namespace, labels: this.labels },
        type: "Opaque",
        stringData: { "api-keys": pulumi.secret(args.apiKeys) },
      },
      child,
    );

    const gpuLimits: Record<string, string> =
      cluster.gpu.enabled && model.gpus > 0 ? { [cluster.gpu.resourceName]: String(model.gpus) } : {};
    const onGpu = Object.keys(gpuLimits).length > 0;
    const tls = args.tls !== undefined;

    // The start-up budget of this model's size decides the probe and every wait (startup-budget.ts).
    const budget = startupBudget(model.cacheSize)!;
    const probe = startupProbe(budget);
    const cache = (this.cache = usesSharedCache(cluster, model.source)
      ? new ModelCache(
          `${name}-cache`,
          {
            cluster,
            namespace: args.namespace,
            model: model.name,
            source: model.source,
            image: args.image,
            size: model.cacheSize,
            budget,
            serviceAccount: args.serviceAccount,
          },
          { parent: this },
        )
      : undefined);
    const fetchInPod = !cache && isFetched(model.source);
    this.timeouts = deploymentTimeouts(probe, fetchInPod ? budget.fetchSeconds : 0);
    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        // Named after the model: KEDA, dashboards and operators address it by that name.
        metadata: { name: model.name, namespace: args.namespace, labels: this.labels },
        spec: {
          replicas: args.autoscaling ? undefined : Math.max(model.replicas.min, 1),
          selector: { matchLabels: this.labels },
          // Never drop below the serving count during a rollout: a new pod needs minutes to load a model.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels: { ...args.serviceAccount?.podLabels, ...this.labels },
              annotations: {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(RUNTIME_PORT),
                "prometheus.io/scheme": tls ? "https" : "http",
              },
            },
            spec: {
              serviceAccountName: args.serviceAccount?.name,
              // No Kubernetes API token: the runtime never calls the API (cloud identity webhooks project their own).
              automountServiceAccountToken: false,
              securityContext: restrictedPodSecurityContext,
              terminationGracePeriodSeconds: termination.terminationGracePeriodSeconds,
              priorityClassName: args.priorityClassName,
              topologySpreadConstraints: topologySpread(this.labels),
              nodeSelector: onGpu ? cluster.gpu.nodeSelector : undefined,
              tolerations: onGpu ? cluster.gpu.tolerations : undefined,
              // With the shared cache the Job has fetched and verified the model; otherwise each pod fetches its own.
              initContainers: cache ? [] : modelFetchContainer(model.source, "model", args.image),
              containers: [
                {
                  name: "runtime",
                  image: args.image,
                  args: [
                    ...modelArgs(model.source),
                    "--model-name",
                    model.name,
                    "--api-keys-file",
                    `${KEYS_DIR}/api-keys`,
                    "--max-concurrent",
                    String(model.maxConcurrent),
                    "--max-queue",
                    String(model.maxQueue),
                    ...listenArgs(tls),
                    // The runtime defaults to the CPU provider: a GPU pod must ask for CUDA explicitly.
                    "--provider",
                    onGpu ? "cuda" : "cpu",
                  ],
                  env: [
                    // The runtime's drain matches what the pod gets after SIGTERM (plus the host's own margin).
                    { name: "Runtime__DrainGraceSeconds", value: String(drain) },
                    // The root filesystem is read-only: HOME points at the writable /tmp, and the demo model is
                    // generated into the writable model volume.
                    { name: "HOME", value: "/tmp" },
                    ...(model.source.kind === "demo" ? [{ name: "Runtime__DemoCacheDir", value: MODEL_MOUNT }] : []),
                  ],
                  ports: [{ name: "http", containerPort: RUNTIME_PORT }],
                  resources: {
                    requests: { cpu: model.resources.cpu, memory: model.resources.memory, ...gpuLimits },
                    limits: { cpu: model.resources.cpu, memory: model.resources.memory, ...gpuLimits },
                  },
                  securityContext: restrictedContainerSecurityContext,
                  lifecycle: { preStop: termination.preStop },
                  readinessProbe: probeFor(
                    { httpGet: { path: READINESS_PATH, port: "http" }, periodSeconds: 5, failureThreshold: 2 },
                    tls,
                  ),
                  livenessProbe: probeFor(
                    { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                    tls,
                  ),
                  startupProbe: probeFor(probe, tls),
                  volumeMounts: [
                    { name: "model", mountPath: MODEL_MOUNT, readOnly: model.source.kind !== "demo" },
                    { name: "api-keys", mountPath: KEYS_DIR, readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                    ...(args.tls ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : []),
                  ],
                },
              ],
              volumes: [
                cache
                  ? { name: "model", persistentVolumeClaim: { claimName: cache.claimName, readOnly: true } }
                  : modelVolume(model.source, "model", { storageClass: cluster.storageClass, size: model.cacheSize }),
                { name: "api-keys", secret: { secretName: keys.metadata.name, defaultMode: 0o440 } },
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                ...(args.tls ? [{ name: "tls", secret: { secretName: args.tls.secretName, defaultMode: 0o440 } }] : []),
              ],
            },
          },
        },
      },
      // Pods start only once the certificate exists and the cache Job has completed (Pulumi waits for a Job to succeed).
      {
        ...child,
        dependsOn: [...cluster.ready, ...(args.tls?.dependsOn ?? []), ...(cache ? [cache.job] : [])],
        customTimeouts: this.timeouts,
      },
    );

    this.service = new k8s.core.v1.Service(
      name,
      {
        metadata: { name: model.name, namespace: args.namespace, labels: this.labels },
        spec: {
          type: "ClusterIP",
          selector: this.labels,
          // The port keeps its name "http" (probes, ServiceMonitor and policies address it); appProtocol says what it speaks.
          ports: [{ name: "http", port: RUNTIME_PORT, targetPort: "http", appProtocol: tls ? "https" : "http" }],
        },
      },
      child,
    );

    if (model.replicas.min >= 2) {
      new k8s.policy.v1.PodDisruptionBudget(
        name,
        {
          metadata: { namespace: args.namespace, labels: this.labels },
          spec: { maxUnavailable: 1, selector: { matchLabels: this.labels } },
        },
        child,
      );
    }

    // Pods that fetch their own copy reach the store; on the shared cache only the Job does.
    const store = cache ? undefined : storeEndpoint(model.source);
    if (store)
      modelStoreEgress(
        `${name}-model-store`,
        { namespace: args.namespace, podLabels: this.labels, store, credentialEndpoints: cluster.credentialEndpoints },
        child,
      );

    // At zero replicas the gateway routes through the HTTP add-on's interceptor, which holds each request until
    // a replica is ready; the gateway's own timeout covers the hold plus the longest generation.
    const fromZero = model.replicas.min === 0 && args.scaleFromZero ? args.scaleFromZero : undefined;
    const holdSeconds = model.coldStartHoldSeconds ?? DEFAULT_COLD_START_HOLD_SECONDS;
    const requestTimeout = args.route?.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    if (fromZero && args.route) {
      const held = heldRoute(
        `${name}-held`,
        {
          name: model.name,
          namespace: args.namespace,
          hostname: args.route.hostname,
          pathPrefixes: PUBLIC_PATH_PREFIXES,
          deploymentName: this.deployment.metadata.name,
          service: this.service.metadata.name,
          port: RUNTIME_PORT,
          replicas: model.replicas,
          holdSeconds,
          responseHeaderSeconds: gatewayDurationSeconds(requestTimeout),
        },
        { ...child, dependsOn: [...cluster.ready, ...(fromZero.dependsOn ?? [])] },
      );
      this.heldRoute = held;
      // The interceptor (in KEDA's namespace) is this model's only client besides the gateway and Prometheus.
      new k8s.networking.v1.NetworkPolicy(
        `${name}-from-interceptor`,
        {
          metadata: { namespace: args.namespace, labels: this.labels },
          spec: {
            podSelector: { matchLabels: this.labels },
            policyTypes: ["Ingress"],
            ingress: [
              {
                from: [inNamespace(fromZero.namespace, INTERCEPTOR_POD_LABELS)],
                ports: [{ protocol: "TCP", port: RUNTIME_PORT }],
              },
            ],
          },
        },
        child,
      );
    }

    if (args.route) {
      // The route and its policy are Gateway API / Envoy Gateway objects: wait for their CRDs.
      const routeOpts = {
        ...child,
        dependsOn: [...cluster.ready, ...(args.route.dependsOn ?? []), ...(fromZero?.dependsOn ?? [])],
      };
      httpsRoute(
        `${name}-route`,
        {
          routeName: model.name,
          namespace: args.namespace,
          hostname: args.route.hostname,
          listener: args.route.listener,
          backend: fromZero
            ? // With TLS the add-on serves (and is verified on) its TLS port, and proxies on over HTTPS (http-add-on.ts).
              {
                service: INTERCEPTOR.service,
                port: args.tls ? INTERCEPTOR.tlsPort : INTERCEPTOR.port,
                namespace: fromZero.namespace,
              }
            : { service: this.service.metadata.name, port: RUNTIME_PORT },
          requestTimeout: fromZero ? `${holdSeconds + gatewayDurationSeconds(requestTimeout)}s` : requestTimeout,
          labels: this.labels,
          separateReads: true,
          annotations: args.route.annotations,
        },
        routeOpts,
      );
      if (args.route.healthHostname)
        healthRoute(
          `${name}-health-route`,
          {
            routeName: `${model.name}-health`,
            namespace: args.namespace,
            hostname: args.route.healthHostname,
            listener: args.route.listener,
            backend: { service: this.service.metadata.name, port: RUNTIME_PORT },
            labels: this.labels,
            path: READINESS_PATH,
          },
          routeOpts,
        );
      backendTrafficPolicies(`${name}-balancing`, { routeName: model.name, namespace: args.namespace }, routeOpts);
      if (args.tls)
        backendTlsPolicy(
          `${name}-backend-tls`,
          {
            service: model.name,
            namespace: args.namespace,
            caSecret: args.tls.caSecret,
            hostname: `${model.name}.${args.namespace}.svc`,
          },
          routeOpts,
        );
    }

    if (args.autoscaling)
      queueScaledObject(
        `${name}-scaler`,
        {
          scaledObjectName: model.name,
          namespace: args.namespace,
          deploymentName: this.deployment.metadata.name,
          model: model.name,
          replicas: model.replicas,
          targetQueueDepth: model.targetQueueDepth ?? DEFAULT_TARGET_QUEUE_DEPTH,
          maxConcurrent: model.maxConcurrent,
          prometheusUrl: args.autoscaling.prometheusUrl,
          scaleFromZero: fromZero ? { scalerNamespace: fromZero.namespace, httpScaledObject: model.name } : undefined,
        },
        {
          ...child,
          dependsOn: [
            ...cluster.ready,
            this.deployment,
            ...(args.autoscaling.dependsOn ?? []),
            ...(this.heldRoute ? [this.heldRoute] : []),
          ],
        },
      );
    this.registerOutputs({ service: this.service.metadata.name });
  }
}

/**
 * The Kubernetes layer of one cluster: namespaces (Pod Security, quotas, limits, priority class), GPU
 * enablement where the record asks for it, TLS, the gateway, KEDA, observability, the serving namespace's
 * network policy and one LlmService per model. Reads only the cluster record, never the substrate.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { httpAddOnQuota, INTERCEPTOR_TLS_SECRET, interceptorDnsNames, KedaHttpAddOn } from "./autoscaling/http-add-on";
import { Keda, kedaMemoryLimitMi } from "./autoscaling/keda";
import type { ClusterRecord } from "./clusters/record";
import { GpuOperator } from "./gpu/gpu-operator";
import { Observability, PROMETHEUS_POD_LABELS, type ObservabilitySettings } from "./observability/observability";
import {
  INFERENCE_PRIORITY_CLASS,
  NAMESPACES,
  PlatformNamespaces,
  platformNamespaces,
  SERVING_TIER_LABEL,
  servingQuota,
} from "./security/namespaces";
import { ServingNetworkPolicy } from "./security/network-policy";
import { INTERNAL_CA_TRUST, Tls, type IssuerSettings } from "./security/tls";
import {
  DEFAULT_REQUEST_TIMEOUT,
  RUNTIME_PORT,
  LlmService,
  runtimeDnsNames,
  runtimeScrapeServerName,
  runtimeTlsSecret,
  type LlmServiceArgs,
} from "./serving/llm-service";
import { cacheClaimSize, usesSharedCache } from "./serving/model-cache";
import { FETCH_RESOURCES, isFetched } from "./serving/model-source";
import { externalDns } from "./traffic/external-dns";
import { GATEWAY_NAME, HTTP_LISTENER, LlmGateway, proxyPodLabels } from "./traffic/gateway";
import { GRAFANA_HOST, hostFor, RESERVED_HOSTS } from "./traffic/hosts";
import { gatewayDurationSeconds } from "./traffic/routes";

export type LayerModel = LlmServiceArgs["model"] & { targetQueueDepth: number };

export interface KubernetesLayerArgs {
  cluster: ClusterRecord;
  domain: string;
  /** Two or more replicas and PodDisruptionBudgets for every controller (everywhere but `local`). */
  highAvailability: boolean;
  issuer: IssuerSettings;
  observability: ObservabilitySettings;
  /** Must be a secret. */
  grafanaAdminPassword: pulumi.Input<string>;
  /** The alert receiver's routing key or URL, with `observability.alerting`; must be a secret. */
  alertCredential?: pulumi.Input<string>;
  /** The models this cluster serves, with their source for this cluster already chosen. */
  models: LayerModel[];
  runtime: { image: string; apiKeys: pulumi.Input<string> };
  /**
   * TLS behind the gateway: the runtime serves HTTPS with a certificate from the in-cluster CA, the gateway and
   * Prometheus verify it (default). False serves plain HTTP inside the cluster, which only `local` may ask for.
   */
  backendTls?: boolean;
  /** This cluster's part in the stack's DNS failover (components/traffic/failover.ts). */
  failover?: LayerFailover;
}

/**
 * Per public host label (each model, `grafana`): the annotations its route carries for external-dns and the
 * cluster's health host. `externalDns`: this cluster publishes its records itself (needs its identity).
 */
export interface LayerFailover {
  byHost: Record<string, { annotations: Record<string, pulumi.Input<string>>; healthHostname: string }>;
  externalDns?: { hostedZoneId: string; ownerId: string; region: string };
}

/** Labels every runtime pod and Service carries (LlmService adds the model's instance label). */
export const RUNTIME_LABELS = { "app.kubernetes.io/name": "llm-runtime" } as const;
export const TLS_SECRET = "llm-gateway-tls";
/** Service account of the runtime pods where the cluster binds no cloud identity to one. */
export const RUNTIME_SERVICE_ACCOUNT = "llm-runtime";

export function validateLayer(args: Pick<KubernetesLayerArgs, "cluster" | "models" | "failover">): string[] {
  const out: string[] = [];
  if (args.failover?.externalDns && !args.cluster.identities?.externalDns)
    out.push(
      `cluster '${args.cluster.name}': external-dns publishes its failover records, but the cluster grants it no identity`,
    );
  const serving = args.cluster.identities?.serving;
  if (serving && serving.namespace !== NAMESPACES.serving)
    out.push(
      `cluster '${args.cluster.name}': the serving identity is bound in namespace '${serving.namespace}', but models run in '${NAMESPACES.serving}'`,
    );
  for (const m of args.models) {
    if (RESERVED_HOSTS.includes(m.name))
      out.push(`model '${m.name}': the host name ${m.name}.<domain> is reserved (${RESERVED_HOSTS.join(", ")})`);
    if (m.gpus > 0 && !args.cluster.gpu.enabled)
      out.push(`model '${m.name}' asks for ${m.gpus} GPU(s) but cluster '${args.cluster.name}' has no GPUs (gpu.enabled false)`);
  }
  return out;
}

export class KubernetesLayer extends pulumi.ComponentResource {
  readonly services: LlmService[] = [];

  constructor(name: string, args: KubernetesLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:platform:KubernetesLayer", name, {}, opts);
    const problems = validateLayer(args);
    if (problems.length > 0) throw new Error(`KubernetesLayer ${name}: ${problems.join("; ")}`);
    const { cluster, highAvailability: ha } = args;
    const parent = { parent: this };
    const gpuOperator = cluster.gpu.enabled && cluster.gpu.installOperator;
    const backendTls = args.backendTls ?? true;
    // Models that may scale to zero are reached through the KEDA HTTP add-on's interceptor.
    const scaleFromZero = args.models.some((m) => m.replicas.min === 0);

    const namespaces = new PlatformNamespaces(
      `${name}-ns`,
      {
        cluster,
        namespaces: [
          {
            name: NAMESPACES.serving,
            podSecurity: "restricted",
            labels: { [SERVING_TIER_LABEL]: "serving" },
            quota: servingQuota(
              args.models.map((m) => ({
                cpu: m.resources.cpu,
                memory: m.resources.memory,
                gpus: cluster.gpu.enabled ? m.gpus : 0,
                cacheSize: isFetched(m.source) && !usesSharedCache(cluster, m.source) ? m.cacheSize : undefined,
                sharedCache: usesSharedCache(cluster, m.source)
                  ? {
                      size: cacheClaimSize(m.cacheSize, cluster.sharedCache?.minimumSize),
                      jobCpu: FETCH_RESOURCES.limits.cpu,
                      jobMemory: FETCH_RESOURCES.limits.memory,
                    }
                  : undefined,
                replicas: m.replicas,
              })),
              cluster.gpu.resourceName,
            ),
            defaults: { cpu: "100m", memory: "128Mi", memoryLimit: "512Mi" },
          },
          ...platformNamespaces({
            gpuOperator,
            monitoringStorage: args.observability.storageSize,
            prometheus: args.observability.prometheusResources,
            replicas: ha ? 2 : 1,
            kedaAddOn: scaleFromZero ? httpAddOnQuota(ha) : undefined,
            kedaMemoryLimitMi: kedaMemoryLimitMi(ha),
          }),
        ],
      },
      parent,
    );
    const ns = (n: string) => [namespaces.byName[n]];

    const observability = new Observability(
      `${name}-observability`,
      {
        cluster,
        namespace: NAMESPACES.monitoring,
        domain: args.domain,
        settings: args.observability,
        grafanaAdminPassword: args.grafanaAdminPassword,
        alertCredential: args.alertCredential,
        highAvailability: ha,
        runtime: {
          namespace: NAMESPACES.serving,
          serviceLabels: RUNTIME_LABELS,
          port: "http",
          tls: backendTls ? { caSecret: INTERNAL_CA_TRUST, serverName: runtimeScrapeServerName(NAMESPACES.serving) } : undefined,
        },
        opts: { dependsOn: [...ns(NAMESPACES.monitoring), ...ns(NAMESPACES.serving)] },
      },
      parent,
    );

    if (gpuOperator)
      new GpuOperator(
        `${name}-gpu`,
        // DCGM's ServiceMonitor needs the Prometheus operator's CRDs.
        {
          cluster,
          namespace: NAMESPACES.gpuOperator,
          opts: { dependsOn: [...ns(NAMESPACES.gpuOperator), observability.release] },
        },
        parent,
      );

    const gateway = new LlmGateway(
      `${name}-gateway`,
      {
        cluster,
        namespace: NAMESPACES.gateway,
        domain: args.domain,
        certificateSecret: TLS_SECRET,
        routeNamespaces: [NAMESPACES.serving, NAMESPACES.monitoring],
        highAvailability: ha,
        proxy: { replicas: ha ? 2 : 1, cpu: "500m", memory: "512Mi" },
        monitoring: { dependsOn: [observability.release] },
        opts: { dependsOn: ns(NAMESPACES.gateway) },
      },
      parent,
    );

    const failover = args.failover;
    observability.publishGrafana(
      `${name}-grafana-route`,
      gateway.httpsListener,
      [gateway.release],
      failover?.byHost[GRAFANA_HOST],
    );
    const dnsIdentity = cluster.identities?.externalDns;
    if (failover?.externalDns && dnsIdentity)
      // Reads HTTPRoutes and the Gateway: the gateway chart's CRDs come first.
      externalDns(
        `${name}-external-dns`,
        { identity: dnsIdentity, domain: args.domain, ...failover.externalDns },
        { parent: this, provider: cluster.provider, dependsOn: [...cluster.ready, ...ns(NAMESPACES.gateway), gateway.release] },
      );

    const tls = new Tls(
      `${name}-tls`,
      {
        cluster,
        namespace: NAMESPACES.certManager,
        issuer: args.issuer,
        gateway: { name: GATEWAY_NAME, namespace: NAMESPACES.gateway, httpListener: HTTP_LISTENER },
        highAvailability: ha,
        // cert-manager reads the Gateway API CRDs (installed by the gateway chart) at start-up.
        opts: { dependsOn: [...ns(NAMESPACES.certManager), observability.release, gateway.release] },
      },
      parent,
    );
    tls.certificate(`${name}-gateway-cert`, {
      namespace: NAMESPACES.gateway,
      secretName: TLS_SECRET,
      dnsNames: [
        ...[...RESERVED_HOSTS, ...args.models.map((m) => m.name)].map((h) => hostFor(h, args.domain)),
        ...Object.values(failover?.byHost ?? {}).map((h) => h.healthHostname),
      ],
    });
    // The hops behind the gateway: one in-cluster CA signs every runtime's certificate (and the interceptor's);
    // the namespaces whose clients verify them get its root.
    const internalCa = backendTls
      ? tls.internalCa(`${name}-internal-ca`, [...ns(NAMESPACES.serving), ...(scaleFromZero ? ns(NAMESPACES.keda) : [])])
      : undefined;
    const servingTrust = internalCa && tls.trustIn(`${name}-serving-ca-trust`, internalCa, NAMESPACES.serving);

    const keda = new Keda(
      `${name}-keda`,
      // Its chart values create ServiceMonitors: the Prometheus operator's CRDs come first.
      {
        cluster,
        namespace: NAMESPACES.keda,
        highAvailability: ha,
        opts: { dependsOn: [...ns(NAMESPACES.keda), observability.release] },
      },
      parent,
    );

    const httpAddOn = scaleFromZero
      ? new KedaHttpAddOn(
          `${name}-keda-http`,
          {
            cluster,
            namespace: NAMESPACES.keda,
            highAvailability: ha,
            responseHeaderSeconds: gatewayDurationSeconds(DEFAULT_REQUEST_TIMEOUT),
            gateway: { namespace: NAMESPACES.gateway, podLabels: proxyPodLabels(GATEWAY_NAME) },
            routeNamespaces: [NAMESPACES.serving],
            tls: internalCa && {
              certSecret: INTERCEPTOR_TLS_SECRET,
              caSecret: INTERCEPTOR_TLS_SECRET,
              dependsOn: [
                tls.certificate(`${name}-interceptor-cert`, {
                  namespace: NAMESPACES.keda,
                  secretName: INTERCEPTOR_TLS_SECRET,
                  dnsNames: interceptorDnsNames(NAMESPACES.keda),
                  issuer: internalCa,
                }),
              ],
            },
            // Its CRDs come with the chart; the ReferenceGrant needs the Gateway API CRDs (gateway chart).
            opts: { dependsOn: [keda.release, gateway.release] },
          },
          parent,
        )
      : undefined;

    new ServingNetworkPolicy(
      `${name}-netpol`,
      {
        cluster,
        namespace: NAMESPACES.serving,
        runtimeLabels: RUNTIME_LABELS,
        runtimePort: RUNTIME_PORT,
        gateway: { namespace: NAMESPACES.gateway, podLabels: proxyPodLabels(GATEWAY_NAME) },
        prometheus: { namespace: NAMESPACES.monitoring, podLabels: PROMETHEUS_POD_LABELS },
        opts: { dependsOn: ns(NAMESPACES.serving) },
      },
      parent,
    );

    // One service account for every model's pods; on cloud clusters it carries the identity that reads the
    // model store (the record says under which name and with which annotations).
    const servingIdentity = cluster.identities?.serving;
    const runtimeAccount = new k8s.core.v1.ServiceAccount(
      `${name}-runtime-sa`,
      {
        metadata: {
          name: servingIdentity?.serviceAccount ?? RUNTIME_SERVICE_ACCOUNT,
          namespace: NAMESPACES.serving,
          annotations: servingIdentity?.serviceAccountAnnotations,
          labels: RUNTIME_LABELS,
        },
        automountServiceAccountToken: false,
      },
      { parent: this, provider: cluster.provider, dependsOn: [...cluster.ready, ...ns(NAMESPACES.serving)] },
    );

    for (const model of args.models)
      this.services.push(
        new LlmService(
          `${name}-${model.name}`,
          {
            cluster: { ...cluster, ready: [...cluster.ready, namespaces.byName[NAMESPACES.serving], namespaces.priorityClass] },
            namespace: NAMESPACES.serving,
            model,
            image: args.runtime.image,
            apiKeys: args.runtime.apiKeys,
            priorityClassName: INFERENCE_PRIORITY_CLASS,
            serviceAccount: { name: runtimeAccount.metadata.name, podLabels: servingIdentity?.podLabels ?? {} },
            route: {
              listener: gateway.httpsListener,
              hostname: hostFor(model.name, args.domain),
              dependsOn: [gateway.release],
              ...failover?.byHost[model.name],
            },
            autoscaling: { prometheusUrl: observability.prometheusUrl, dependsOn: [keda.release] },
            tls: internalCa && {
              secretName: runtimeTlsSecret(model.name),
              caSecret: servingTrust!.caSecret,
              dependsOn: [
                servingTrust!.certificate,
                tls.certificate(`${name}-${model.name}-cert`, {
                  namespace: NAMESPACES.serving,
                  secretName: runtimeTlsSecret(model.name),
                  dnsNames: runtimeDnsNames(model.name, NAMESPACES.serving),
                  issuer: internalCa,
                }),
              ],
            },
            scaleFromZero: httpAddOn && { namespace: NAMESPACES.keda, dependsOn: [httpAddOn.release] },
          },
          parent,
        ),
      );
    this.registerOutputs({});
  }
}

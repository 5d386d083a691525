/**
 * Observability for one cluster: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics,
 * node-exporter) sized and persisted from settings, Grafana's admin credentials from a secret, Grafana behind
 * the gateway's HTTPS listener, a ServiceMonitor for the runtime that labels every series with its model,
 * the SLO alerts and recording rules, and the dashboards as sidecar ConfigMaps.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord } from "../clusters/record";
import { healthRoute, httpsRoute, type ListenerRef } from "../traffic/routes";
import { alertmanagerConfig, ALERT_RECEIVER_KEY, ALERT_RECEIVER_SECRET, type AlertingSettings } from "./alerting";
import { recordingRules, sloRules, type SloSettings } from "./alerts";
import { DASHBOARD_LABEL, loadDashboards } from "./dashboards";
import { memoryMi } from "../security/quantity";

export interface ObservabilitySettings {
  retention: string;
  storageSize: string;
  prometheusResources: { cpu: string; memory: string };
  slo: SloSettings;
  runbookBaseUrl: string;
  /** The on-call receiver; unset, alerts reach only Alertmanager's UI (and AlertmanagerConfig objects). */
  alerting?: AlertingSettings;
}

export interface ObservabilityArgs {
  cluster: ClusterRecord;
  namespace: string;
  domain: string;
  settings: ObservabilitySettings;
  /** Grafana admin password; must be a secret. */
  grafanaAdminPassword: pulumi.Input<string>;
  /** The alert receiver's routing key or URL (with `settings.alerting`); must be a secret. */
  alertCredential?: pulumi.Input<string>;
  highAvailability: boolean;
  /**
   * Namespace and pod labels of the runtime, for the ServiceMonitor; with `tls`, scraped over HTTPS and verified
   * against the `ca.crt` of `caSecret` (a Secret in the runtime's namespace) for `serverName`.
   */
  runtime: {
    namespace: string;
    serviceLabels: Record<string, string>;
    port: string;
    tls?: { caSecret: string; serverName: string };
  };
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

/** Fixed names, so other components can address the in-cluster services. */
export const KPS_RELEASE = "kube-prometheus-stack";
const FULLNAME = "kps";
export const GRAFANA_SERVICE = "grafana";
/** Grafana's unauthenticated health endpoint (200 while its database answers): Route 53 checks it per cluster. */
export const GRAFANA_HEALTH_PATH = "/api/health";
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
export const prometheusUrl = (namespace: string) => `http://${FULLNAME}-prometheus.${namespace}.svc:9090`;
/** Labels the Prometheus operator puts on Prometheus pods (network policy peers). */
export const PROMETHEUS_POD_LABELS = { "app.kubernetes.io/name": "prometheus" } as const;

/** Invalid combinations of inputs, each message naming them. */
export function validateObservability(a: Pick<ObservabilityArgs, "settings" | "alertCredential">): string[] {
  if (a.settings.alerting && a.alertCredential === undefined)
    return [`settings.alerting names a ${a.settings.alerting.receiver} receiver but alertCredential is not given`];
  if (!a.settings.alerting && a.alertCredential !== undefined)
    return ["alertCredential is given but settings.alerting names no receiver to use it"];
  return [];
}

/** Prometheus deletes old blocks before its volume fills: 85% of the volume, in the GB unit it expects. */
export function retentionSize(storage: string): string {
  return `${Math.floor((memoryMi(storage) / 1024) * 0.85)}GB`;
}

const pvc = (storageClass: pulumi.Input<string>, size: string) => ({
  volumeClaimTemplate: {
    spec: { storageClassName: storageClass, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
  },
});

export function kubePrometheusStackValues(a: {
  cluster: Pick<ClusterRecord, "name" | "storageClass">;
  settings: ObservabilitySettings;
  domain: string;
  highAvailability: boolean;
}): Record<string, unknown> {
  const { settings: s, highAvailability: ha } = a;
  const replicas = ha ? 2 : 1;
  const podAntiAffinity = ha ? "hard" : "";
  return {
    fullnameOverride: FULLNAME,
    crds: { enabled: true },
    prometheusOperator: { resources: containerResources("100m", "256Mi", "1", "512Mi") },
    prometheus: {
      prometheusSpec: {
        replicas,
        podAntiAffinity,
        retention: s.retention,
        retentionSize: retentionSize(s.storageSize),
        resources: containerResources(s.prometheusResources.cpu, s.prometheusResources.memory),
        storageSpec: pvc(a.cluster.storageClass, s.storageSize),
        externalLabels: { cluster: a.cluster.name },
        // Pick up every ServiceMonitor/PodMonitor/PrometheusRule, not only those labelled for this release.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
      },
    },
    alertmanager: {
      alertmanagerSpec: {
        replicas,
        podAntiAffinity,
        resources: containerResources("50m", "128Mi", "500m", "256Mi"),
        storage: pvc(a.cluster.storageClass, "10Gi"),
        // More receivers are the operating team's: AlertmanagerConfig objects carrying this label.
        alertmanagerConfigSelector: { matchLabels: { "llm-platform.io/alerting": "true" } },
        ...(s.alerting ? { secrets: [ALERT_RECEIVER_SECRET] } : {}),
      },
      ...(s.alerting ? { config: alertmanagerConfig(s.alerting) } : {}),
    },
    grafana: {
      fullnameOverride: GRAFANA_SERVICE,
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
      persistence: { enabled: true, type: "pvc", storageClassName: a.cluster.storageClass, size: "10Gi" },
      resources: containerResources("100m", "256Mi", "1", "512Mi"),
      service: { type: "ClusterIP" },
      ingress: { enabled: false },
      sidecar: {
        dashboards: { enabled: true, label: Object.keys(DASHBOARD_LABEL)[0], labelValue: Object.values(DASHBOARD_LABEL)[0] },
      },
      "grafana.ini": {
        server: { root_url: `https://grafana.${a.domain}` },
        security: { cookie_secure: true, disable_gravatar: true },
        users: { allow_sign_up: false },
        "auth.anonymous": { enabled: false },
        analytics: { reporting_enabled: false, check_for_updates: false },
      },
    },
    // Expose the model label of runtime pods and deployments, for joins with DCGM and replica series.
    "kube-state-metrics": {
      metricLabelsAllowlist: [
        "pods=[app.kubernetes.io/name,app.kubernetes.io/instance]",
        "deployments=[app.kubernetes.io/name,app.kubernetes.io/instance]",
      ],
      resources: containerResources("50m", "128Mi", "500m", "512Mi"),
    },
    "prometheus-node-exporter": { resources: containerResources("50m", "64Mi", "250m", "128Mi") },
  };
}

/** The ServiceMonitor endpoint fields that make Prometheus scrape over TLS and verify the certificate. */
export function runtimeScrapeTls(tls: ObservabilityArgs["runtime"]["tls"]): Record<string, unknown> {
  if (!tls) return { scheme: "http" };
  return { scheme: "https", tlsConfig: { ca: { secret: { name: tls.caSecret, key: "ca.crt" } }, serverName: tls.serverName } };
}

export class Observability extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly prometheusUrl: string;
  private readonly k8sProvider: k8s.Provider;
  private readonly namespace: string;
  private readonly domain: string;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:observability:Observability", name, {}, opts);
    const problems = validateObservability(args);
    if (problems.length > 0) throw new Error(`Observability '${name}': ${problems.join("; ")}`);
    const child = { parent: this, provider: args.cluster.provider };
    const deps = [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])];
    const ns = args.namespace;
    this.k8sProvider = args.cluster.provider;
    this.namespace = ns;
    this.domain = args.domain;

    const admin = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_ADMIN_SECRET, namespace: ns },
        type: "Opaque",
        stringData: pulumi.secret(
          pulumi.output(args.grafanaAdminPassword).apply((p) => ({ "admin-user": "admin", "admin-password": p })),
        ),
      },
      { ...child, dependsOn: deps },
    );

    this.release = chartRelease(
      `${name}-kube-prometheus-stack`,
      {
        pin: CHARTS.kubePrometheusStack,
        releaseName: KPS_RELEASE,
        namespace: ns,
        values: kubePrometheusStackValues({
          cluster: args.cluster,
          settings: args.settings,
          domain: args.domain,
          highAvailability: args.highAvailability,
        }),
      },
      { ...child, dependsOn: [...deps, admin, ...this.alertReceiverSecret(name, args, { ...child, dependsOn: deps })] },
    );
    const afterChart = { ...child, dependsOn: [this.release] };
    this.prometheusUrl = prometheusUrl(ns);

    new k8s.apiextensions.CustomResource(
      `${name}-runtime-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "llm-runtime", namespace: args.runtime.namespace },
        spec: {
          selector: { matchLabels: args.runtime.serviceLabels },
          namespaceSelector: { matchNames: [args.runtime.namespace] },
          endpoints: [
            {
              port: args.runtime.port,
              path: "/metrics",
              interval: "15s",
              ...runtimeScrapeTls(args.runtime.tls),
              // Dashboards and alerts group by `model`, set here from the pod's instance label so they do not
              // depend on what the runtime labels its own series with.
              relabelings: [
                {
                  sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
                  targetLabel: "model",
                  action: "replace",
                },
              ],
            },
          ],
        },
      },
      afterChart,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-slo-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "llm-slo", namespace: ns },
        spec: {
          groups: [
            { name: "llm-model-labels", interval: "30s", rules: recordingRules() },
            { name: "llm-slo", rules: sloRules(args.settings.slo, args.settings.runbookBaseUrl) },
          ],
        },
      },
      afterChart,
    );

    for (const d of loadDashboards())
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard-${d.name}`,
        {
          metadata: { name: `dashboard-${d.name}`, namespace: ns, labels: { ...DASHBOARD_LABEL } },
          data: { [`${d.name}.json`]: d.json },
        },
        { ...child, dependsOn: deps },
      );

    this.registerOutputs({});
  }

  private alertReceiverSecret(name: string, args: ObservabilityArgs, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    if (args.alertCredential === undefined) return [];
    const credential = pulumi.secret(pulumi.output(args.alertCredential).apply((c) => ({ [ALERT_RECEIVER_KEY]: c.trim() })));
    return [
      new k8s.core.v1.Secret(
        `${name}-alert-receiver`,
        { metadata: { name: ALERT_RECEIVER_SECRET, namespace: args.namespace }, type: "Opaque", stringData: credential },
        opts,
      ),
    ];
  }

  /**
   * Publishes Grafana at `https://grafana.<domain>` on the gateway's HTTPS listener. Separate from the
   * constructor because the route needs the Gateway API CRDs, which the gateway installs after this stack.
   */
  publishGrafana(
    name: string,
    listener: ListenerRef,
    dependsOn: pulumi.Input<pulumi.Resource>[],
    failover?: { annotations: Record<string, pulumi.Input<string>>; healthHostname: string },
  ): k8s.apiextensions.CustomResource {
    const opts = { parent: this, provider: this.k8sProvider, dependsOn: [this.release, ...dependsOn] };
    const backend = { service: GRAFANA_SERVICE, port: 80 };
    if (failover)
      healthRoute(
        `${name}-health`,
        {
          routeName: `${GRAFANA_SERVICE}-health`,
          namespace: this.namespace,
          hostname: failover.healthHostname,
          listener,
          backend,
          path: GRAFANA_HEALTH_PATH,
        },
        opts,
      );
    return httpsRoute(
      name,
      {
        routeName: GRAFANA_SERVICE,
        namespace: this.namespace,
        hostname: `grafana.${this.domain}`,
        listener,
        backend,
        requestTimeout: "60s",
        // Grafana's UI and API live at "/", not under the model API's prefix.
        pathPrefixes: ["/"],
        annotations: failover?.annotations,
      },
      opts,
    );
  }
}

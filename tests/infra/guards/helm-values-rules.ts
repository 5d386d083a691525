/**
 * Which fixture checks which chart, and the subtrees each chart passes through without a fixed shape. Every
 * allowance says why; the guard fails on an allowance no release uses any more.
 */
import { CHARTS } from "../../../components/charts";
import { CHARTS as AWS_CHARTS } from "../../../components/clusters/aws/addons";
import type { ChartRule, FreeForm } from "./helm-values";

// A Kubernetes ResourceRequirements copied verbatim into a container spec (quantities may be numbers or strings).
const resources = (at: string): FreeForm => ({ path: at, why: "container ResourceRequirements, copied verbatim" });
// A node label map copied into the pod spec; label keys are ours.
const nodeSelector: FreeForm = { path: "nodeSelector", why: "pod nodeSelector label map, copied verbatim" };

export const CHART_RULES: Record<string, ChartRule> = {
  // values.schema.json decides (additionalProperties: false throughout), so no allowance is needed.
  "cert-manager": { fixture: "cert-manager", freeForm: [] },
  "gateway-helm": { fixture: "gateway-helm", freeForm: [resources("deployment.envoyGateway.resources")] },
  "kube-prometheus-stack": {
    fixture: "kube-prometheus-stack",
    freeForm: [
      { path: "alertmanager.alertmanagerSpec.alertmanagerConfigSelector", why: "LabelSelector copied into the Alertmanager CR" },
      resources("alertmanager.alertmanagerSpec.resources"),
      { path: "alertmanager.alertmanagerSpec.storage", why: "prometheus-operator StorageSpec copied into the Alertmanager CR" },
      { path: "prometheus.prometheusSpec.externalLabels", why: "label map copied into the Prometheus CR" },
      resources("prometheus.prometheusSpec.resources"),
      { path: "prometheus.prometheusSpec.storageSpec", why: "prometheus-operator StorageSpec copied into the Prometheus CR" },
      resources("prometheusOperator.resources"),
    ],
    subcharts: {
      grafana: {
        fixture: "grafana",
        freeForm: [{ path: '"grafana.ini"', why: "INI sections rendered verbatim into grafana.ini" }, resources("resources")],
      },
      "kube-state-metrics": { fixture: "kube-state-metrics", freeForm: [resources("resources")] },
      "prometheus-node-exporter": { fixture: "prometheus-node-exporter", freeForm: [resources("resources")] },
    },
  },
  keda: { fixture: "keda", freeForm: [resources("resources.*")] },
  "keda-add-ons-http": {
    fixture: "keda-add-ons-http",
    freeForm: [
      resources("operator.resources"),
      resources("scaler.resources"),
      resources("interceptor.resources"),
      // The chart documents the restricted fields only as comments; the maps are copied into the pod specs.
      {
        path: "podSecurityContext",
        why: "PodSecurityContext copied verbatim into every pod (templates read podSecurityContext)",
      },
      { path: "securityContext", why: "SecurityContext copied verbatim into every container (templates read securityContext)" },
      {
        path: "interceptor.extraEnvs",
        why: "name -> value map, each rendered as one env entry of the interceptor (templates/interceptor/deployment.yaml)",
      },
    ],
  },
  "gpu-operator": {
    fixture: "gpu-operator",
    freeForm: [],
    subcharts: { "node-feature-discovery": { fixture: "node-feature-discovery", freeForm: [] } },
  },
  // values.schema.json decides here too (it types resources, env and extraArgs).
  "external-dns": { fixture: "external-dns", freeForm: [] },
  "aws-load-balancer-controller": { fixture: "aws-load-balancer-controller", freeForm: [nodeSelector, resources("resources")] },
  "cluster-autoscaler": {
    fixture: "cluster-autoscaler",
    freeForm: [
      { path: "extraArgs", why: "autoscaler command-line flags, each rendered as --key=value" },
      nodeSelector,
      resources("resources"),
    ],
  },
};

/** The pins the components install, by chart name as the fixture spells it. */
export const PINS: Record<string, string> = {
  "cert-manager": CHARTS.certManager.version,
  "gateway-helm": CHARTS.envoyGateway.version,
  "kube-prometheus-stack": CHARTS.kubePrometheusStack.version,
  keda: CHARTS.keda.version,
  "keda-add-ons-http": CHARTS.kedaHttpAddOn.version,
  "gpu-operator": CHARTS.gpuOperator.version,
  "external-dns": CHARTS.externalDns.version,
  "aws-load-balancer-controller": AWS_CHARTS.loadBalancerController.version,
  "cluster-autoscaler": AWS_CHARTS.clusterAutoscaler.version,
};

/** A release's chart as the fixture names it (OCI references end in the chart name). */
export const chartName = (chart: string) => chart.split("/").pop() ?? chart;

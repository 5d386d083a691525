/**
 * SLO alerts on the runtime's metrics, per model. The `model` label comes from the ServiceMonitor (pod label
 * `app.kubernetes.io/instance`), never from the runtime itself; kube-state-metrics exposes the same pod and
 * deployment label, which the recording rules below turn into `model` for joins with GPU and replica series.
 */
import { BURN_ALERTS, burnRateAlerts, sloRecordingRules, validateSloTargets } from "./slo";

/** The runtime's metric names: a contract with the runtime (see its RuntimeMetrics). */
export const RUNTIME_METRICS = [
  "llm_requests_waiting",
  "llm_requests_running",
  "llm_time_to_first_token_seconds",
  "llm_inter_token_latency_seconds",
  "llm_request_duration_seconds",
  "llm_prompt_tokens_total",
  "llm_generation_tokens_total",
  "llm_requests_total",
] as const;

/** Outcomes of `llm_requests_total` that spend the error budget: server failures and queue-full rejections. */
export const FAILED_OUTCOMES = ["error", "rejected"] as const;

export interface SloSettings {
  ttftP95Seconds: number;
  errorRatio: number;
}

export interface AlertRule {
  alert: string;
  expr: string;
  /** Unset fires at the first evaluation that matches (burn-rate alerts: their short window is the delay). */
  for?: string;
  labels: { severity: "critical" | "warning" } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

/** Share of GPU memory in use above which a replica is about to fail allocations. */
export const GPU_MEMORY_FULL_RATIO = 0.95;

const POD_MODEL = "llm:pod_model:info";
const DEPLOYMENT_MODEL = "llm:deployment_model:info";
const byModel = "namespace, model";
/** KEDA names the HPA of ScaledObject `<model>` `keda-hpa-<model>`. */
const hpa = (metric: string) =>
  `label_replace(${metric}{horizontalpodautoscaler=~"keda-hpa-.+"}, "model", "$1", "horizontalpodautoscaler", "keda-hpa-(.+)")`;

export function recordingRules(): RecordingRule[] {
  const info = (metric: string, by: string) =>
    `max by (namespace, ${by}, model) (label_replace(${metric}{label_app_kubernetes_io_name="llm-runtime"}, "model", "$1", "label_app_kubernetes_io_instance", "(.+)"))`;
  return [
    { record: POD_MODEL, expr: info("kube_pod_labels", "pod") },
    { record: DEPLOYMENT_MODEL, expr: info("kube_deployment_labels", "deployment") },
  ];
}

export const ALERT_NAMES = [
  BURN_ALERTS.availability,
  BURN_ALERTS.ttft,
  "LlmQueueGrowingAtMaxReplicas",
  "LlmNoReadyReplicas",
  "LlmGpuMemoryNearFull",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export function runbookUrl(base: string, alert: AlertName): string {
  return `${base.replace(/\/+$/, "")}/${alert}.md`;
}

export function validateSlo(slo: SloSettings): string[] {
  const out: string[] = [];
  if (!(slo.ttftP95Seconds > 0)) out.push(`slo.ttftP95Seconds must be > 0, got ${slo.ttftP95Seconds}`);
  if (!(slo.errorRatio > 0 && slo.errorRatio < 1)) out.push(`slo.errorRatio must be between 0 and 1, got ${slo.errorRatio}`);
  return [...out, ...validateSloTargets(slo)];
}

/** The SLOs' error ratios per window (recording rules the burn-rate alerts read), before the alerts in one group. */
export function sloRules(slo: SloSettings, runbookBase: string): (RecordingRule | AlertRule)[] {
  return [...sloRecordingRules(slo, FAILED_OUTCOMES), ...alertRules(slo, runbookBase)];
}

export function alertRules(slo: SloSettings, runbookBase: string): AlertRule[] {
  const problems = validateSlo(slo);
  if (problems.length > 0) throw new Error(`alert rules: ${problems.join("; ")}`);
  const rule = (
    alert: AlertName,
    expr: string,
    forDuration: string,
    severity: "critical" | "warning",
    summary: string,
    description: string,
  ): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook_url: runbookUrl(runbookBase, alert) },
  });
  return [
    ...burnRateAlerts(slo, (alert) => runbookUrl(runbookBase, alert as AlertName)),
    rule(
      "LlmQueueGrowingAtMaxReplicas",
      `(deriv((sum by (${byModel}) (llm_requests_waiting))[10m:1m]) > 0 and sum by (${byModel}) (llm_requests_waiting) > 0) ` +
        `and on (${byModel}) (${hpa("kube_horizontalpodautoscaler_status_current_replicas")} >= on (${byModel}) ${hpa("kube_horizontalpodautoscaler_spec_max_replicas")})`,
      "10m",
      "critical",
      "Queue of {{ $labels.model }} keeps growing while it runs at its maximum replicas",
      "Requests are waiting longer and longer for {{ $labels.model }} and the autoscaler cannot add replicas: raise replicas.max or add GPU capacity.",
    ),
    rule(
      "LlmNoReadyReplicas",
      `(sum by (${byModel}) (kube_deployment_status_replicas_available * on (namespace, deployment) group_left (model) ${DEPLOYMENT_MODEL}) == 0) ` +
        `and on (${byModel}) (sum by (${byModel}) (kube_deployment_spec_replicas * on (namespace, deployment) group_left (model) ${DEPLOYMENT_MODEL}) > 0)`,
      "5m",
      "critical",
      "{{ $labels.model }} has no ready replica",
      "The deployment of {{ $labels.model }} wants replicas but none is ready: every request to it fails.",
    ),
    rule(
      "LlmGpuMemoryNearFull",
      `max by (${byModel}, pod, gpu) ((DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)) * on (namespace, pod) group_left (model) ${POD_MODEL}) > ${GPU_MEMORY_FULL_RATIO}`,
      "15m",
      "warning",
      "GPU memory of a {{ $labels.model }} replica is nearly full",
      `GPU {{ $labels.gpu }} of pod {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory (threshold ${GPU_MEMORY_FULL_RATIO * 100}%).`,
    ),
  ];
}

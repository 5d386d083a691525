import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import {
  ALERT_NAMES,
  alertRules,
  RUNTIME_METRICS,
  recordingRules,
  validateSlo,
} from "../../../../components/observability/alerts";
import { CHARTS } from "../../../../components/charts";
import { loadDashboards } from "../../../../components/observability/dashboards";
import { retentionSize, runtimeScrapeTls } from "../../../../components/observability/observability";
import { find, get, isSecret, REPO_ROOT } from "../../helpers";
import { observe as observeWith, settings } from "./fixtures";

const observe = (ha = true) => observeWith({ ha });
const release = async (ha = true) => find(await observe(ha), "kubernetes:helm.sh/v3:Release", "o-kube-prometheus-stack");

test("installs the pinned kube-prometheus-stack with retention, resources and persistent storage from settings", async () => {
  const r = await release();
  assert.equal(r.inputs.chart, "kube-prometheus-stack");
  assert.equal(r.inputs.version, CHARTS.kubePrometheusStack.version);
  const spec = get(r.inputs, "values", "prometheus", "prometheusSpec");
  assert.equal(get(spec, "retention"), "30d");
  assert.equal(get(spec, "retentionSize"), "170GB");
  assert.deepEqual(get(spec, "resources"), { requests: { cpu: "2", memory: "8Gi" }, limits: { cpu: "2", memory: "8Gi" } });
  assert.equal(get(spec, "storageSpec", "volumeClaimTemplate", "spec", "resources", "requests", "storage"), "200Gi");
  assert.equal(get(spec, "storageSpec", "volumeClaimTemplate", "spec", "storageClassName"), "fast-ssd");
  assert.equal(get(spec, "replicas"), 2);
  assert.equal(get(spec, "ruleSelectorNilUsesHelmValues"), false);
  assert.equal(get(spec, "serviceMonitorSelectorNilUsesHelmValues"), false);
  assert.equal(get(r.inputs, "values", "alertmanager", "alertmanagerSpec", "replicas"), 2);
  assert.equal(get((await release(false)).inputs, "values", "prometheus", "prometheusSpec", "replicas"), 1);
});

test("retention size leaves headroom on the volume", () => {
  assert.equal(retentionSize("50Gi"), "42GB");
  assert.equal(retentionSize("5Gi"), "4GB");
});

test("Grafana's admin password comes from a Secret holding the config secret, never a chart default", async () => {
  const resources = await observe();
  const values = get(find(resources, "kubernetes:helm.sh/v3:Release", "o-kube-prometheus-stack").inputs, "values", "grafana");
  assert.deepEqual(get(values, "admin"), {
    existingSecret: "grafana-admin",
    userKey: "admin-user",
    passwordKey: "admin-password",
  });
  assert.equal(get(values, "adminPassword"), undefined);
  const secret = find(resources, "kubernetes:core/v1:Secret", "o-grafana-admin");
  assert.equal(get(secret.inputs, "metadata", "name"), "grafana-admin");
  assert.ok(isSecret(secret.inputs.stringData), "stringData must be a Pulumi secret");
  assert.equal(get(secret.inputs.stringData, "admin-password"), "s3cret-from-config");
});

test("Grafana is published at https://grafana.<domain> through the gateway's HTTPS listener", async () => {
  const route = find(await observe(), "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "o-grafana-route");
  assert.deepEqual(get(route.inputs, "spec", "hostnames"), ["grafana.llm.example.com"]);
  assert.equal(get((get(route.inputs, "spec", "parentRefs") as unknown[])[0], "sectionName"), "https");
  assert.equal(
    get((await release()).inputs, "values", "grafana", "grafana.ini", "server", "root_url"),
    "https://grafana.llm.example.com",
  );
  assert.equal(get((await release()).inputs, "values", "grafana", "service", "type"), "ClusterIP");
  // The whole UI, not only the model API's /v1 prefix.
  assert.deepEqual(get((get(route.inputs, "spec", "rules") as unknown[])[0], "matches"), [
    { path: { type: "PathPrefix", value: "/" } },
  ]);
});

test("the runtime ServiceMonitor sets `model` from the pod's instance label", async () => {
  const sm = find(await observe(), "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "o-runtime-monitor");
  assert.equal(get(sm.inputs, "metadata", "namespace"), "llm-serving");
  const ep = (get(sm.inputs, "spec", "endpoints") as unknown[])[0];
  assert.equal(get(ep, "path"), "/metrics");
  assert.equal(get(ep, "port"), "http");
  assert.deepEqual(get(ep, "relabelings"), [
    { sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"], targetLabel: "model", action: "replace" },
  ]);
});

test("runtimeScrapeTls: HTTPS verified against the CA Secret's ca.crt for one server name, or plain HTTP", () => {
  assert.deepEqual(runtimeScrapeTls({ caSecret: "llm-internal-ca", serverName: "llm-runtime.llm-serving.svc" }), {
    scheme: "https",
    tlsConfig: { ca: { secret: { name: "llm-internal-ca", key: "ca.crt" } }, serverName: "llm-runtime.llm-serving.svc" },
  });
  assert.deepEqual(runtimeScrapeTls(undefined), { scheme: "http" });
});

test("kube-state-metrics exposes the runtime's instance label, which the recording rules turn into `model`", async () => {
  const allow = get((await release()).inputs, "values", "kube-state-metrics", "metricLabelsAllowlist") as string[];
  assert.ok(allow.some((a) => a.startsWith("pods=") && a.includes("app.kubernetes.io/instance")));
  assert.ok(allow.some((a) => a.startsWith("deployments=") && a.includes("app.kubernetes.io/instance")));
  for (const r of recordingRules()) assert.match(r.expr, /label_app_kubernetes_io_instance/);
});

test("PrometheusRule holds every SLO alert with a runbook URL from the configured base", async () => {
  const rule = find(await observe(), "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "o-slo-rules");
  const groups = get(rule.inputs, "spec", "groups") as { rules: { alert?: string; annotations?: { runbook_url: string } }[] }[];
  const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
  assert.deepEqual([...new Set(alerts.map((a) => a.alert))].sort(), [...ALERT_NAMES].sort());
  for (const a of alerts) assert.equal(a.annotations?.runbook_url, `https://git.example.com/llm/docs/runbooks/${a.alert}.md`);
});

test("alert expressions use the runtime's metric names and the SLO targets from settings", () => {
  // The first rule of each name (the burn-rate alerts have one per window pair, the 1h/5m pair first).
  const rules = Object.fromEntries(
    alertRules(settings.slo, "https://x")
      .reverse()
      .map((r) => [r.alert, r]),
  );
  assert.match(rules.LlmAvailabilityBudgetBurn.expr, /^llm:slo_availability:error_ratio_rate1h > \(14\.4 \* 0\.005\)/);
  assert.match(rules.LlmTimeToFirstTokenBudgetBurn.expr, /^llm:slo_ttft:error_ratio_rate1h > \(14\.4 \* 0\.05\)/);
  assert.match(
    rules.LlmQueueGrowingAtMaxReplicas.expr,
    /deriv\(\(sum by \(namespace, model\) \(llm_requests_waiting\)\)\[10m:1m\]\) > 0/,
  );
  assert.match(rules.LlmQueueGrowingAtMaxReplicas.expr, /kube_horizontalpodautoscaler_spec_max_replicas/);
  assert.match(rules.LlmNoReadyReplicas.expr, /kube_deployment_status_replicas_available/);
  assert.match(rules.LlmGpuMemoryNearFull.expr, /DCGM_FI_DEV_FB_USED/);
  // Burn-rate alerts read recording rules that group by model (tests/infra/components/observability/slo.test.ts).
  for (const r of Object.values(rules))
    if (!r.expr.startsWith("llm:slo_")) assert.match(r.expr, /model/, `${r.alert} must group by model`);
});

test("rejects SLO targets that cannot be met or measured", () => {
  assert.match(validateSlo({ ttftP95Seconds: 0, errorRatio: 0.01 }).join(), /slo.ttftP95Seconds must be > 0/);
  assert.match(validateSlo({ ttftP95Seconds: 1, errorRatio: 1 }).join(), /slo.errorRatio must be between 0 and 1/);
});

test("every alert has a runbook in docs/runbooks that explains, confirms and mitigates", () => {
  for (const alert of ALERT_NAMES) {
    const file = path.join(REPO_ROOT, "docs", "runbooks", `${alert}.md`);
    assert.ok(existsSync(file), `missing ${file}`);
    const text = readFileSync(file, "utf8");
    assert.match(text, new RegExp(`^# ${alert}$`, "m"));
    for (const section of ["## What it means", "## Confirm", "## Mitigate"])
      assert.ok(text.includes(section), `${alert}: ${section}`);
  }
});

test("dashboard JSON parses and charts every runtime metric plus GPU utilisation and memory", () => {
  const dashboards = loadDashboards();
  assert.ok(dashboards.length >= 1);
  const dash = JSON.parse(dashboards.find((d) => d.name === "llm-serving")!.json) as {
    uid: string;
    panels: { targets: { expr: string }[] }[];
  };
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
  for (const metric of RUNTIME_METRICS) assert.ok(exprs.includes(metric), `dashboard does not chart ${metric}`);
  for (const q of [
    "histogram_quantile(0.5,",
    "histogram_quantile(0.95,",
    "histogram_quantile(0.99,",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
  ])
    assert.ok(exprs.includes(q), `dashboard lacks ${q}`);
  assert.ok(exprs.includes("sum by (model, outcome) (rate(llm_requests_total"), "requests/s by outcome");
  assert.ok(exprs.includes("keda-hpa-"), "replicas vs. the scaler's bounds");
});

test("dashboards ship as ConfigMaps the Grafana sidecar picks up", async () => {
  const cm = find(await observe(), "kubernetes:core/v1:ConfigMap", "o-dashboard-llm-serving");
  assert.equal(get(cm.inputs, "metadata", "labels", "grafana_dashboard"), "1");
  JSON.parse(String(get(cm.inputs, "data", "llm-serving.json")));
  assert.equal(get((await release()).inputs, "values", "grafana", "sidecar", "dashboards", "label"), "grafana_dashboard");
});

/** The Observability component under mocks, as both observability test files build it. */
import type { AlertingSettings } from "../../../../components/observability/alerting";
import { Observability, type ObservabilitySettings } from "../../../../components/observability/observability";
import { capture, gpuCluster } from "../../helpers";

export const settings: ObservabilitySettings = {
  retention: "30d",
  storageSize: "200Gi",
  prometheusResources: { cpu: "2", memory: "8Gi" },
  slo: { ttftP95Seconds: 1.5, errorRatio: 0.005 },
  runbookBaseUrl: "https://git.example.com/llm/docs/runbooks/",
};

/** Planned resources of one Observability named `o` (plus its Grafana route). */
export async function observe(a: { ha?: boolean; alerting?: AlertingSettings; alertCredential?: string } = {}) {
  return (
    await capture(() => {
      new Observability("o", {
        cluster: gpuCluster(),
        namespace: "monitoring",
        domain: "llm.example.com",
        settings: { ...settings, alerting: a.alerting },
        grafanaAdminPassword: "s3cret-from-config",
        alertCredential: a.alertCredential,
        highAvailability: a.ha ?? true,
        runtime: { namespace: "llm-serving", serviceLabels: { "app.kubernetes.io/name": "llm-runtime" }, port: "http" },
      }).publishGrafana(
        "o-grafana-route",
        { gatewayName: "llm", gatewayNamespace: "envoy-gateway-system", sectionName: "https" },
        [],
      );
    })
  ).resources;
}

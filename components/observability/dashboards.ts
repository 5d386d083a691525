/** Grafana dashboards kept as reviewed JSON files next to this module, shipped as sidecar ConfigMaps. */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const DASHBOARD_DIR = path.join(__dirname, "dashboards");
/** The label the Grafana dashboard sidecar watches (kube-prometheus-stack's default). */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

export interface Dashboard {
  /** File name without `.json`; becomes the ConfigMap name. */
  name: string;
  json: string;
}

export function loadDashboards(dir = DASHBOARD_DIR): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const json = readFileSync(path.join(dir, f), "utf8");
      // Fail at plan time, not as an empty Grafana panel.
      JSON.parse(json);
      return { name: f.replace(/\.json$/, ""), json };
    });
}

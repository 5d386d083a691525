/**
 * Where alerts go: Alertmanager's root route and one on-call receiver (PagerDuty, Slack or a generic webhook),
 * set through kube-prometheus-stack's `alertmanager.config`. The receiver's credential (routing key or URL)
 * never enters the chart values: it sits in a Secret that Alertmanager mounts, and the config names the file.
 */

export const ALERT_RECEIVERS = ["pagerduty", "slack", "webhook"] as const;
export type AlertReceiverKind = (typeof ALERT_RECEIVERS)[number];

export interface AlertingSettings {
  receiver: AlertReceiverKind;
  /** Slack channel; unset, an incoming webhook posts to the channel it was created for. */
  slackChannel?: string;
}

/** The Secret holding the credential; the Alertmanager spec mounts it under /etc/alertmanager/secrets/. */
export const ALERT_RECEIVER_SECRET = "alert-receiver";
export const ALERT_RECEIVER_KEY = "credential";
export const ALERT_CREDENTIAL_FILE = `/etc/alertmanager/secrets/${ALERT_RECEIVER_SECRET}/${ALERT_RECEIVER_KEY}`;

/** The receiver that drops what it gets: the chart's always-firing Watchdog and its inhibition helper. */
const NULL_RECEIVER = "null";
const ONCALL_RECEIVER = "oncall";

function receiverConfig(a: AlertingSettings): Record<string, unknown> {
  switch (a.receiver) {
    case "pagerduty":
      // PagerDuty accepts critical, error, warning and info; the stack's alerts carry critical or warning.
      return {
        pagerduty_configs: [
          {
            routing_key_file: ALERT_CREDENTIAL_FILE,
            send_resolved: true,
            severity: "{{ if .CommonLabels.severity }}{{ .CommonLabels.severity }}{{ else }}error{{ end }}",
          },
        ],
      };
    case "slack":
      return {
        slack_configs: [
          {
            api_url_file: ALERT_CREDENTIAL_FILE,
            send_resolved: true,
            ...(a.slackChannel ? { channel: a.slackChannel } : {}),
            // The runbook link is what the person paged needs first.
            title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.cluster }})",
            text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook_url }}\n{{ end }}",
          },
        ],
      };
    case "webhook":
      return { webhook_configs: [{ url_file: ALERT_CREDENTIAL_FILE, send_resolved: true }] };
  }
}

/**
 * `alertmanager.config` values. Helm merges them into the chart's default config, so its inhibition rules
 * and templates stay; the route and the receivers (lists, which Helm replaces) are ours.
 */
export function alertmanagerConfig(a: AlertingSettings): Record<string, unknown> {
  return {
    route: {
      receiver: ONCALL_RECEIVER,
      group_by: ["alertname", "cluster", "namespace", "model"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [{ receiver: NULL_RECEIVER, matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] }],
    },
    receivers: [{ name: NULL_RECEIVER }, { name: ONCALL_RECEIVER, ...receiverConfig(a) }],
  };
}

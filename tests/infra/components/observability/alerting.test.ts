import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ALERT_CREDENTIAL_FILE,
  ALERT_RECEIVERS,
  alertmanagerConfig,
  type AlertingSettings,
} from "../../../../components/observability/alerting";
import { validateObservability } from "../../../../components/observability/observability";
import { find, get, isSecret, ofType, reveal } from "../../helpers";
import { observe as observeWith, settings } from "./fixtures";

const observe = (alerting?: AlertingSettings, alertCredential?: string) => observeWith({ alerting, alertCredential });

const alertmanagerValues = (resources: Awaited<ReturnType<typeof observe>>) =>
  get(find(resources, "kubernetes:helm.sh/v3:Release", "o-kube-prometheus-stack").inputs, "values", "alertmanager");

test("every receiver reads its credential from the mounted Secret's file, never from the chart values", () => {
  const keyOf = { pagerduty: "routing_key_file", slack: "api_url_file", webhook: "url_file" } as const;
  for (const receiver of ALERT_RECEIVERS) {
    const config = alertmanagerConfig({ receiver });
    const oncall = (get(config, "receivers") as Record<string, unknown>[]).find((r) => r.name === "oncall");
    const configs = get(oncall, `${receiver}_configs`) as Record<string, unknown>[];
    assert.equal(configs.length, 1, receiver);
    assert.equal(configs[0][keyOf[receiver]], ALERT_CREDENTIAL_FILE, receiver);
    assert.equal(configs[0].send_resolved, true, receiver);
    assert.ok(!JSON.stringify(config).includes("hooks.slack.com"), receiver);
  }
});

test("everything pages the on-call receiver except the always-firing Watchdog, grouped per alert, cluster and model", () => {
  const route = get(alertmanagerConfig({ receiver: "pagerduty" }), "route");
  assert.equal(get(route, "receiver"), "oncall");
  assert.deepEqual(get(route, "group_by"), ["alertname", "cluster", "namespace", "model"]);
  assert.deepEqual(get(route, "routes"), [{ receiver: "null", matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] }]);
  const slack = alertmanagerConfig({ receiver: "slack", slackChannel: "#llm-oncall" });
  assert.equal(get((get(slack, "receivers") as unknown[])[1], "slack_configs", "0", "channel"), "#llm-oncall");
});

test("with a receiver: the credential is a Pulumi secret in a Secret that Alertmanager mounts, and the config routes to it", async () => {
  const resources = await observe({ receiver: "pagerduty" }, "pd-routing-key\n");
  const secret = find(resources, "kubernetes:core/v1:Secret", "o-alert-receiver");
  assert.equal(get(secret.inputs, "metadata", "name"), "alert-receiver");
  assert.ok(isSecret(secret.inputs.stringData), "stringData must be a Pulumi secret");
  assert.deepEqual(reveal(secret.inputs.stringData), { credential: "pd-routing-key" });
  const values = alertmanagerValues(resources);
  assert.deepEqual(get(values, "alertmanagerSpec", "secrets"), ["alert-receiver"]);
  assert.equal(get(values, "config", "route", "receiver"), "oncall");
  assert.ok(!JSON.stringify(values).includes("pd-routing-key"));
});

test("without a receiver: no Secret and the chart's own config (alerts stay in Alertmanager)", async () => {
  const resources = await observe();
  assert.equal(ofType(resources, "kubernetes:core/v1:Secret").filter((r) => r.name === "o-alert-receiver").length, 0);
  const values = alertmanagerValues(resources);
  assert.equal(get(values, "config"), undefined);
  assert.equal(get(values, "alertmanagerSpec", "secrets"), undefined);
});

test("a receiver needs its credential, and a credential needs a receiver, naming the inputs", () => {
  assert.match(
    validateObservability({ settings: { ...settings, alerting: { receiver: "slack" } } }).join(),
    /settings.alerting names a slack receiver but alertCredential is not given/,
  );
  assert.match(
    validateObservability({ settings, alertCredential: "x" }).join(),
    /alertCredential is given but settings.alerting/,
  );
  assert.deepEqual(
    validateObservability({ settings: { ...settings, alerting: { receiver: "webhook" } }, alertCredential: "x" }),
    [],
  );
});

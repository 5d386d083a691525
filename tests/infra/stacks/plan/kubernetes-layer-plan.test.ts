import assert from "node:assert/strict";
import { test } from "node:test";
import { CHARTS } from "../../../../components/charts";
import { get, planJson as runPlanJson, REPO_ROOT } from "../../helpers";

type Doc = Awaited<ReturnType<typeof runPlanJson>>;
// One plan process per stack for the whole file.
const plans = new Map<string, Promise<Doc>>();
const planJson = (stack: string) => plans.get(stack) ?? plans.set(stack, runPlanJson(stack)).get(stack)!;
const of = (doc: Doc, type: string) => doc.resources.filter((r) => r.type === type);
const one = (doc: Doc, type: string, name: string) => {
  const r = doc.resources.find((x) => x.type === type && x.name === name);
  assert.ok(r, `no ${type} ${name}`);
  return r;
};
const charts = (doc: Doc) =>
  Object.fromEntries(
    of(doc, "kubernetes:helm.sh/v3:Release").map((r) => [String(get(r.inputs, "chart")), String(get(r.inputs, "version"))]),
  );

for (const stack of ["local", "onprem"] as const) {
  test(`plan ${stack}: every policy passes`, async () => {
    const doc = await planJson(stack);
    assert.deepEqual(
      doc.policies.filter((p) => !p.passed).map((p) => `${p.name}: ${p.message}`),
      [],
    );
    assert.ok(doc.policies.some((p) => p.name === "external-traffic-through-tls"));
    assert.ok(doc.policies.some((p) => p.name === "runtime-hops-tls"));
  });
}

test("plan onprem: the full layer with pinned charts, CA issuer, GPU operator, scaler bounds and network policy", async () => {
  const doc = await planJson("onprem");
  assert.deepEqual(charts(doc), {
    "cert-manager": CHARTS.certManager.version,
    "oci://docker.io/envoyproxy/gateway-helm": CHARTS.envoyGateway.version,
    "kube-prometheus-stack": CHARTS.kubePrometheusStack.version,
    keda: CHARTS.keda.version,
    "gpu-operator": CHARTS.gpuOperator.version,
  });
  assert.deepEqual(get(one(doc, "kubernetes:cert-manager.io/v1:ClusterIssuer", "dc1-tls-issuer").inputs, "spec"), {
    ca: { secretName: "corp-intermediate-ca" },
  });
  const cert = one(doc, "kubernetes:cert-manager.io/v1:Certificate", "dc1-gateway-cert");
  assert.deepEqual(get(cert.inputs, "spec", "dnsNames"), [
    "grafana.llm.corp.example.com",
    "llama-31-8b-instruct.llm.corp.example.com",
  ]);
  const proxy = one(doc, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "dc1-gateway-proxy-config");
  assert.deepEqual(get(proxy.inputs, "spec", "provider", "kubernetes", "envoyService", "annotations"), {
    "metallb.universe.tf/address-pool": "llm-vip",
  });
  const so = one(doc, "kubernetes:keda.sh/v1alpha1:ScaledObject", "dc1-llama-31-8b-instruct-scaler");
  assert.equal(get(so.inputs, "spec", "minReplicaCount"), 2);
  assert.equal(get(so.inputs, "spec", "maxReplicaCount"), 4);
  const pod = get(one(doc, "kubernetes:apps/v1:Deployment", "dc1-llama-31-8b-instruct").inputs, "spec", "template", "spec");
  assert.deepEqual(get(pod, "tolerations"), [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  assert.equal(get(pod, "nodeSelector", "node.example.com/pool"), "gpu-a100");
  assert.equal(of(doc, "kubernetes:networking.k8s.io/v1:NetworkPolicy").length, 4, "PVC model: no object-store egress");
  const prom = one(doc, "kubernetes:helm.sh/v3:Release", "dc1-observability-kube-prometheus-stack");
  assert.equal(get(prom.inputs, "values", "prometheus", "prometheusSpec", "retention"), "30d");
  assert.equal(
    get(prom.inputs, "values", "prometheus", "prometheusSpec", "storageSpec", "volumeClaimTemplate", "spec", "storageClassName"),
    "ceph-rbd",
  );
  const rules = JSON.stringify(
    get(one(doc, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "dc1-observability-slo-rules").inputs, "spec"),
  );
  // The TTFT SLO counts requests within the stack's 1.5 s: between the 1.024 s and 2.048 s buckets, in proportion.
  assert.ok(rules.includes("longer than 1.5s"), "TTFT target from the stack's slo settings");
  assert.ok(rules.includes("* 0.46484375)"), "(1.5 - 1.024) / (2.048 - 1.024) of the target's bucket counts");
});

test("plan local: CPU serving, self-signed TLS, no GPU operator, single replicas", async () => {
  const doc = await planJson("local");
  assert.ok(!("gpu-operator" in charts(doc)));
  assert.deepEqual(
    get(one(doc, "kubernetes:cert-manager.io/v1:ClusterIssuer", "laptop-tls-selfsigned-bootstrap").inputs, "spec"),
    {
      selfSigned: {},
    },
  );
  const pod = get(one(doc, "kubernetes:apps/v1:Deployment", "laptop-demo").inputs, "spec", "template", "spec");
  assert.equal(get(pod, "containers", "0", "resources", "limits", "nvidia.com/gpu"), undefined);
  assert.equal(get(pod, "tolerations"), undefined);
  const certManager = one(doc, "kubernetes:helm.sh/v3:Release", "laptop-tls-cert-manager");
  assert.equal(get(certManager.inputs, "values", "replicaCount"), 1);
  const secret = one(doc, "kubernetes:core/v1:Secret", "laptop-observability-grafana-admin");
  assert.equal(get(secret.inputs, "stringData"), "[secret]", "the plan masks the Grafana password");
});

test("plan --json survives a slow reader on a pipe (the document is larger than a pipe buffer)", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  // The reader takes the first byte, then reads nothing for a second: the pipe fills, and the CLI must wait
  // for it to drain before exiting, or the document is cut off.
  const cli = `"${process.execPath}" --import tsx stacks/plan/cli.ts onprem --json`;
  const reader = `{ IFS= read -r -n 1 first; sleep 1; printf '%s' "$first"; cat; }`;
  const { stdout } = await promisify(execFile)("bash", ["-c", `set -o pipefail; ${cli} | ${reader}`], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.ok(
    stdout.length > 64 * 1024,
    `${stdout.length} bytes: cut off at a pipe buffer, or the document is too small to test this`,
  );
  assert.equal((JSON.parse(stdout) as Doc).stack, "onprem");
});

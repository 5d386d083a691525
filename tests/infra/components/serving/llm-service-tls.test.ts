import assert from "node:assert/strict";
import { test } from "node:test";
import {
  LlmService,
  listenArgs,
  runtimeDnsNames,
  runtimeScrapeServerName,
  TLS_DIR,
} from "../../../../components/serving/llm-service";
import type { ModelSource } from "../../../../components/serving/model-source";
import { runtimeContainerTlsProblems } from "../../../../stacks/policy/rules-tls";
import { capture, find, get, gpuCluster, ofType } from "../../helpers";

const model = {
  name: "m1",
  source: { kind: "s3", uri: "s3://bucket/m1/" } as ModelSource,
  gpus: 1,
  resources: { cpu: "4", memory: "16Gi" },
  replicas: { min: 2, max: 4 },
  maxConcurrent: 8,
  maxQueue: 64,
  cacheSize: "40Gi",
};
const listener = { gatewayName: "llm", gatewayNamespace: "envoy-gateway-system", sectionName: "https" };
const BTLS = "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy";

async function deploy(tls: boolean) {
  const { resources } = await capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(),
      namespace: "llm-serving",
      model,
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1",
      route: { listener, hostname: "m1.llm.example.com" },
      tls: tls ? { secretName: "m1-tls", caSecret: "llm-internal-ca" } : undefined,
    });
  });
  const deployment = find(resources, "kubernetes:apps/v1:Deployment", "c1-m1");
  const pod = get(deployment.inputs, "spec", "template", "spec");
  const runtime = (get(pod, "containers") as unknown[])[0];
  return { resources, pod, runtime };
}

test("with a certificate: serves HTTPS on the same port from the mounted cert-manager Secret", async () => {
  const { pod, runtime } = await deploy(true);
  const args = get(runtime, "args") as string[];
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("--urls"), "https://0.0.0.0:8080");
  assert.equal(after("--tls-cert-file"), `${TLS_DIR}/tls.crt`);
  assert.equal(after("--tls-key-file"), `${TLS_DIR}/tls.key`);
  const mount = (get(runtime, "volumeMounts") as { name: string; mountPath: string; readOnly?: boolean }[]).find(
    (m) => m.mountPath === TLS_DIR,
  );
  assert.deepEqual(mount, { name: "tls", mountPath: TLS_DIR, readOnly: true });
  const volume = (get(pod, "volumes") as { name: string }[]).find((v) => v.name === "tls");
  assert.deepEqual(get(volume, "secret"), { secretName: "m1-tls", defaultMode: 0o440 });
  for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"])
    assert.equal(get(runtime, probe, "httpGet", "scheme"), "HTTPS", probe);
  assert.deepEqual(runtimeContainerTlsProblems(runtime), []);
});

test("with a certificate: the gateway verifies the Service's name against the in-cluster CA", async () => {
  const { resources } = await deploy(true);
  const policy = find(resources, BTLS, "c1-m1-backend-tls");
  assert.equal(get(policy.inputs, "metadata", "namespace"), "llm-serving");
  assert.deepEqual(get(policy.inputs, "spec"), {
    targetRefs: [{ group: "", kind: "Service", name: "m1" }],
    validation: { caCertificateRefs: [{ group: "", kind: "Secret", name: "llm-internal-ca" }], hostname: "m1.llm-serving.svc" },
  });
  // The hostname verified is one the certificate carries.
  assert.ok(runtimeDnsNames("m1", "llm-serving").includes("m1.llm-serving.svc"));
  const svc = find(resources, "kubernetes:core/v1:Service", "c1-m1");
  assert.equal(get((get(svc.inputs, "spec", "ports") as unknown[])[0], "appProtocol"), "https");
});

test("without a certificate: plain HTTP, HTTP probes, no BackendTLSPolicy; the rule names each gap", async () => {
  const { resources, runtime } = await deploy(false);
  const args = get(runtime, "args") as string[];
  assert.equal(args[args.indexOf("--urls") + 1], "http://0.0.0.0:8080");
  assert.ok(!args.includes("--tls-cert-file"));
  assert.equal(get(runtime, "startupProbe", "httpGet", "scheme"), undefined);
  assert.equal(ofType(resources, BTLS).length, 0);
  assert.deepEqual(runtimeContainerTlsProblems(runtime), [
    "container 'runtime' listens on http://0.0.0.0:8080, not https://",
    "container 'runtime' has no --tls-cert-file",
    "container 'runtime' has no --tls-key-file",
    "container 'runtime' readinessProbe is not HTTPS",
    "container 'runtime' livenessProbe is not HTTPS",
    "container 'runtime' startupProbe is not HTTPS",
  ]);
});

test("the certificate names the Service in every in-cluster spelling plus the one scrape identity", () => {
  assert.deepEqual(runtimeDnsNames("m1", "llm-serving"), [
    "m1",
    "m1.llm-serving",
    "m1.llm-serving.svc",
    runtimeScrapeServerName("llm-serving"),
  ]);
  assert.deepEqual(listenArgs(false), ["--urls", "http://0.0.0.0:8080"]);
});

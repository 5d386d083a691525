import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import {
  ENDPOINT_PROPAGATION_SECONDS,
  LlmService,
  podTermination,
  PROCESS_EXIT_MARGIN_SECONDS,
  RUNTIME_HOST_MARGIN_SECONDS,
  listenArgs,
  runtimeDnsNames,
  runtimeScrapeServerName,
  startupWorstCaseSeconds,
  TLS_DIR,
  validateLlmService,
} from "../../../../components/serving/llm-service";
import type { ModelSource } from "../../../../components/serving/model-source";
import { INTERCEPTOR } from "../../../../components/autoscaling/http-add-on";
import { NODE_BUDGET_SECONDS, startupBudget } from "../../../../components/serving/startup-budget";
import { PASSIVE_HEALTH_CHECK } from "../../../../components/traffic/routes";
import { capture, find, get, gpuCluster, isSecret, ofType, REPO_ROOT, servedModel } from "../../helpers";
import { durationSeconds, PULUMI_DEFAULT_WAIT_SECONDS } from "../../../../stacks/policy/rules-kubernetes";
import { runtimeContainerTlsProblems } from "../../../../stacks/policy/rules-tls";

const model = servedModel();

async function deploy(overrides: Partial<typeof model> = {}, cluster = {}) {
  return capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(cluster),
      namespace: "llm-serving",
      model: { ...model, ...overrides },
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1\nk2",
    });
  });
}

test("requests the model's GPUs and tolerates the GPU taint on GPU clusters", async () => {
  const { resources } = await deploy();
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const runtime = (get(pod, "containers") as unknown[])[0];
  assert.equal(get(runtime, "resources", "limits", "nvidia.com/gpu"), "1");
  assert.deepEqual(get(pod, "tolerations"), [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  assert.deepEqual(get(pod, "nodeSelector"), { "nvidia.com/gpu.present": "true" });
});

test("requests no GPU on a CPU-only cluster", async () => {
  const { resources } = await deploy({ gpus: 0 }, { gpu: { ...gpuCluster().gpu, enabled: false } });
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  assert.equal(get((get(pod, "containers") as unknown[])[0], "resources", "limits", "nvidia.com/gpu"), undefined);
  assert.equal(get(pod, "tolerations"), undefined);
});

test("probes readiness and liveness on the runtime's endpoints", async () => {
  const { resources } = await deploy();
  const c = (
    get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec", "containers") as unknown[]
  )[0];
  assert.equal(get(c, "readinessProbe", "httpGet", "path"), "/readyz");
  assert.equal(get(c, "livenessProbe", "httpGet", "path"), "/healthz");
  assert.equal(get(c, "startupProbe", "httpGet", "path"), "/readyz");
});

test("keeps API keys in a Secret whose data is a Pulumi secret", async () => {
  const { resources } = await deploy();
  const secret = find(resources, "kubernetes:core/v1:Secret", "c1-m1-api-keys");
  assert.ok(isSecret(secret.inputs.stringData), "stringData must be a Pulumi secret");
});

test("fills the model cache with an init container for object-store sources", async () => {
  const { resources } = await deploy();
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const init = get(pod, "initContainers") as unknown[];
  assert.equal(init.length, 1);
  assert.match(String((get(init[0], "command") as string[])[2]), /aws s3 sync 's3:\/\/bucket\/m1\/'/);
});

test("adds a PodDisruptionBudget only when at least two replicas serve", async () => {
  assert.equal(ofType((await deploy()).resources, "kubernetes:policy/v1:PodDisruptionBudget").length, 1);
  assert.equal(
    ofType((await deploy({ replicas: { min: 1, max: 2 } })).resources, "kubernetes:policy/v1:PodDisruptionBudget").length,
    0,
  );
});

const listener = { gatewayName: "llm", gatewayNamespace: "envoy-gateway-system", sectionName: "https" };

async function deployScaled(overrides: Partial<typeof model> = {}) {
  return capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(),
      namespace: "llm-serving",
      model: { ...model, targetQueueDepth: 3, ...overrides },
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1",
      priorityClassName: "llm-inference",
      route: { listener, hostname: "m1.llm.example.com" },
      autoscaling: { prometheusUrl: "http://kps-prometheus.monitoring.svc:9090" },
    });
  });
}

test("leaves replicas to the scaler when one is attached, and pins them without", async () => {
  const scaled = find((await deployScaled()).resources, "kubernetes:apps/v1:Deployment", "c1-m1");
  assert.equal(get(scaled.inputs, "spec", "replicas"), undefined);
  const fixed = find((await deploy()).resources, "kubernetes:apps/v1:Deployment", "c1-m1");
  assert.equal(get(fixed.inputs, "spec", "replicas"), 2);
});

test("the ScaledObject scales the model's Deployment on its queue within the configured bounds", async () => {
  const so = find((await deployScaled()).resources, "kubernetes:keda.sh/v1alpha1:ScaledObject", "c1-m1-scaler");
  assert.equal(get(so.inputs, "spec", "scaleTargetRef", "name"), "m1");
  assert.equal(get(so.inputs, "spec", "minReplicaCount"), 2);
  assert.equal(get(so.inputs, "spec", "maxReplicaCount"), 4);
  const trigger = (get(so.inputs, "spec", "triggers") as unknown[])[0];
  assert.equal(get(trigger, "metadata", "query"), 'sum(llm_requests_waiting{namespace="llm-serving",model="m1"})');
  assert.equal(get(trigger, "metadata", "threshold"), "3");
});

test("routes https://<model>.<domain> to the Service with a streaming-length timeout and least-request balancing", async () => {
  const { resources } = await deployScaled();
  const route = find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
  assert.deepEqual(get(route.inputs, "spec", "hostnames"), ["m1.llm.example.com"]);
  const rule = (get(route.inputs, "spec", "rules") as unknown[])[0];
  assert.deepEqual(get(rule, "backendRefs"), [{ name: "m1", port: 8080 }]);
  assert.equal(get(rule, "timeouts", "request"), "600s");
  const btp = find(resources, "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "c1-m1-balancing");
  assert.deepEqual(get(btp.inputs, "spec", "loadBalancer"), { type: "LeastRequest" });
  assert.deepEqual(get(btp.inputs, "spec", "targetRefs"), [
    { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "m1" },
  ]);
});

test("GET requests have a rule of their own; everything else (the POST completions) falls through to the api rule", async () => {
  const route = find((await deployScaled()).resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
  const rules = get(route.inputs, "spec", "rules") as { name: string; matches: { method?: string }[] }[];
  assert.deepEqual(
    rules.map((r) => [r.name, r.matches.map((m) => m.method ?? "any")]),
    [
      ["reads", ["GET"]],
      ["api", ["any"]],
    ],
  );
});

test("completions are retried only when they never reached a replica; reads also on a 503", async () => {
  const { resources } = await deployScaled();
  const spec = (name: string) =>
    get(find(resources, "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", name).inputs, "spec") as Record<
      string,
      unknown
    >;
  const route = spec("c1-m1-balancing");
  assert.deepEqual(get(route, "retry"), {
    numRetries: 2,
    retryOn: { triggers: ["connect-failure", "reset-before-request"] },
  });
  const reads = spec("c1-m1-balancing-reads");
  assert.deepEqual(get(reads, "targetRefs"), [
    { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "m1", sectionName: "reads" },
  ]);
  assert.deepEqual(get(reads, "retry"), {
    numRetries: 2,
    retryOn: { triggers: ["connect-failure", "reset-before-request", "retriable-status-codes"], httpStatusCodes: [503] },
  });
  // Triggers that would repeat a completion the runtime may have started are never used.
  for (const s of [route, reads])
    for (const t of get(s, "retry", "retryOn", "triggers") as string[])
      assert.ok(!["5xx", "gateway-error", "reset", "retriable-4xx"].includes(t), t);
  // A rule's policy replaces the route's in Envoy Gateway: both balance and eject alike.
  for (const s of [route, reads]) {
    assert.deepEqual(get(s, "loadBalancer"), { type: "LeastRequest" });
    assert.deepEqual(get(s, "healthCheck", "passive"), { ...PASSIVE_HEALTH_CHECK });
  }
  // Ejection: connect failures apart from HTTP errors, the draining runtime's 503s counted, never more than half.
  assert.equal(PASSIVE_HEALTH_CHECK.splitExternalLocalOriginErrors, true);
  assert.ok(PASSIVE_HEALTH_CHECK.consecutiveGatewayErrors > 0);
  assert.ok(PASSIVE_HEALTH_CHECK.maxEjectionPercent <= 50);
});

test("runs non-root with a read-only root filesystem, at the inference priority, drain shorter than the grace period", async () => {
  const pod = get(
    find((await deployScaled()).resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs,
    "spec",
    "template",
    "spec",
  );
  assert.equal(get(pod, "securityContext", "runAsNonRoot"), true);
  assert.equal(get(pod, "priorityClassName"), "llm-inference");
  assert.ok((get(pod, "terminationGracePeriodSeconds") as number) > 60);
  for (const c of [...(get(pod, "initContainers") as unknown[]), ...(get(pod, "containers") as unknown[])]) {
    assert.equal(get(c, "securityContext", "readOnlyRootFilesystem"), true);
    assert.equal(get(c, "securityContext", "allowPrivilegeEscalation"), false);
    assert.deepEqual(get(c, "securityContext", "capabilities", "drop"), ["ALL"]);
  }
});

test("opens HTTPS egress for models fetched from an object store, and nothing for PVC models", async () => {
  const np = find((await deployScaled()).resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-m1-model-store");
  assert.deepEqual(get(np.inputs, "spec", "policyTypes"), ["Egress"]);
  assert.deepEqual(get((get(np.inputs, "spec", "egress") as unknown[])[0], "ports"), [{ protocol: "TCP", port: 443 }]);
  assert.deepEqual(get(np.inputs, "spec", "podSelector", "matchLabels"), {
    "app.kubernetes.io/name": "llm-runtime",
    "app.kubernetes.io/instance": "m1",
  });
  const pvc = await deployScaled({ source: { kind: "pvc", claimName: "models", subPath: "m1" } });
  assert.equal(ofType(pvc.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").length, 0);
});

test("the store's own port and addresses when config names them, and the cluster's credential endpoint", async () => {
  const egressOf = async (source: ModelSource, cluster = {}) => {
    const np = find(
      (await deploy({ source }, cluster)).resources,
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      "c1-m1-model-store",
    );
    return get(np.inputs, "spec", "egress");
  };
  assert.deepEqual(
    await egressOf({ kind: "https", uri: "https://minio.corp.example:9000/models/m1.tar.gz", egressCidrs: ["10.40.0.0/24"] }),
    [{ to: [{ ipBlock: { cidr: "10.40.0.0/24" } }], ports: [{ protocol: "TCP", port: 9000 }] }],
  );
  // EKS Pod Identity: the aws CLI gets its credentials from the node-local agent over plain HTTP.
  assert.deepEqual(await egressOf(model.source, { credentialEndpoints: [{ cidr: "169.254.170.23/32", port: 80 }] }), [
    { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    { to: [{ ipBlock: { cidr: "169.254.170.23/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
  ]);
});

test("rejects scale to zero without a scaler and a route", () => {
  assert.match(
    validateLlmService({ model: { ...model, replicas: { min: 0, max: 2 } } }).join(),
    /replicas.min 0 needs autoscaling.*replicas.min 0 needs route/,
  );
  assert.match(
    validateLlmService({ model: { ...model, replicas: { min: 3, max: 2 } } }).join(),
    /model.replicas.min \(3\) must be <= model.replicas.max \(2\)/,
  );
  // A model held by the interceptor may be TLS-only: the add-on proxies over verified TLS (http-add-on.ts).
  const atZero = { ...model, replicas: { min: 0, max: 2 } };
  const complete = { autoscaling: { prometheusUrl: "http://p" }, scaleFromZero: { namespace: "keda" } };
  const route = { listener: { gatewayName: "g", gatewayNamespace: "n", sectionName: "https" }, hostname: "m1.example.com" };
  assert.deepEqual(validateLlmService({ model: atZero, ...complete, route }), []);
  assert.deepEqual(validateLlmService({ model: atZero, ...complete, route, tls: { secretName: "m1-tls", caSecret: "ca" } }), []);
});

const runtimeContainer = async (overrides: Partial<typeof model> = {}, cluster = {}) =>
  (
    get(
      find((await deploy(overrides, cluster)).resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs,
      "spec",
      "template",
      "spec",
      "containers",
    ) as unknown[]
  )[0];

test("asks the runtime for CUDA on GPU pods and for the CPU provider otherwise", async () => {
  const args = async (o: Partial<typeof model>, c = {}) => get(await runtimeContainer(o, c), "args") as string[];
  const onGpu = await args({});
  assert.equal(onGpu[onGpu.indexOf("--provider") + 1], "cuda");
  const onCpu = await args({ gpus: 0 }, { gpu: { ...gpuCluster().gpu, enabled: false } });
  assert.equal(onCpu[onCpu.indexOf("--provider") + 1], "cpu");
});

test("the runtime drains within the pod's termination grace period", async () => {
  const { resources } = await deploy();
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const env = get((get(pod, "containers") as unknown[])[0], "env") as { name: string; value: string }[];
  const drain = Number(env.find((e) => e.name === "Runtime__DrainGraceSeconds")?.value);
  assert.ok(drain > 0);
  // The grace period counts from the start of preStop: the sleep, then the drain and the host's margin, must fit.
  const preStop = get((get(pod, "containers") as unknown[])[0], "lifecycle", "preStop", "sleep", "seconds") as number;
  assert.ok(preStop > 0, "a preStop sleep");
  assert.ok((get(pod, "terminationGracePeriodSeconds") as number) > preStop + drain + RUNTIME_HOST_MARGIN_SECONDS);
});

test("the host margin is the runtime's own (RuntimeApp.cs sets ShutdownTimeout to the drain plus it)", () => {
  const source = readFileSync(path.join(REPO_ROOT, "runtime", "Hosting", "RuntimeApp.cs"), "utf8");
  const m = /ShutdownTimeout = TimeSpan\.FromSeconds\(runtime\.DrainGraceSeconds \+ (\d+)\)/.exec(source);
  assert.ok(m, "RuntimeApp.cs no longer sets ShutdownTimeout from DrainGraceSeconds: re-derive podTermination");
  assert.equal(Number(m[1]), RUNTIME_HOST_MARGIN_SECONDS);
});

test("termination grace covers preStop, drain, host margin and exit for every drain budget", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3600 }), (drain) => {
      const t = podTermination(drain);
      assert.equal(t.preStop.sleep.seconds, ENDPOINT_PROPAGATION_SECONDS);
      assert.equal(
        t.terminationGracePeriodSeconds,
        ENDPOINT_PROPAGATION_SECONDS + drain + RUNTIME_HOST_MARGIN_SECONDS + PROCESS_EXIT_MARGIN_SECONDS,
      );
      assert.ok(t.terminationGracePeriodSeconds > t.preStop.sleep.seconds + drain + RUNTIME_HOST_MARGIN_SECONDS);
    }),
  );
});

test("replicas spread over zones and nodes as preferences, per rollout", async () => {
  const pod = get(find((await deploy()).resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const labels = { "app.kubernetes.io/name": "llm-runtime", "app.kubernetes.io/instance": "m1" };
  assert.deepEqual(get(pod, "topologySpreadConstraints"), [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: labels },
      matchLabelKeys: ["pod-template-hash"],
    },
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: labels },
      matchLabelKeys: ["pod-template-hash"],
    },
  ]);
  // The pod's labels include the selector's, or the constraint counts nothing.
  const podLabels = get(
    find((await deploy()).resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs,
    "spec",
    "template",
    "metadata",
    "labels",
  );
  assert.deepEqual({ ...(podLabels as object), ...labels }, podLabels);
});

test("the demo model is generated into the writable model volume, not the read-only root filesystem", async () => {
  const c = await runtimeContainer({ source: { kind: "demo" }, gpus: 0 }, { gpu: { ...gpuCluster().gpu, enabled: false } });
  const env = get(c, "env") as { name: string; value: string }[];
  const dir = env.find((e) => e.name === "Runtime__DemoCacheDir")?.value;
  const mount = (get(c, "volumeMounts") as { mountPath: string; readOnly?: boolean }[]).find((m) => m.mountPath === dir);
  assert.ok(mount, "the demo cache dir is a mounted volume");
  assert.equal(mount.readOnly, false);
});

test("publishes only the API paths: /metrics and the probes are not routed", async () => {
  const route = find((await deployScaled()).resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
  const matches = (get(route.inputs, "spec", "rules") as unknown[]).flatMap((r) => get(r, "matches") as unknown[]);
  assert.ok(matches.length > 0, "route has matches");
  // Gateway API PathPrefix matches whole path elements ("/v1" matches "/v1/models", not "/v1x").
  const routed = (path: string) =>
    matches.some((m) => {
      const type = get(m, "path", "type");
      const value = String(get(m, "path", "value"));
      if (type === "Exact") return path === value;
      const prefix = value.replace(/\/$/, "");
      return prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
    });
  for (const path of ["/metrics", "/healthz", "/readyz"]) assert.ok(!routed(path), `HTTPRoute c1-m1-route routes ${path}`);
  for (const path of ["/v1/chat/completions", "/v1/completions", "/v1/models"]) assert.ok(routed(path), `${path} not routed`);
});

test("with a health host, exactly one more path is public: GET /readyz, exact, on that host only", async () => {
  const { resources } = await capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(),
      namespace: "llm-serving",
      model,
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1",
      route: { listener, hostname: "m1.llm.example.com", healthHostname: "m1--c1.llm.example.com" },
    });
  });
  const routes = ofType(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute");
  assert.deepEqual(routes.map((r) => r.name).sort(), ["c1-m1-health-route", "c1-m1-route"]);
  const health = find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-health-route");
  assert.deepEqual(get(health.inputs, "spec", "hostnames"), ["m1--c1.llm.example.com"]);
  const rules = get(health.inputs, "spec", "rules") as unknown[];
  assert.deepEqual(
    rules.map((r) => get(r, "matches")),
    [[{ path: { type: "Exact", value: "/readyz" }, method: "GET" }]],
  );
  // The public host still routes nothing but /v1.
  const api = find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
  const values = (get(api.inputs, "spec", "rules") as unknown[]).flatMap((r) =>
    (get(r, "matches") as unknown[]).map((m) => get(m, "path", "value")),
  );
  assert.deepEqual([...new Set(values)], ["/v1"]);
});

test("Pulumi waits longer for the Deployment than its startup probe plus a cold start allow", async () => {
  let svc: LlmService | undefined;
  const { resources } = await capture(() => {
    svc = new LlmService("c1-m1", {
      cluster: gpuCluster(),
      namespace: "llm-serving",
      model,
      image: "ghcr.io/org/runtime:1.0.0",
      apiKeys: "k1",
    });
  });
  const c = (
    get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec", "containers") as unknown[]
  )[0];
  const probe = get(c, "startupProbe") as { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number };
  const b = NODE_BUDGET_SECONDS;
  const worst = startupWorstCaseSeconds(probe) + b.nodeProvisioning + b.gpuDriver + startupBudget(model.cacheSize)!.fetchSeconds;
  // The policy's own parser of Pulumi durations (NaN for anything that is not one, which fails the comparisons).
  const toSeconds = (d: string | undefined) => durationSeconds(d ?? "");
  assert.ok(toSeconds(svc?.timeouts.create) > worst, `customTimeouts.create ${svc?.timeouts.create} <= ${worst}s`);
  assert.ok(toSeconds(svc?.timeouts.update) > worst, `customTimeouts.update ${svc?.timeouts.update} <= ${worst}s`);
  // The probe alone must already exceed Pulumi's 10-minute default, which is why the timeouts are needed.
  assert.ok(startupWorstCaseSeconds(probe) > PULUMI_DEFAULT_WAIT_SECONDS);
});

const BTLS = "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy";

async function deployTls(tls: boolean, fromZero = false) {
  const { resources } = await capture(() => {
    new LlmService("c1-m1", {
      cluster: gpuCluster(),
      namespace: "llm-serving",
      model: fromZero ? { ...model, replicas: { min: 0, max: 2 } } : model,
      autoscaling: fromZero ? { prometheusUrl: "http://p" } : undefined,
      scaleFromZero: fromZero ? { namespace: "keda" } : undefined,
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
  const { pod, runtime } = await deployTls(true);
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
  const { resources } = await deployTls(true);
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

test("held (min 0) with a certificate: the route goes to the interceptor's TLS port, the interceptor to the HTTPS runtime", async () => {
  const backendPort = async (tls: boolean) => {
    const { resources } = await deployTls(tls, true);
    const route = find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
    const refs = (get(route.inputs, "spec", "rules") as unknown[]).flatMap((r) => get(r, "backendRefs") as unknown[]);
    assert.ok(refs.every((r) => get(r, "name") === INTERCEPTOR.service && get(r, "namespace") === "keda"));
    return new Set(refs.map((r) => get(r, "port")));
  };
  assert.deepEqual(await backendPort(true), new Set([INTERCEPTOR.tlsPort]));
  assert.deepEqual(await backendPort(false), new Set([INTERCEPTOR.port]));
  const { resources, runtime } = await deployTls(true, true);
  // The interceptor dials the Service on the runtime's port; the runtime's certificate holds that name.
  const held = find(resources, "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject", "c1-m1-held");
  assert.equal(get(held.inputs, "spec", "scaleTargetRef", "port"), 8080);
  assert.ok(runtimeDnsNames("m1", "llm-serving").includes("m1.llm-serving"));
  assert.deepEqual(runtimeContainerTlsProblems(runtime), []);
});

test("without a certificate: plain HTTP, HTTP probes, no BackendTLSPolicy; the rule names each gap", async () => {
  const { resources, runtime } = await deployTls(false);
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

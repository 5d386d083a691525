import assert from "node:assert/strict";
import { test } from "node:test";
import { LlmService, startupWorstCaseSeconds, validateLlmService } from "../../../../components/serving/llm-service";
import type { ModelSource } from "../../../../components/serving/model-source";
import { NODE_BUDGET_SECONDS, startupBudget } from "../../../../components/serving/startup-budget";
import { capture, find, get, gpuCluster, isSecret, ofType } from "../../helpers";
import { durationSeconds, PULUMI_DEFAULT_WAIT_SECONDS } from "../../../../stacks/policy/rules-kubernetes";

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
  // The runtime's host stops at drain + 5 s; the kubelet must not kill it before.
  assert.ok((get(pod, "terminationGracePeriodSeconds") as number) > drain + 5);
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

/** The shared model cache: one claim and one Job per model version, pods read-only on it, and only after the Job. */
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheClaimSize, cacheName, usesSharedCache } from "../../../../components/serving/model-cache";
import { LlmService, type ServedModel } from "../../../../components/serving/llm-service";
import { LLM_MODEL_TOOL, type ModelSource } from "../../../../components/serving/model-source";
import { capture, find, get, gpuCluster, ofType, servedModel } from "../../helpers";

const digest = `sha256:${"0123456789ab".repeat(5)}cdef`;
const pinned: ModelSource = { kind: "s3", uri: "s3://bucket/models/m1", version: "2026-11-28.1", digest };
const model: ServedModel = servedModel({ source: pinned });
const shared = { sharedCache: { storageClass: "efs-models" } };
const agent = { credentialEndpoints: [{ cidr: "169.254.170.23/32", port: 80 }] };

async function deploy(overrides: Partial<ServedModel> = {}, cluster: object = shared) {
  let svc: LlmService | undefined;
  let deploymentDeps: unknown;
  const { resources } = await capture(() => {
    pulumi.runtime.registerStackTransformation((a) => {
      if (a.type === "kubernetes:apps/v1:Deployment") deploymentDeps = a.opts.dependsOn;
      return undefined;
    });
    svc = new LlmService("c1-m1", {
      cluster: gpuCluster({ ...agent, ...cluster }),
      namespace: "llm-serving",
      model: { ...model, ...overrides },
      image: "ghcr.io/org/llm-runtime:1.0.0",
      apiKeys: "k1",
      serviceAccount: { name: "llm-runtime", podLabels: { "azure.workload.identity/use": "true" } },
    });
  });
  return { resources, svc: svc!, deploymentDeps: [deploymentDeps].flat() };
}

const podSpec = (resources: Awaited<ReturnType<typeof deploy>>["resources"]) =>
  get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");

test("a pinned model on a cluster with a shared class gets one ReadWriteMany claim per version, named by its digest", async () => {
  const { resources } = await deploy();
  const claim = find(resources, "kubernetes:core/v1:PersistentVolumeClaim", "c1-m1-cache-claim");
  assert.equal(get(claim.inputs, "metadata", "name"), "m1-0123456789ab");
  assert.deepEqual(get(claim.inputs, "spec", "accessModes"), ["ReadWriteMany"]);
  assert.equal(get(claim.inputs, "spec", "storageClassName"), "efs-models");
  assert.equal(get(claim.inputs, "spec", "resources", "requests", "storage"), "40Gi");
});

test("the Job fills it with the artifact tool (that version, that digest) under the serving identity, restricted", async () => {
  const { resources } = await deploy();
  const job = find(resources, "kubernetes:batch/v1:Job", "c1-m1-cache-fill");
  const pod = get(job.inputs, "spec", "template", "spec");
  const [c] = get(pod, "containers") as Record<string, unknown>[];
  assert.equal(c.image, "ghcr.io/org/llm-runtime:1.0.0");
  assert.deepEqual(c.command, [
    LLM_MODEL_TOOL,
    "fetch",
    "--from",
    "s3://bucket/models/m1",
    "--version",
    "2026-11-28.1",
    "--digest",
    digest,
    "--to",
    "/models/model",
  ]);
  assert.deepEqual(get((get(pod, "volumes") as unknown[])[0], "persistentVolumeClaim"), { claimName: "m1-0123456789ab" });
  assert.equal(get(pod, "serviceAccountName"), "llm-runtime");
  assert.equal(get(pod, "automountServiceAccountToken"), false);
  assert.equal(get(pod, "securityContext", "runAsNonRoot"), true);
  assert.equal(get(pod, "securityContext", "seccompProfile", "type"), "RuntimeDefault");
  assert.equal(get(c, "securityContext", "allowPrivilegeEscalation"), false);
  // The serving quota counts CPU limits: a container without one would be rejected.
  assert.equal(get(c, "resources", "limits", "cpu"), "1");
  assert.equal(get(job.inputs, "spec", "template", "metadata", "labels", "azure.workload.identity/use"), "true");
  assert.equal(get(job.inputs, "spec", "template", "spec", "restartPolicy"), "Never");
  // Pulumi waits for completion within the fetch budget (the 48Gi row: 1284 s, 27 min with the margin).
  assert.equal(get(job.inputs, "spec", "activeDeadlineSeconds"), 1284);
  assert.deepEqual(job.customTimeouts, { create: "27m", update: "27m" });
});

test("serving pods mount the claim read-only, fetch nothing themselves, and start only after the Job", async () => {
  const { resources, svc, deploymentDeps } = await deploy();
  const pod = podSpec(resources);
  assert.deepEqual(get(pod, "initContainers"), []);
  assert.deepEqual((get(pod, "volumes") as unknown[])[0], {
    name: "model",
    persistentVolumeClaim: { claimName: "m1-0123456789ab", readOnly: true },
  });
  const runtime = (get(pod, "containers") as unknown[])[0] as { args: string[]; volumeMounts: unknown[] };
  assert.deepEqual(runtime.args.slice(0, 4), ["--model", "/models/model", "--model-digest", digest]);
  assert.ok(svc.cache, "the service has a cache");
  assert.ok(deploymentDeps.includes(svc.cache.job), "the Deployment depends on the cache Job");
});

test("only the Job may reach the model store: its egress policy selects the Job's pods, none selects the runtime's", async () => {
  const { resources } = await deploy();
  const policies = ofType(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
  assert.deepEqual(
    policies.map((p) => p.name),
    ["c1-m1-cache-store"],
  );
  const selector = get(policies[0].inputs, "spec", "podSelector", "matchLabels") as Record<string, string>;
  const jobLabels = get(
    find(resources, "kubernetes:batch/v1:Job", "c1-m1-cache-fill").inputs,
    "spec",
    "template",
    "metadata",
    "labels",
  ) as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) assert.equal(jobLabels[k], v, `Job pod label ${k}`);
  assert.notEqual(selector["app.kubernetes.io/name"], "llm-runtime");
  assert.deepEqual(
    (get(policies[0].inputs, "spec", "egress") as { to: { ipBlock: { cidr: string } }[] }[])[1].to[0].ipBlock.cidr,
    "169.254.170.23/32",
  );
});

test("without a shared class (local), or for an unpinned source, each pod keeps its own copy", async () => {
  for (const [overrides, cluster] of [
    [{}, {}],
    [{ source: { kind: "s3", uri: "s3://bucket/models/m1" } as ModelSource }, shared],
  ] as const) {
    const { resources, svc } = await deploy(overrides, cluster);
    assert.equal(svc.cache, undefined);
    assert.equal(ofType(resources, "kubernetes:batch/v1:Job").length, 0);
    assert.equal((get(podSpec(resources), "initContainers") as unknown[]).length, 1);
  }
});

test("helpers: names fit a DNS label, premium shares are at least their minimum, claims and demo stay local", () => {
  assert.equal(cacheName("a".repeat(40), digest).length, 53);
  assert.equal(cacheClaimSize("40Gi", "100Gi"), "100Gi");
  assert.equal(cacheClaimSize("200Gi", "100Gi"), "200Gi");
  assert.equal(cacheClaimSize("40Gi"), "40Gi");
  assert.equal(usesSharedCache(shared, { kind: "pvc", claimName: "m", subPath: "", version: "v", digest }), false);
  assert.equal(usesSharedCache(shared, { kind: "demo" }), false);
  assert.equal(usesSharedCache({}, pinned), false);
});

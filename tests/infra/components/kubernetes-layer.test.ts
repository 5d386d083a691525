import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterRecord } from "../../../components/clusters/record";
import { KubernetesLayer, validateLayer, type KubernetesLayerArgs, type LayerModel } from "../../../components/kubernetes-layer";
import { capture, find, get, gpuCluster, ofType, servedModel } from "../helpers";

const model: LayerModel = { ...servedModel(), targetQueueDepth: 4 };

function layerArgs(cluster: ClusterRecord, overrides: Partial<KubernetesLayerArgs> = {}): KubernetesLayerArgs {
  return {
    cluster,
    domain: "llm.example.com",
    highAvailability: true,
    issuer: { kind: "ca", secretName: "corp-ca" },
    observability: {
      retention: "15d",
      storageSize: "50Gi",
      prometheusResources: { cpu: "1", memory: "4Gi" },
      slo: { ttftP95Seconds: 2, errorRatio: 0.01 },
      runbookBaseUrl: "https://example.com/runbooks",
    },
    grafanaAdminPassword: "pw",
    models: [model],
    runtime: { image: "ghcr.io/org/runtime:1.0.0", apiKeys: "k" },
    ...overrides,
  };
}

const layer = async (cluster: () => ClusterRecord, overrides: Partial<KubernetesLayerArgs> = {}) =>
  (
    await capture(() => {
      new KubernetesLayer("c1", layerArgs(cluster(), overrides));
    })
  ).resources;

const releases = (resources: Awaited<ReturnType<typeof layer>>) =>
  ofType(resources, "kubernetes:helm.sh/v3:Release")
    .map((r) => String(r.inputs.chart))
    .sort();

test("installs every platform chart, the gpu-operator only where the record asks for it", async () => {
  assert.deepEqual(releases(await layer(() => gpuCluster())), [
    "cert-manager",
    "gpu-operator",
    "keda",
    "kube-prometheus-stack",
    "oci://docker.io/envoyproxy/gateway-helm",
  ]);
  const preinstalled = await layer(() => gpuCluster({ gpu: { ...gpuCluster().gpu, installOperator: false } }));
  assert.ok(!releases(preinstalled).includes("gpu-operator"));
  assert.equal(
    ofType(preinstalled, "kubernetes:core/v1:Namespace").filter((n) => get(n.inputs, "metadata", "name") === "gpu-operator")
      .length,
    0,
  );
});

test("never installs the gpu-operator on a CPU-only cluster", async () => {
  const cpu = () => gpuCluster({ substrate: "local", gpu: { ...gpuCluster().gpu, enabled: false, installOperator: true } });
  const resources = await layer(cpu, { models: [{ ...model, gpus: 0 }] });
  assert.ok(!releases(resources).includes("gpu-operator"));
});

test("every Kubernetes object of the layer is created with the cluster record's provider", async () => {
  const withoutProvider: string[] = [];
  let checked = 0;
  await capture(() => {
    const c = gpuCluster();
    pulumi.runtime.registerStackTransformation((args) => {
      // Every "kubernetes:" type is a custom resource (the provider itself is "pulumi:providers:kubernetes").
      if (args.type.startsWith("kubernetes:")) {
        checked++;
        if ((args.opts as pulumi.CustomResourceOptions).provider !== c.provider)
          withoutProvider.push(`${args.type}::${args.name}`);
      }
      return undefined;
    });
    new KubernetesLayer("c1", layerArgs(c));
  });
  assert.ok(checked > 40, `only ${checked} objects seen`);
  assert.deepEqual(withoutProvider, []);
});

test("serves each model at https://<model>.<domain> with a certificate that covers it and Grafana", async () => {
  const resources = await layer(() => gpuCluster(), { models: [model, { ...model, name: "m2" }] });
  const cert = find(resources, "kubernetes:cert-manager.io/v1:Certificate", "c1-gateway-cert");
  assert.deepEqual(get(cert.inputs, "spec", "dnsNames"), ["grafana.llm.example.com", "m1.llm.example.com", "m2.llm.example.com"]);
  const gw = find(resources, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "c1-gateway-gateway");
  const https = (get(gw.inputs, "spec", "listeners") as unknown[]).find((l) => get(l, "protocol") === "HTTPS");
  assert.equal(get(https, "tls", "certificateRefs", "0", "name"), get(cert.inputs, "spec", "secretName"));
  assert.deepEqual(
    get(find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m2-route").inputs, "spec", "hostnames"),
    ["m2.llm.example.com"],
  );
});

test("the serving namespace is restricted, labelled as serving, and sized by the models", async () => {
  const resources = await layer(() => gpuCluster());
  const ns = find(resources, "kubernetes:core/v1:Namespace", "c1-ns-llm-serving");
  assert.equal(get(ns.inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"), "restricted");
  assert.equal(get(ns.inputs, "metadata", "labels", "llm-platform.io/tier"), "serving");
  const quota = find(resources, "kubernetes:core/v1:ResourceQuota", "c1-ns-llm-serving-quota");
  assert.equal(get(quota.inputs, "spec", "hard", "requests.nvidia.com/gpu"), "5");
});

test("GPU pods request the record's GPU resource, select its nodes and tolerate its taints", async () => {
  const taint = { key: "dedicated", operator: "Equal" as const, value: "gpu", effect: "NoSchedule" as const };
  const resources = await layer(() =>
    gpuCluster({
      gpu: { ...gpuCluster().gpu, resourceName: "nvidia.com/gpu", nodeSelector: { pool: "a100" }, tolerations: [taint] },
    }),
  );
  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  assert.deepEqual(get(pod, "nodeSelector"), { pool: "a100" });
  assert.deepEqual(get(pod, "tolerations"), [taint]);
  assert.equal(get(pod, "containers", "0", "resources", "limits", "nvidia.com/gpu"), "1");
});

test("rejects models that take a reserved host name or ask for GPUs on a CPU-only cluster", () => {
  const cpu = gpuCluster({ gpu: { ...gpuCluster().gpu, enabled: false } });
  assert.match(validateLayer({ cluster: cpu, models: [model] }).join(), /asks for 1 GPU\(s\) but cluster 'c1' has no GPUs/);
  assert.match(
    validateLayer({ cluster: gpuCluster(), models: [{ ...model, name: "grafana" }] }).join(),
    /grafana.<domain> is reserved/,
  );
});

test("the network policy admits the same proxy pods the gateway's PodMonitor scrapes, and the Prometheus the ServiceMonitor feeds", async () => {
  const resources = await layer(() => gpuCluster());
  const allowGateway = find(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-netpol-allow-gateway");
  const peer = get(allowGateway.inputs, "spec", "ingress", "0", "from", "0");
  const podMonitor = find(resources, "kubernetes:monitoring.coreos.com/v1:PodMonitor", "c1-gateway-proxy-metrics");
  assert.deepEqual(get(peer, "podSelector", "matchLabels"), get(podMonitor.inputs, "spec", "selector", "matchLabels"));
  assert.equal(
    get(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
    get(podMonitor.inputs, "metadata", "namespace"),
  );
  const allowProm = find(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-netpol-allow-prometheus");
  const sm = find(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "c1-observability-runtime-monitor");
  assert.equal(get(allowProm.inputs, "spec", "ingress", "0", "ports", "0", "port"), 8080);
  assert.equal(get(sm.inputs, "spec", "endpoints", "0", "port"), "http");
});

test("every custom object waits (directly or through another) for the chart that installs its CRDs", async () => {
  const keyOf = new Map<pulumi.Resource, string>();
  const deps = new Map<string, pulumi.Resource[]>();
  await capture(() => {
    pulumi.runtime.registerStackTransformation((args) => {
      const key = `${args.type}::${args.name}`;
      keyOf.set(args.resource, key);
      deps.set(key, [args.opts.dependsOn ?? []].flat() as pulumi.Resource[]);
      return undefined;
    });
    new KubernetesLayer("c1", layerArgs(gpuCluster()));
  });
  const release = (name: string) => `kubernetes:helm.sh/v3:Release::${name}`;
  const chartFor: Record<string, string> = {
    "cert-manager.io": release("c1-tls-cert-manager"),
    "gateway.networking.k8s.io": release("c1-gateway-envoy-gateway"),
    "gateway.envoyproxy.io": release("c1-gateway-envoy-gateway"),
    "monitoring.coreos.com": release("c1-observability-kube-prometheus-stack"),
    "keda.sh": release("c1-keda-keda"),
  };
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
    if (seen.has(from)) return false;
    seen.add(from);
    return (deps.get(from) ?? []).some((r) => {
      const k = keyOf.get(r);
      return k === to || (k !== undefined && reaches(k, to, seen));
    });
  };
  const missing: string[] = [];
  let checked = 0;
  for (const key of deps.keys()) {
    const group = /^kubernetes:([^/]+)\/[^:]+:/.exec(key)?.[1];
    if (group === undefined || !(group in chartFor)) continue;
    checked++;
    if (!reaches(key, chartFor[group])) missing.push(`${key} does not wait for ${chartFor[group]}`);
  }
  assert.ok(checked >= 14, `only ${checked} custom objects seen`);
  assert.deepEqual(missing, []);
  assert.ok(
    reaches(release("c1-tls-cert-manager"), release("c1-gateway-envoy-gateway")),
    "cert-manager starts after the Gateway API CRDs exist",
  );
});

test("serving pods run under the service account the cluster bound the model-store identity to", async () => {
  const identity = {
    namespace: "llm-serving",
    serviceAccount: "llm-runtime",
    serviceAccountAnnotations: { "azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001" },
    podLabels: { "azure.workload.identity/use": "true" },
  };
  const resources = await layer(() => gpuCluster({ identities: { serving: identity } }));
  const sa = find(resources, "kubernetes:core/v1:ServiceAccount", "c1-runtime-sa");
  assert.deepEqual(get(sa.inputs, "metadata", "annotations"), identity.serviceAccountAnnotations);
  assert.equal(get(sa.inputs, "metadata", "namespace"), "llm-serving");
  const template = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template");
  assert.equal(get(template, "spec", "serviceAccountName"), "llm-runtime");
  assert.equal(get(template, "metadata", "labels", "azure.workload.identity/use"), "true");
  assert.equal(get(template, "spec", "automountServiceAccountToken"), false);
  assert.match(
    validateLayer({
      cluster: gpuCluster({ identities: { serving: { ...identity, namespace: "default" } } }),
      models: [model],
    }).join(),
    /serving identity is bound in namespace 'default'/,
  );
});

test("without a cloud identity the pods still get their own token-less service account", async () => {
  const resources = await layer(() => gpuCluster());
  const sa = find(resources, "kubernetes:core/v1:ServiceAccount", "c1-runtime-sa");
  assert.equal(get(sa.inputs, "automountServiceAccountToken"), false);
  assert.equal(
    get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec", "serviceAccountName"),
    "llm-runtime",
  );
});

test("every hop behind the gateway is TLS: the names the gateway and Prometheus verify are on the runtime's certificate", async () => {
  const resources = await layer(gpuCluster);
  const cert = find(resources, "kubernetes:cert-manager.io/v1:Certificate", "c1-m1-cert");
  const dnsNames = get(cert.inputs, "spec", "dnsNames") as string[];
  const caIssuer = find(resources, "kubernetes:cert-manager.io/v1:ClusterIssuer", "c1-internal-ca-issuer");
  assert.deepEqual(get(cert.inputs, "spec", "issuerRef"), {
    name: get(caIssuer.inputs, "metadata", "name"),
    kind: "ClusterIssuer",
    group: "cert-manager.io",
  });
  // The gateway and Prometheus read the root from a certificate of the same CA in the runtime's namespace.
  const trust = find(resources, "kubernetes:cert-manager.io/v1:Certificate", "c1-serving-ca-trust");
  assert.deepEqual(get(trust.inputs, "spec", "issuerRef"), get(cert.inputs, "spec", "issuerRef"));
  assert.equal(get(trust.inputs, "metadata", "namespace"), get(cert.inputs, "metadata", "namespace"));
  const caSecret = get(trust.inputs, "spec", "secretName");

  const pod = get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "spec", "template", "spec");
  const volume = (get(pod, "volumes") as { name: string }[]).find((v) => v.name === "tls");
  assert.equal(get(volume, "secret", "secretName"), get(cert.inputs, "spec", "secretName"));

  const policy = find(resources, "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy", "c1-m1-backend-tls");
  assert.ok(dnsNames.includes(String(get(policy.inputs, "spec", "validation", "hostname"))));
  assert.equal(get((get(policy.inputs, "spec", "validation", "caCertificateRefs") as unknown[])[0], "name"), caSecret);

  const sm = find(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "c1-observability-runtime-monitor");
  const ep = (get(sm.inputs, "spec", "endpoints") as unknown[])[0];
  assert.equal(get(ep, "scheme"), "https");
  assert.ok(dnsNames.includes(String(get(ep, "tlsConfig", "serverName"))));
  assert.deepEqual(get(ep, "tlsConfig", "ca", "secret"), { name: caSecret, key: "ca.crt" });
  assert.equal(get(sm.inputs, "metadata", "namespace"), get(trust.inputs, "metadata", "namespace"));
});

test("backendTls false (local only): plain HTTP inside the cluster, no internal CA", async () => {
  const resources = await layer(gpuCluster, { backendTls: false });
  assert.equal(
    ofType(resources, "kubernetes:cert-manager.io/v1:Certificate").filter((c) => c.name.includes("internal-ca")).length,
    0,
  );
  assert.equal(ofType(resources, "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy").length, 0);
  const sm = find(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "c1-observability-runtime-monitor");
  assert.equal(get((get(sm.inputs, "spec", "endpoints") as unknown[])[0], "scheme"), "http");
});

test("the KEDA HTTP add-on only where a model may scale to zero, with the keda quota raised for its pods", async () => {
  const quotaPods = (resources: Awaited<ReturnType<typeof layer>>) =>
    Number(get(find(resources, "kubernetes:core/v1:ResourceQuota", "c1-ns-keda-quota").inputs, "spec", "hard", "pods"));
  const always = await layer(() => gpuCluster());
  assert.ok(!releases(always).includes("keda-add-ons-http"));
  const atZero = await layer(() => gpuCluster(), { models: [{ ...model, replicas: { min: 0, max: 2 } }] });
  assert.ok(releases(atZero).includes("keda-add-ons-http"));
  assert.ok(quotaPods(atZero) > quotaPods(always));
  assert.equal(ofType(atZero, "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject").length, 1);
});

test("the held path is TLS on both hops: the interceptor's certificate and trust come from the runtimes' CA, the gateway verifies it on its TLS port", async () => {
  const resources = await layer(() => gpuCluster(), { models: [{ ...model, replicas: { min: 0, max: 2 } }] });
  const CERT = "kubernetes:cert-manager.io/v1:Certificate";
  const runtimeCert = find(resources, CERT, "c1-m1-cert");
  const cert = find(resources, CERT, "c1-interceptor-cert");
  assert.deepEqual(get(cert.inputs, "spec", "issuerRef"), get(runtimeCert.inputs, "spec", "issuerRef"));
  assert.equal(get(cert.inputs, "metadata", "namespace"), "keda");
  const release = find(resources, "kubernetes:helm.sh/v3:Release", "c1-keda-http-http-add-on");
  const interceptor = get(release.inputs, "values", "interceptor");
  assert.equal(get(interceptor, "tls", "enabled"), true);
  assert.equal(get(interceptor, "tls", "certSecret"), get(cert.inputs, "spec", "secretName"));
  // Go's roots are the ca.crt cert-manager writes beside the interceptor's own certificate: the internal root.
  assert.equal(get(interceptor, "extraEnvs", "SSL_CERT_FILE"), "/certs/ca.crt");
  // The runtime's certificate carries the name the interceptor dials (https://<service>.<namespace>:<port>).
  assert.ok((get(runtimeCert.inputs, "spec", "dnsNames") as string[]).includes("m1.llm-serving"));

  const policy = find(
    resources,
    "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy",
    "c1-keda-http-interceptor-backend-tls",
  );
  assert.equal(get(policy.inputs, "metadata", "namespace"), "keda");
  assert.ok(
    (get(cert.inputs, "spec", "dnsNames") as string[]).includes(String(get(policy.inputs, "spec", "validation", "hostname"))),
  );
  assert.deepEqual(get(policy.inputs, "spec", "validation", "caCertificateRefs"), [
    { group: "", kind: "Secret", name: get(cert.inputs, "spec", "secretName") },
  ]);
  const route = find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
  const backends = (get(route.inputs, "spec", "rules") as unknown[]).flatMap((r) => get(r, "backendRefs") as unknown[]);
  assert.ok(backends.length > 0);
  for (const b of backends)
    assert.deepEqual(
      [get(b, "name"), get(b, "namespace"), get(b, "port")],
      [get(policy.inputs, "spec", "targetRefs", "0", "name"), "keda", 8443],
    );
  const netpol = find(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-keda-http-interceptor-ingress");
  assert.deepEqual(get(netpol.inputs, "spec", "ingress", "0", "ports"), [{ protocol: "TCP", port: 8443 }]);
});

test("a pinned model on a cluster with a shared class is fetched once by a Job; the serving quota counts its claims", async () => {
  const pinned = {
    ...model,
    source: { kind: "s3" as const, uri: "s3://bucket/m1", version: "v1", digest: `sha256:${"a".repeat(64)}` },
  };
  const resources = await layer(() => gpuCluster({ sharedCache: { storageClass: "nfs-rwx" } }), { models: [pinned] });
  assert.equal(ofType(resources, "kubernetes:batch/v1:Job").length, 1);
  const hard = get(find(resources, "kubernetes:core/v1:ResourceQuota", "c1-ns-llm-serving-quota").inputs, "spec", "hard");
  assert.equal(get(hard, "requests.storage"), "80Gi");
});

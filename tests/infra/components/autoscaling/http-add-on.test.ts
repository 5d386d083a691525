/**
 * Scale from zero: the gateway route, the interceptor's HTTPScaledObject, the model's ScaledObject and the
 * network policies must fit together, and the constants must be what the pinned chart creates.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
  EXTERNAL_SCALER,
  httpAddOnValues,
  INTERCEPTOR,
  INTERCEPTOR_POD_LABELS,
  INTERCEPTOR_TLS_SECRET,
  interceptorDnsNames,
  KedaHttpAddOn,
  SCALER_POD_LABELS,
  SKIP_SCALED_OBJECT,
} from "../../../../components/autoscaling/http-add-on";
import { LlmService } from "../../../../components/serving/llm-service";
import { GATEWAY_NAME, proxyPodLabels } from "../../../../components/traffic/gateway";
import { gatewayDurationSeconds } from "../../../../components/traffic/routes";
import type { PlannedResource } from "../../../../stacks/policy/types";
import { loadFixture } from "../../guards/helm-values";
import { validatePlan } from "../../guards/kubernetes-schema";
import { capture, find, get, gpuCluster } from "../../helpers";

const GATEWAY = { namespace: "envoy-gateway-system", podLabels: proxyPodLabels(GATEWAY_NAME) };
const listener = { gatewayName: GATEWAY_NAME, gatewayNamespace: GATEWAY.namespace, sectionName: "https" };
let resources: PlannedResource[];
/** The same pair with TLS on both hops (every environment but local). */
let tlsResources: PlannedResource[];

const plan = async (tls: boolean) =>
  (
    await capture(() => {
      const cluster = gpuCluster();
      const addOn = new KedaHttpAddOn("c1-keda-http", {
        cluster,
        namespace: "keda",
        highAvailability: false,
        responseHeaderSeconds: 600,
        gateway: GATEWAY,
        routeNamespaces: ["llm-serving"],
        tls: tls ? { certSecret: INTERCEPTOR_TLS_SECRET, caSecret: INTERCEPTOR_TLS_SECRET, dependsOn: [] } : undefined,
      });
      new LlmService("c1-m1", {
        cluster,
        namespace: "llm-serving",
        model: {
          name: "m1",
          source: { kind: "demo" },
          gpus: 0,
          resources: { cpu: "2", memory: "4Gi" },
          replicas: { min: 0, max: 3 },
          maxConcurrent: 4,
          maxQueue: 16,
          cacheSize: "8Gi",
          coldStartHoldSeconds: 420,
        },
        image: "ghcr.io/org/llm-runtime:1.0.0",
        apiKeys: "k1",
        route: { listener, hostname: "m1.llm.example.com" },
        autoscaling: { prometheusUrl: "http://prometheus.monitoring.svc:9090" },
        scaleFromZero: { namespace: "keda", dependsOn: [addOn.release] },
        tls: tls ? { secretName: "m1-tls", caSecret: "llm-internal-ca-trust" } : undefined,
      });
    })
  ).resources;

before(async () => {
  resources = await plan(false);
  tlsResources = await plan(true);
});

const route = () => find(resources, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route");
const held = () => find(resources, "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject", "c1-m1-held");
const rule = () => (get(route().inputs, "spec", "rules") as Record<string, unknown>[])[0];

test("the gateway routes the model's host to the interceptor, which the keda namespace grants", () => {
  const [backend] = get(rule(), "backendRefs") as Record<string, unknown>[];
  assert.deepEqual(backend, { name: INTERCEPTOR.service, port: INTERCEPTOR.port, namespace: "keda" });
  const grant = find(resources, "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant", "c1-keda-http-interceptor-grant");
  assert.equal(get(grant.inputs, "metadata", "namespace"), backend.namespace);
  assert.deepEqual(get(grant.inputs, "spec", "from"), [
    { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: get(route().inputs, "metadata", "namespace") },
  ]);
  assert.deepEqual(get(grant.inputs, "spec", "to"), [{ group: "", kind: "Service", name: backend.name }]);
});

test("the interceptor routes the same host and paths to the model's Service and holds requests for the configured bound", () => {
  const spec = get(held().inputs, "spec") as Record<string, unknown>;
  assert.deepEqual(get(spec, "hosts"), get(route().inputs, "spec", "hostnames"));
  const paths = (get(rule(), "matches") as { path: { value: string } }[]).map((m) => m.path.value);
  assert.deepEqual(get(spec, "pathPrefixes"), paths);
  const service = find(resources, "kubernetes:core/v1:Service", "c1-m1");
  const port = (get(service.inputs, "spec", "ports") as { port: number }[])[0].port;
  assert.deepEqual(get(spec, "scaleTargetRef"), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: get(find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs, "metadata", "name"),
    service: get(service.inputs, "metadata", "name"),
    port,
  });
  assert.equal(get(spec, "timeouts", "conditionWait"), "420s");
  // The gateway must not give up before the interceptor: its timeout covers the hold plus the generation.
  const gatewaySeconds = gatewayDurationSeconds(String(get(rule(), "timeouts", "request")));
  const interceptorSeconds = 420 + gatewayDurationSeconds(String(get(spec, "timeouts", "responseHeader")));
  assert.ok(gatewaySeconds >= interceptorSeconds, `gateway ${gatewaySeconds}s < interceptor ${interceptorSeconds}s`);
  assert.equal(get(held().inputs, "metadata", "annotations", SKIP_SCALED_OBJECT), "true");
});

test("one ScaledObject scales the Deployment: the interceptor's trigger for 0 -> 1, queue depth for 1 -> N", () => {
  const so = find(resources, "kubernetes:keda.sh/v1alpha1:ScaledObject", "c1-m1-scaler");
  assert.equal(get(so.inputs, "spec", "minReplicaCount"), 0);
  const triggers = get(so.inputs, "spec", "triggers") as Record<string, unknown>[];
  assert.deepEqual(
    triggers.map((t) => t.type),
    ["prometheus", "prometheus", "external-push"],
  );
  const push = triggers[2];
  assert.equal(get(push, "metadata", "httpScaledObject"), get(held().inputs, "metadata", "name"));
  assert.equal(get(push, "metadata", "scalerAddress"), `${EXTERNAL_SCALER.service}.keda:${EXTERNAL_SCALER.port}`);
  // The add-on creates no ScaledObject of its own (KEDA allows one per Deployment).
  assert.equal(get(held().inputs, "metadata", "name"), get(so.inputs, "metadata", "name"));
});

test("policies let the gateway reach the interceptor, the interceptor reach the model, and the scaler the interceptor", () => {
  const toInterceptor = find(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-keda-http-interceptor-ingress");
  assert.deepEqual(get(toInterceptor.inputs, "spec", "podSelector", "matchLabels"), INTERCEPTOR_POD_LABELS);
  const [fromGateway, fromScaler] = get(toInterceptor.inputs, "spec", "ingress") as Record<string, unknown>[];
  assert.deepEqual(get(fromGateway, "from"), [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": GATEWAY.namespace } },
      podSelector: { matchLabels: GATEWAY.podLabels },
    },
  ]);
  const [backend] = get(rule(), "backendRefs") as { port: number }[];
  assert.deepEqual(get(fromGateway, "ports"), [{ protocol: "TCP", port: backend.port }]);
  assert.deepEqual(get(fromScaler, "from"), [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keda" } },
      podSelector: { matchLabels: SCALER_POD_LABELS },
    },
  ]);

  const toModel = find(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-m1-from-interceptor");
  const podLabels = get(
    find(resources, "kubernetes:apps/v1:Deployment", "c1-m1").inputs,
    "spec",
    "template",
    "metadata",
    "labels",
  );
  for (const [k, v] of Object.entries(get(toModel.inputs, "spec", "podSelector", "matchLabels") as Record<string, string>))
    assert.equal((podLabels as Record<string, string>)[k], v, `runtime pod label ${k}`);
  const [ingress] = get(toModel.inputs, "spec", "ingress") as Record<string, unknown>[];
  assert.deepEqual(get(ingress, "from"), [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keda" } },
      podSelector: { matchLabels: INTERCEPTOR_POD_LABELS },
    },
  ]);
  const [port] = get(ingress, "ports") as { port: number }[];
  assert.equal(port.port, get(held().inputs, "spec", "scaleTargetRef", "port"));
});

test("the names, ports and pod labels are those the pinned chart creates (fixture at its release commit)", () => {
  const chart = loadFixture("keda-add-ons-http");
  const values = chart.values as Record<string, Record<string, unknown>>;
  assert.equal(get(values.interceptor, "proxy", "port"), INTERCEPTOR.port);
  assert.equal(get(values.interceptor, "admin", "port"), INTERCEPTOR.adminPort);
  assert.equal(`${chart.chart}-${String(get(values.interceptor, "proxy", "service"))}`, INTERCEPTOR.service);
  assert.equal(values.scaler.grpcPort, EXTERNAL_SCALER.port);
  assert.equal(`${chart.chart}-${String(values.scaler.service)}`, EXTERNAL_SCALER.service);
  for (const read of ["interceptor.responseHeaderTimeout", "podSecurityContext", "securityContext"])
    assert.ok(
      chart.templateReads.some((r) => r === read || r.startsWith(`${read}.`)),
      `the chart's templates read ${read}`,
    );
});

test("the add-on's pods meet the restricted Pod Security Standard of the keda namespace", () => {
  const v = httpAddOnValues({ highAvailability: true, responseHeaderSeconds: 600 });
  assert.equal(get(v, "podSecurityContext", "runAsNonRoot"), true);
  assert.equal(get(v, "podSecurityContext", "seccompProfile", "type"), "RuntimeDefault");
  assert.equal(get(v, "securityContext", "allowPrivilegeEscalation"), false);
  assert.deepEqual(get(v, "securityContext", "capabilities", "drop"), ["ALL"]);
  assert.equal(get(v, "interceptor", "responseHeaderTimeout"), "600s");
});

test("with TLS the gateway reaches only the interceptor's TLS port and verifies its certificate there", () => {
  const r = (type: string, name: string) => find(tlsResources, type, name);
  const routed = get(r("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "c1-m1-route").inputs, "spec", "rules") as unknown[];
  const refs = routed.flatMap((x) => get(x, "backendRefs") as unknown[]);
  assert.ok(refs.length > 0);
  for (const ref of refs) assert.deepEqual(ref, { name: INTERCEPTOR.service, port: INTERCEPTOR.tlsPort, namespace: "keda" });
  const netpol = r("kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-keda-http-interceptor-ingress");
  const [fromGateway] = get(netpol.inputs, "spec", "ingress") as Record<string, unknown>[];
  // The plain proxy port keeps listening in the pod: nothing may reach it.
  assert.deepEqual(get(fromGateway, "ports"), [{ protocol: "TCP", port: INTERCEPTOR.tlsPort }]);
  const policy = r("kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy", "c1-keda-http-interceptor-backend-tls");
  assert.equal(get(policy.inputs, "metadata", "namespace"), "keda");
  assert.deepEqual(get(policy.inputs, "spec"), {
    targetRefs: [{ group: "", kind: "Service", name: INTERCEPTOR.service }],
    validation: {
      caCertificateRefs: [{ group: "", kind: "Secret", name: INTERCEPTOR_TLS_SECRET }],
      hostname: `${INTERCEPTOR.service}.keda.svc`,
    },
  });
  assert.ok(interceptorDnsNames("keda").includes(String(get(policy.inputs, "spec", "validation", "hostname"))));
  // The runtime is verified by the gateway too when it is not held; the interceptor reaches it on its own port.
  const toModel = r("kubernetes:networking.k8s.io/v1:NetworkPolicy", "c1-m1-from-interceptor");
  assert.deepEqual(get(toModel.inputs, "spec", "ingress", "0", "ports"), [{ protocol: "TCP", port: 8080 }]);
  assert.equal(tlsResources.filter((x) => x.name === "c1-keda-http-interceptor-backend-tls").length, 1);
  assert.equal(resources.filter((x) => x.type.endsWith(":BackendTLSPolicy")).length, 0);
});

test("with TLS the interceptor serves its certificate and trusts the internal root for its upstreams", () => {
  const values = get(find(tlsResources, "kubernetes:helm.sh/v3:Release", "c1-keda-http-http-add-on").inputs, "values");
  assert.deepEqual(get(values, "interceptor", "tls"), {
    enabled: true,
    certSecret: INTERCEPTOR_TLS_SECRET,
    certPath: "/certs/tls.crt",
    keyPath: "/certs/tls.key",
    port: INTERCEPTOR.tlsPort,
    skipVerify: false,
  });
  // Go reads SSL_CERT_FILE as its system roots: the ca.crt cert-manager's CA issuer writes beside tls.crt.
  assert.deepEqual(get(values, "interceptor", "extraEnvs"), { SSL_CERT_FILE: "/certs/ca.crt" });
  assert.equal(get(httpAddOnValues({ highAvailability: false, responseHeaderSeconds: 600 }), "interceptor", "tls"), undefined);
});

test("the TLS values are those the pinned chart reads: port, cert paths under its /certs mount, extraEnvs as a map", () => {
  const chart = loadFixture("keda-add-ons-http");
  const values = chart.values as Record<string, Record<string, unknown>>;
  assert.equal(get(values.interceptor, "tls", "port"), INTERCEPTOR.tlsPort);
  assert.equal(get(values.interceptor, "tls", "certPath"), "/certs/tls.crt");
  assert.equal(get(values.interceptor, "tls", "keyPath"), "/certs/tls.key");
  assert.deepEqual(get(values.interceptor, "extraEnvs"), {});
  for (const read of ["interceptor.tls.enabled", "interceptor.tls.certSecret", "interceptor.tls.port", "interceptor.extraEnvs"])
    assert.ok(
      chart.templateReads.some((x) => x === read || x.startsWith(`${read}.`)),
      `the chart's templates read ${read}`,
    );
});

// The schema guard checks these objects here too (dev plans the TLS pair): the HTTPScaledObject against the
// add-on's v0.15.0 CRD, the rest against kubernetes-models.
test("every Kubernetes object of the add-on and a held model validates against its schema, with and without TLS", async () => {
  for (const planned of [resources, tlsResources]) {
    // Secrets are left out: under mocks their data is a Pulumi secret object, which plans mask as a string.
    const problems = await validatePlan(planned.filter((r) => r.type !== "kubernetes:core/v1:Secret"));
    assert.deepEqual(
      problems.map((p) => `${p.resource} ${p.message}`),
      [],
    );
  }
});

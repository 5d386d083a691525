import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { test } from "node:test";
import { CHARTS } from "../../../../components/charts";
import {
  CLUSTER_ISSUER,
  INTERNAL_CA,
  INTERNAL_CA_TRUST,
  Tls,
  validateIssuer,
  type IssuerSettings,
} from "../../../../components/security/tls";
import { capture, find, get, gpuCluster, ofType } from "../../helpers";

const gateway = { name: "llm", namespace: "envoy-gateway-system", httpListener: "http" };
const ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer";

async function tls(issuer: IssuerSettings, ha = true) {
  return (
    await capture(() => {
      const t = new Tls("t", { cluster: gpuCluster(), namespace: "cert-manager", issuer, gateway, highAvailability: ha });
      t.certificate("t-cert", {
        namespace: "envoy-gateway-system",
        secretName: "gw-tls",
        dnsNames: ["a.example.com", "grafana.example.com"],
      });
    })
  ).resources;
}

test("installs the pinned cert-manager chart with its CRDs, Gateway API support and HA", async () => {
  const r = find(await tls({ kind: "selfsigned" }), "kubernetes:helm.sh/v3:Release", "t-cert-manager");
  assert.equal(r.inputs.chart, "cert-manager");
  assert.equal(r.inputs.version, CHARTS.certManager.version);
  assert.equal(get(r.inputs, "repositoryOpts", "repo"), "https://charts.jetstack.io");
  assert.equal(get(r.inputs, "values", "crds", "enabled"), true);
  assert.equal(get(r.inputs, "values", "config", "enableGatewayAPI"), true);
  assert.equal(get(r.inputs, "values", "replicaCount"), 2);
  assert.equal(get(r.inputs, "values", "podDisruptionBudget", "enabled"), true);
  assert.equal(get(r.inputs, "values", "webhook", "replicaCount"), 2);
  assert.ok(get(r.inputs, "values", "resources", "limits", "memory"));
});

test("selfsigned: a bootstrap issuer signs a CA, and the platform issuer signs with that CA", async () => {
  const resources = await tls({ kind: "selfsigned" }, false);
  const issuer = find(resources, ISSUER, "t-issuer");
  assert.equal(get(issuer.inputs, "metadata", "name"), CLUSTER_ISSUER);
  const caSecret = get(issuer.inputs, "spec", "ca", "secretName");
  const ca = find(resources, "kubernetes:cert-manager.io/v1:Certificate", "t-local-ca");
  assert.equal(get(ca.inputs, "spec", "isCA"), true);
  assert.equal(get(ca.inputs, "spec", "secretName"), caSecret);
  assert.deepEqual(get(find(resources, ISSUER, "t-selfsigned-bootstrap").inputs, "spec"), { selfSigned: {} });
});

test("acme http01 answers challenges through the gateway's HTTP listener", async () => {
  const resources = await tls({ kind: "acme", email: "ops@example.com", server: "https://acme.example/dir", solver: "http01" });
  const acme = get(find(resources, ISSUER, "t-issuer").inputs, "spec", "acme");
  assert.equal(get(acme, "email"), "ops@example.com");
  assert.equal(get(acme, "server"), "https://acme.example/dir");
  const solver = (get(acme, "solvers") as unknown[])[0];
  assert.deepEqual(get(solver, "http01", "gatewayHTTPRoute", "parentRefs"), [
    { name: "llm", namespace: "envoy-gateway-system", kind: "Gateway", sectionName: "http" },
  ]);
  assert.equal(ofType(resources, "kubernetes:cert-manager.io/v1:Certificate").length, 1, "no local CA outside selfsigned");
});

test("acme dns01 uses the configured DNS provider with ambient credentials", async () => {
  const resources = await tls({
    kind: "acme",
    email: "ops@example.com",
    server: "https://acme.example/dir",
    solver: "dns01",
    dns01: { provider: "route53", region: "us-east-1" },
  });
  const solver = (get(find(resources, ISSUER, "t-issuer").inputs, "spec", "acme", "solvers") as unknown[])[0];
  assert.equal(get(solver, "dns01", "route53", "region"), "us-east-1");
  assert.equal(get(solver, "dns01", "route53", "accessKeyID"), undefined);
});

test("acme dns01 without a provider is rejected up front", () => {
  assert.match(
    validateIssuer({ kind: "acme", email: "ops@example.com", server: "https://acme.example/dir", solver: "dns01" }).join(),
    /tls.issuer.dns01 is required when tls.issuer.solver is 'dns01'/,
  );
  assert.deepEqual(validateIssuer({ kind: "selfsigned" }), []);
});

test("ca: the issuer signs with the on-prem CA secret", async () => {
  const issuer = find(await tls({ kind: "ca", secretName: "corp-ca" }), ISSUER, "t-issuer");
  assert.deepEqual(get(issuer.inputs, "spec"), { ca: { secretName: "corp-ca" } });
});

test("the gateway certificate covers the service host names and rotates its key", async () => {
  const cert = find(await tls({ kind: "ca", secretName: "corp-ca" }), "kubernetes:cert-manager.io/v1:Certificate", "t-cert");
  assert.deepEqual(get(cert.inputs, "spec", "dnsNames"), ["a.example.com", "grafana.example.com"]);
  assert.equal(get(cert.inputs, "spec", "secretName"), "gw-tls");
  assert.equal(get(cert.inputs, "metadata", "namespace"), "envoy-gateway-system");
  assert.deepEqual(get(cert.inputs, "spec", "issuerRef"), {
    name: CLUSTER_ISSUER,
    kind: "ClusterIssuer",
    group: "cert-manager.io",
  });
  assert.equal(get(cert.inputs, "spec", "privateKey", "rotationPolicy"), "Always");
});

const certManagerIdentity = {
  namespace: "cert-manager",
  serviceAccount: "cert-manager",
  serviceAccountAnnotations: { "example.com/role": "dns" },
  podLabels: { "example.com/identity": "true" },
};

test("cert-manager runs under the service account the cluster bound a DNS identity to, and uses the cluster's zone", async () => {
  const { resources } = await capture(() => {
    const cluster = gpuCluster({
      identities: { certManager: certManagerIdentity },
      dns01: { route53: { region: "us-east-1", hostedZoneID: pulumi.output("Z123CLUSTER") } },
    });
    new Tls("t", {
      cluster,
      namespace: "cert-manager",
      issuer: {
        kind: "acme",
        email: "ops@example.com",
        server: "https://a/d",
        solver: "dns01",
        dns01: { provider: "route53", region: "us-east-1" },
      },
      gateway,
      highAvailability: true,
    });
  });
  const values = get(find(resources, "kubernetes:helm.sh/v3:Release", "t-cert-manager").inputs, "values");
  assert.deepEqual(get(values, "serviceAccount"), {
    create: true,
    name: "cert-manager",
    annotations: { "example.com/role": "dns" },
  });
  assert.deepEqual(get(values, "podLabels"), { "example.com/identity": "true" });
  const solver = (get(find(resources, ISSUER, "t-issuer").inputs, "spec", "acme", "solvers") as unknown[])[0];
  assert.equal(get(solver, "dns01", "route53", "hostedZoneID"), "Z123CLUSTER");
});

test("Azure DNS takes cert-manager's client id from the cluster, or from config where the cluster made none", async () => {
  const azureDns = {
    provider: "azureDns",
    subscriptionId: "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7",
    resourceGroupName: "rg-dns",
    hostedZoneName: "llm.example.com",
  } as const;
  const issuer = { kind: "acme", email: "ops@example.com", server: "https://a/d", solver: "dns01", dns01: azureDns } as const;
  const { resources } = await capture(() => {
    const cluster = gpuCluster({
      identities: { certManager: certManagerIdentity },
      dns01: { azureDns: { managedIdentityClientId: pulumi.output("cluster-made-client-id") } },
    });
    new Tls("t", { cluster, namespace: "cert-manager", issuer, gateway, highAvailability: false });
  });
  const solver = (get(find(resources, ISSUER, "t-issuer").inputs, "spec", "acme", "solvers") as unknown[])[0];
  assert.equal(get(solver, "dns01", "azureDNS", "managedIdentity", "clientID"), "cluster-made-client-id");
  assert.match(validateIssuer(issuer).join(), /tls.issuer.dns01.managedIdentityClientId is required/);
  assert.deepEqual(
    validateIssuer({ ...issuer, dns01: { ...azureDns, managedIdentityClientId: "0b5d4c3a-2e1f-4a09-9b8c-7d6e5f4a3b2c" } }),
    [],
  );
});

test("rejects a cert-manager identity bound in another namespace", () => {
  assert.match(
    validateIssuer(
      { kind: "selfsigned" },
      { identities: { certManager: { ...certManagerIdentity, namespace: "other" } } },
      "cert-manager",
    ).join(),
    /bound in namespace 'other', but cert-manager runs in 'cert-manager'/,
  );
});

test("internal CA: a self-signed root in cert-manager's namespace signs a CA ClusterIssuer; leaves and trust anchors come from it", async () => {
  const { resources } = await capture(() => {
    const t = new Tls("t", {
      cluster: gpuCluster(),
      namespace: "cert-manager",
      issuer: { kind: "ca", secretName: "corp-ca" },
      gateway,
      highAvailability: false,
    });
    const ca = t.internalCa("t-internal");
    t.certificate("t-m1", { namespace: "llm-serving", secretName: "m1-tls", dnsNames: ["m1.llm-serving.svc"], issuer: ca });
    assert.equal(t.trustIn("t-trust", ca, "keda").caSecret, INTERNAL_CA_TRUST);
  });
  const CERT = "kubernetes:cert-manager.io/v1:Certificate";
  const bootstrap = find(resources, ISSUER, "t-internal-bootstrap");
  assert.deepEqual(get(bootstrap.inputs, "spec"), { selfSigned: {} });
  const root = find(resources, CERT, "t-internal-root");
  assert.equal(get(root.inputs, "spec", "isCA"), true);
  assert.equal(get(root.inputs, "spec", "secretName"), INTERNAL_CA);
  // A CA ClusterIssuer reads its key from cert-manager's cluster resource namespace (the chart's own namespace).
  assert.equal(get(root.inputs, "metadata", "namespace"), "cert-manager");
  // Renewal keeps the key, so leaves signed before a renewal still verify against the new ca.crt.
  assert.equal(get(root.inputs, "spec", "privateKey", "rotationPolicy"), "Never");
  assert.deepEqual(get(root.inputs, "spec", "issuerRef"), {
    name: get(bootstrap.inputs, "metadata", "name"),
    kind: "ClusterIssuer",
    group: "cert-manager.io",
  });
  const issuer = find(resources, ISSUER, "t-internal-issuer");
  assert.deepEqual(get(issuer.inputs, "spec"), { ca: { secretName: INTERNAL_CA } });
  assert.equal(get(issuer.inputs, "metadata", "namespace"), undefined);
  const leaf = find(resources, CERT, "t-m1");
  assert.deepEqual(get(leaf.inputs, "spec", "issuerRef"), { name: INTERNAL_CA, kind: "ClusterIssuer", group: "cert-manager.io" });
  assert.equal(get(leaf.inputs, "spec", "privateKey", "rotationPolicy"), "Always");
  // The trust anchor: a leaf of the same CA in the client's namespace, whose ca.crt is the root; it names nothing servable.
  const trust = find(resources, CERT, "t-trust");
  assert.equal(get(trust.inputs, "metadata", "namespace"), "keda");
  assert.equal(get(trust.inputs, "spec", "secretName"), INTERNAL_CA_TRUST);
  assert.deepEqual(get(trust.inputs, "spec", "issuerRef"), get(leaf.inputs, "spec", "issuerRef"));
  assert.ok((get(trust.inputs, "spec", "dnsNames") as string[]).every((n) => n.endsWith(".invalid")));
  // No namespaced issuer: no workload namespace holds the CA's key.
  assert.equal(resources.filter((r) => r.type === "kubernetes:cert-manager.io/v1:Issuer").length, 0);
});

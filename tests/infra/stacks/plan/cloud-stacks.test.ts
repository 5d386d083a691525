import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parse, stringify } from "yaml";
import type { PlanDocument } from "../../../../stacks/plan/render";
import { get, planCli, planJson, REPO_ROOT } from "../../helpers";

const plans = new Map<string, Promise<PlanDocument>>();
const plan = (stack: string) => {
  if (!plans.has(stack)) plans.set(stack, planJson(stack));
  return plans.get(stack)!;
};
const of = (doc: PlanDocument, type: string) => doc.resources.filter((r) => r.type === type);

// Every stack's policies are checked in stacks/stack-files.test.ts; these pin what the cloud stacks declare.
test("every cloud stack reports a monthly cost estimate with min <= max and the cloud policies in its suite", async () => {
  for (const stack of ["dev", "staging", "prod", "dr"]) {
    const doc = await plan(stack);
    assert.ok(doc.cost.monthlyMin > 0 && doc.cost.monthlyMin <= doc.cost.monthlyMax, stack);
    assert.ok(doc.cost.pricesAsOf, stack);
    assert.ok(
      doc.policies.some((p) => p.name === "iam-no-wildcard-admin" && p.passed),
      stack,
    );
  }
});

test("prod is hybrid: an EKS cluster next to the on-prem one, models replicated to us-west-2", async () => {
  const doc = await plan("prod");
  assert.equal(of(doc, "aws:eks/cluster:Cluster").length, 1);
  assert.ok(doc.resources.some((r) => r.type === "llm:clusters:OnPremCluster"));
  const replica = doc.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && get(r.inputs, "region") === "us-west-2");
  assert.equal(get(replica?.inputs, "bucket"), "llm-platform-prod-models-replica");
  const gpu = of(doc, "aws:eks/nodeGroup:NodeGroup").find((r) => r.name === "prod-useast1-gpu-l40s");
  assert.deepEqual(get(gpu?.inputs, "scalingConfig"), { minSize: 2, maxSize: 8, desiredSize: 2 });
  assert.deepEqual(get(gpu?.inputs, "instanceTypes"), ["g6e.2xlarge", "g6e.4xlarge"]);
});

test("prod's on-prem cluster takes certificates from the corporate CA, the cloud one from ACME in Route 53", async () => {
  const doc = await plan("prod");
  const issuers = of(doc, "kubernetes:cert-manager.io/v1:ClusterIssuer");
  assert.deepEqual(get(issuers.find((r) => r.name === "dc1-tls-issuer")?.inputs, "spec", "ca"), {
    secretName: "corp-intermediate-ca",
  });
  const cloud = issuers.find((r) => r.name === "prod-useast1-tls-issuer");
  assert.ok(get(cloud?.inputs, "spec", "acme", "solvers"), "ACME solvers on the cloud cluster");
});

test("dr creates nothing in us-east-1 and no bucket of its own", async () => {
  const doc = await plan("dr");
  const regions = doc.resources.map((r) => get(r.inputs, "region")).filter((x) => x !== undefined);
  assert.ok(regions.length > 0);
  assert.deepEqual([...new Set(regions)], ["us-west-2"]);
  assert.equal(of(doc, "aws:s3/bucket:Bucket").length, 0);
});

test("dev runs one NAT gateway across two zones; staging is AKS with a GPU pool from config", async () => {
  assert.equal(of(await plan("dev"), "aws:ec2/natGateway:NatGateway").length, 1);
  const pool = of(await plan("staging"), "azure-native:containerservice:AgentPool")[0];
  assert.equal(get(pool.inputs, "vmSize"), "Standard_NC24ads_A100_v4");
});

test("staging with ACME DNS-01 in Azure DNS: cert-manager runs as the identity the AKS cluster federated and scoped to the zone", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "plan-azure-dns-")), "Pulumi.staging.yaml");
  const doc = parse(readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.staging.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const tls = doc.config["llm-platform:tls"] as { issuer: Record<string, unknown> };
  tls.issuer.solver = "dns01";
  tls.issuer.dns01 = {
    provider: "azureDns",
    subscriptionId: "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7",
    resourceGroupName: "rg-dns",
    hostedZoneName: "llm.example.com",
  };
  writeFileSync(file, stringify(doc));
  const r = await planCli(["staging", "--config-file", file, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const planned = JSON.parse(r.stdout) as PlanDocument;
  const clientId = "stg-weu-cert-manager-client-id"; // the mock's client id of the stg-weu-cert-manager identity
  const release = planned.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.name.endsWith("cert-manager"));
  assert.equal(get(release?.inputs, "values", "serviceAccount", "annotations", "azure.workload.identity/client-id"), clientId);
  assert.equal(get(release?.inputs, "values", "podLabels", "azure.workload.identity/use"), "true");
  const issuer = of(planned, "kubernetes:cert-manager.io/v1:ClusterIssuer").find((x) => get(x.inputs, "spec", "acme"));
  const solver = (get(issuer?.inputs, "spec", "acme", "solvers") as unknown[])[0];
  assert.equal(get(solver, "dns01", "azureDNS", "managedIdentity", "clientID"), clientId);
  assert.equal(get(solver, "dns01", "azureDNS", "hostedZoneName"), "llm.example.com");
  const zoneGrant = of(planned, "azure-native:authorization:RoleAssignment").find((x) => x.name === "stg-weu-cert-manager-dns");
  assert.match(
    String(get(zoneGrant?.inputs, "scope")),
    /\/resourceGroups\/rg-dns\/providers\/Microsoft\.Network\/dnsZones\/llm\.example\.com$/,
  );
  assert.deepEqual(
    planned.policies.filter((p) => !p.passed),
    [],
  );
});

test("prod and dr page the on-call through PagerDuty, the routing key in a Secret and never in the chart values", async () => {
  for (const stack of ["prod", "dr"]) {
    const doc = await plan(stack);
    const secrets = of(doc, "kubernetes:core/v1:Secret").filter((r) => get(r.inputs, "metadata", "name") === "alert-receiver");
    assert.ok(secrets.length > 0, stack);
    for (const s of secrets) assert.equal(get(s.inputs, "stringData"), "[secret]", stack);
    const kps = doc.resources.filter(
      (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name.endsWith("kube-prometheus-stack"),
    );
    assert.equal(kps.length, secrets.length, stack);
    for (const r of kps) {
      const receivers = get(r.inputs, "values", "alertmanager", "config", "receivers") as unknown[];
      assert.equal(
        get(receivers[1], "pagerduty_configs", "0", "routing_key_file"),
        "/etc/alertmanager/secrets/alert-receiver/credential",
      );
    }
  }
});

test("prod creates EC2 Auto Scaling's service-linked role before its key; dr, in prod's account, uses that one", async () => {
  const slr = (doc: PlanDocument) => of(doc, "aws:iam/serviceLinkedRole:ServiceLinkedRole");
  assert.deepEqual(
    slr(await plan("prod")).map((r) => get(r.inputs, "awsServiceName")),
    ["autoscaling.amazonaws.com"],
  );
  assert.equal(slr(await plan("dr")).length, 0, "dr must not create a second one (IAM is global)");
  assert.equal(slr(await plan("dev")).length, 1);
});

test("every AKS role assignment states the deployer's principal type from clusters[].deployerPrincipalType", async () => {
  const assignments = of(await plan("staging"), "azure-native:authorization:RoleAssignment");
  assert.ok(assignments.length > 0);
  for (const a of assignments) assert.equal(get(a.inputs, "principalType"), "ServicePrincipal", a.name);
});

test("dev holds its model from zero over verified TLS on both hops (gateway -> interceptor -> runtime)", async () => {
  const doc = await plan("dev");
  const held = of(doc, "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject");
  assert.equal(held.length, 1);
  const release = doc.resources.find(
    (r) => r.type === "kubernetes:helm.sh/v3:Release" && get(r.inputs, "chart") === "keda-add-ons-http",
  );
  assert.equal(get(release?.inputs, "values", "interceptor", "tls", "enabled"), true);
  assert.equal(get(release?.inputs, "values", "interceptor", "tls", "skipVerify"), false);
  assert.equal(get(release?.inputs, "values", "interceptor", "extraEnvs", "SSL_CERT_FILE"), "/certs/ca.crt");
  const certSecret = get(release?.inputs, "values", "interceptor", "tls", "certSecret");
  const cert = of(doc, "kubernetes:cert-manager.io/v1:Certificate").find(
    (c) => get(c.inputs, "spec", "secretName") === certSecret,
  );
  assert.equal(get(cert?.inputs, "metadata", "namespace"), "keda");
  assert.deepEqual(get(cert?.inputs, "spec", "issuerRef"), {
    name: "llm-internal-ca",
    kind: "ClusterIssuer",
    group: "cert-manager.io",
  });
  const policy = of(doc, "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy").find(
    (p) => get(p.inputs, "metadata", "namespace") === "keda",
  );
  assert.equal(get(policy?.inputs, "spec", "validation", "hostname"), "keda-add-ons-http-interceptor-proxy.keda.svc");
  const routes = of(doc, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").filter((r) =>
    (get(r.inputs, "spec", "rules") as unknown[]).some((x) =>
      ((get(x, "backendRefs") as unknown[] | undefined) ?? []).some((b) => get(b, "namespace") === "keda"),
    ),
  );
  assert.ok(routes.length > 0);
  for (const r of routes)
    for (const rule of get(r.inputs, "spec", "rules") as unknown[])
      for (const b of (get(rule, "backendRefs") as unknown[] | undefined) ?? []) assert.equal(get(b, "port"), 8443, r.name);
});

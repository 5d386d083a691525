/**
 * DNS failover in the plans (issue 12 item 7): prod's EKS cluster first, prod's on-prem cluster second, the
 * dr stack's cluster third; Route 53 health checks per cluster and host, external-dns's annotations on the
 * routes of the clusters that publish their own records, and nothing public on a health host but one path.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PlanDocument } from "../../../../stacks/plan/render";
import { get, planJson } from "../../helpers";

const plans = new Map<string, Promise<PlanDocument>>();
const plan = (stack: string) => {
  if (!plans.has(stack)) plans.set(stack, planJson(stack));
  return plans.get(stack)!;
};
const of = (doc: PlanDocument, type: string) => doc.resources.filter((r) => r.type === type);
const named = (doc: PlanDocument, type: string, name: string) => {
  const r = of(doc, type).find((x) => x.name === name);
  assert.ok(r, `${type} ${name} in ${doc.stack}`);
  return r;
};
const HC = "aws:route53/healthCheck:HealthCheck";
const RECORD = "aws:route53/record:Record";
const ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const MODEL = "llama-31-8b-instruct";
const ZONE = "Z0123456789ABCDEFGHIJ";
const annotations = (doc: PlanDocument, name: string) =>
  (get(named(doc, ROUTE, name).inputs, "metadata", "annotations") ?? {}) as Record<string, string>;

test("prod: one HTTPS health check per cluster and host, 10 s x 3, on the cluster's health host", async () => {
  const doc = await plan("prod");
  const checks = of(doc, HC);
  assert.deepEqual(checks.map((c) => c.name).sort(), [
    "llm-dns-dc1-grafana",
    `llm-dns-dc1-${MODEL}`,
    "llm-dns-prod-useast1-grafana",
    `llm-dns-prod-useast1-${MODEL}`,
  ]);
  const eks = named(doc, HC, `llm-dns-prod-useast1-${MODEL}`).inputs;
  assert.deepEqual(
    { ...(eks as object), tags: undefined },
    {
      type: "HTTPS",
      fqdn: `${MODEL}--prod-useast1.llm.example.com`,
      port: 443,
      resourcePath: "/readyz",
      enableSni: true,
      requestInterval: 10,
      failureThreshold: 3,
      tags: undefined,
    },
  );
  // On-prem: Route 53's checkers reach the configured public address, asking for the health host by name.
  const onprem = named(doc, HC, "llm-dns-dc1-grafana").inputs;
  assert.equal(get(onprem, "ipAddress"), "198.51.100.10");
  assert.equal(get(onprem, "fqdn"), "grafana--dc1.llm.example.com");
  assert.equal(get(onprem, "resourcePath"), "/api/health");
});

test("prod: EKS routes carry external-dns's PRIMARY failover annotations with their own health check", async () => {
  const doc = await plan("prod");
  assert.deepEqual(annotations(doc, `prod-useast1-${MODEL}-route`), {
    "external-dns.alpha.kubernetes.io/set-identifier": "prod-useast1",
    "external-dns.alpha.kubernetes.io/aws-failover": "PRIMARY",
    "external-dns.alpha.kubernetes.io/aws-health-check-id": `llm-dns-prod-useast1-${MODEL}-id`,
  });
  assert.equal(
    annotations(doc, "prod-useast1-grafana-route")["external-dns.alpha.kubernetes.io/aws-health-check-id"],
    "llm-dns-prod-useast1-grafana-id",
  );
  // The on-prem cluster has no external-dns: its routes carry nothing for it.
  assert.deepEqual(annotations(doc, `dc1-${MODEL}-route`), {});
  const releases = of(doc, RELEASE).filter((r) => get(r.inputs, "chart") === "external-dns");
  assert.deepEqual(
    releases.map((r) => r.name),
    ["prod-useast1-external-dns"],
  );
  const values = get(releases[0].inputs, "values") as Record<string, unknown>;
  assert.deepEqual(values.sources, ["gateway-httproute"]);
  assert.equal(values.txtOwnerId, "prod-useast1");
  assert.deepEqual(values.extraArgs, [`--zone-id-filter=${ZONE}`, "--aws-zone-type=public"]);
});

test("prod: the on-prem cluster's records and the primary's fallback alias are Pulumi's", async () => {
  const doc = await plan("prod");
  assert.deepEqual(named(doc, RECORD, `llm-dns-dc1-${MODEL}`).inputs, {
    zoneId: ZONE,
    name: `${MODEL}--standby.llm.example.com`,
    type: "A",
    ttl: 60,
    records: ["198.51.100.10"],
    setIdentifier: "dc1",
    failoverRoutingPolicies: [{ type: "PRIMARY" }],
    healthCheckId: `llm-dns-dc1-${MODEL}-id`,
  });
  assert.deepEqual(named(doc, RECORD, `llm-dns-standby-${MODEL}`).inputs, {
    zoneId: ZONE,
    name: `${MODEL}.llm.example.com`,
    type: "A",
    setIdentifier: "standby",
    failoverRoutingPolicies: [{ type: "SECONDARY" }],
    aliases: [{ name: `${MODEL}--standby.llm.example.com`, zoneId: ZONE, evaluateTargetHealth: true }],
  });
});

test("dr: its EKS cluster publishes the standby name's SECONDARY record (third in the chain) and writes no record itself", async () => {
  const doc = await plan("dr");
  assert.deepEqual(annotations(doc, `dr-uswest2-${MODEL}-route`), {
    "external-dns.alpha.kubernetes.io/set-identifier": "dr-uswest2",
    "external-dns.alpha.kubernetes.io/aws-failover": "SECONDARY",
    "external-dns.alpha.kubernetes.io/aws-health-check-id": `llm-dns-dr-uswest2-${MODEL}-id`,
    "external-dns.alpha.kubernetes.io/gateway-hostname-source": "annotation-only",
    "external-dns.alpha.kubernetes.io/hostname": `${MODEL}--standby.llm.example.com`,
  });
  assert.deepEqual(of(doc, RECORD), []);
  assert.equal(of(doc, HC).length, 2);
  assert.equal(
    get(named(doc, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "dr-uswest2-external-dns").inputs, "serviceAccount"),
    "external-dns",
  );
});

test("health hosts route exactly one unauthenticated path (GET, exact match); every other route keeps its prefixes", async () => {
  for (const stack of ["prod", "dr"]) {
    const doc = await plan(stack);
    const hosts = (r: { inputs: unknown }) => (get(r.inputs, "spec", "hostnames") ?? []) as string[];
    const health = of(doc, ROUTE).filter((r) => hosts(r).some((h) => h.includes("--")));
    assert.ok(health.length >= 2, stack);
    for (const r of health) {
      const rules = get(r.inputs, "spec", "rules") as { matches: unknown[] }[];
      assert.equal(rules.length, 1, r.name);
      assert.equal(rules[0].matches.length, 1, r.name);
      const m = rules[0].matches[0];
      assert.equal(get(m, "path", "type"), "Exact", r.name);
      assert.equal(get(m, "method"), "GET", r.name);
      assert.ok(["/readyz", "/api/health"].includes(String(get(m, "path", "value"))), r.name);
    }
    // The gateway certificate covers the health hosts (the HTTPS listener serves them).
    for (const r of health) {
      const host = (get(r.inputs, "spec", "hostnames") as string[])[0];
      const cluster = host.slice(host.indexOf("--") + 2, host.indexOf("."));
      const cert = named(doc, "kubernetes:cert-manager.io/v1:Certificate", `${cluster}-gateway-cert`);
      assert.ok((get(cert.inputs, "spec", "dnsNames") as string[]).includes(host), `${r.name}: ${host} not in the certificate`);
    }
  }
});

test("stacks without dns get no records, health checks or external-dns", async () => {
  for (const stack of ["dev", "staging", "onprem"]) {
    const doc = await plan(stack);
    assert.deepEqual([...of(doc, HC), ...of(doc, RECORD)], [], stack);
    assert.ok(!of(doc, RELEASE).some((r) => get(r.inputs, "chart") === "external-dns"), stack);
  }
});

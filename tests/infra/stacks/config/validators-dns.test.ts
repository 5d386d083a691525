import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIssue } from "../../../../stacks/config/issues";
import type { Settings } from "../../../../stacks/config/schema";
import { validateDnsFailover } from "../../../../stacks/config/validators";
import { settingsOf } from "./fixtures";

const messages = (s: Settings) => validateDnsFailover(s).map(formatIssue);
type Failover = { role: "primary" | "secondary" | "tertiary" | "none"; publicAddress?: string };
const setFailover = (s: Settings, name: string, f: Failover | undefined) => {
  const c = s.clusters.find((x) => x.name === name) as { failover?: Failover };
  c.failover = f;
};

test("prod and dr pass; stacks without dns have nothing to check", () => {
  for (const stack of ["prod", "dr", "dev", "staging", "onprem", "local"])
    assert.deepEqual(messages(settingsOf(stack)), [], stack);
});

test("with dns every cluster states its role", () => {
  const s = settingsOf("prod");
  setFailover(s, "dc1", undefined);
  assert.match(messages(s).join("\n"), /^clusters\[1\]\.failover: is required with dns: give the cluster's role/m);
});

test("a role without dns, and dns on an AKS stack, are refused naming the key", () => {
  const prod = settingsOf("prod");
  prod.dns = undefined;
  assert.match(messages(prod)[0], /^clusters\[0\]\.failover: needs dns/);
  const staging = settingsOf("staging");
  staging.dns = {
    provider: "route53",
    hostedZoneId: "Z1",
    ttlSeconds: 60,
    healthCheck: { intervalSeconds: 10, failureThreshold: 3 },
  };
  assert.match(
    messages(staging)[0],
    /^dns: DNS failover is built for eks and onprem clusters .* is aks \(AKS stacks stay single-cluster\)/,
  );
});

test("an on-prem cluster in the chain needs its public address; an EKS cluster must not have one", () => {
  const s = settingsOf("prod");
  setFailover(s, "dc1", { role: "secondary" });
  setFailover(s, "prod-useast1", { role: "primary", publicAddress: "198.51.100.1" });
  const m = messages(s).join("\n");
  assert.match(m, /clusters\[1\]\.failover\.publicAddress: is required for role secondary/);
  assert.match(m, /clusters\[0\]\.failover\.publicAddress: is for on-prem clusters/);
});

test("roles are unique, and a primary needs a secondary in the same stack", () => {
  const s = settingsOf("prod");
  setFailover(s, "dc1", { role: "primary", publicAddress: "198.51.100.10" });
  const m = messages(s).join("\n");
  assert.match(m, /clusters\[1\]\.failover\.role: only one cluster can be primary \(also 'prod-useast1'\)/);
  assert.match(m, /clusters\[0\]\.failover\.role: primary needs a secondary cluster in the same stack/);
});

test("an internal EKS load balancer cannot be health-checked", () => {
  const s = settingsOf("prod");
  s.clusters[0].loadBalancer.scheme = "internal";
  assert.match(messages(s)[0], /clusters\[0\]\.failover\.role: needs an internet-facing load balancer/);
});

test("a model on the primary but not the secondary has nowhere to fail over to", () => {
  const s = settingsOf("prod");
  s.models[0].clusters = ["prod-useast1"];
  assert.match(messages(s)[0], /^models\[0\]\.clusters: model 'llama-31-8b-instruct' is on the primary cluster/);
});

test("health host labels longer than 63 characters are refused", () => {
  const s = settingsOf("prod");
  s.models[0].name = "a".repeat(40);
  s.clusters[0].name = "b".repeat(30);
  s.models[0].clusters = undefined;
  assert.ok(
    messages(s).some((x) =>
      /clusters\[0\]\.name: makes the health host a{40}--b{30}\..* 72 characters \(DNS allows 63\)/.test(x),
    ),
  );
});

test("a model that scales to zero cannot be in the chain (its health check fails at zero)", () => {
  const s = settingsOf("dr");
  s.models[0].replicas.min = 0;
  assert.match(messages(s)[0], /^models\[0\]\.replicas\.min: must be >= 1 on clusters in the DNS failover chain/);
});

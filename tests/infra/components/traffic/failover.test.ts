import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ELB_ALIAS_TTL_SECONDS,
  failoverAnnotations,
  healthHost,
  recordSlot,
  standbyHost,
  switchSeconds,
} from "../../../../components/traffic/failover";

test("switch time: checks x threshold to detect, then the longer of the record TTL and the 60 s alias TTL", () => {
  assert.deepEqual(switchSeconds({ ttlSeconds: 60, healthCheck: { intervalSeconds: 10, failureThreshold: 3 } }), {
    detectionSeconds: 30,
    ttlSeconds: 60,
    totalSeconds: 90,
  });
  assert.equal(switchSeconds({ ttlSeconds: 300, healthCheck: { intervalSeconds: 30, failureThreshold: 3 } }).totalSeconds, 390);
  // A TTL below 60 s does not help: the load balancer's alias records answer with 60 s anyway.
  assert.equal(switchSeconds({ ttlSeconds: 10, healthCheck: { intervalSeconds: 10, failureThreshold: 1 } }).ttlSeconds, 60);
});

test("switch time grows with every input and is never below detection + the alias TTL", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 10, max: 300 }),
      fc.constantFrom(10 as const, 30 as const),
      fc.integer({ min: 1, max: 10 }),
      (ttl, interval, threshold) => {
        const t = switchSeconds({ ttlSeconds: ttl, healthCheck: { intervalSeconds: interval, failureThreshold: threshold } });
        const more = switchSeconds({
          ttlSeconds: ttl + 1,
          healthCheck: { intervalSeconds: interval, failureThreshold: threshold + 1 },
        });
        return t.totalSeconds >= interval * threshold + ELB_ALIAS_TTL_SECONDS && more.totalSeconds > t.totalSeconds;
      },
    ),
  );
});

test("the chain: primary and secondary are PRIMARY on their names, tertiary the standby name's SECONDARY", () => {
  assert.deepEqual(recordSlot("primary"), { standby: false, failover: "PRIMARY" });
  assert.deepEqual(recordSlot("secondary"), { standby: true, failover: "PRIMARY" });
  assert.deepEqual(recordSlot("tertiary"), { standby: true, failover: "SECONDARY" });
});

test("derived names are one label under the domain (the gateway's *.<domain> listener covers them)", () => {
  assert.equal(healthHost("m1", "eks1", "llm.example.com"), "m1--eks1.llm.example.com");
  assert.equal(standbyHost("grafana", "llm.example.com"), "grafana--standby.llm.example.com");
});

test("annotations use external-dns's names; a standby record publishes the standby name instead of the route's", () => {
  const primary = failoverAnnotations({ cluster: "eks1", role: "primary" }, "m1", "d.example.com", "hc-1");
  assert.deepEqual(primary, {
    "external-dns.alpha.kubernetes.io/set-identifier": "eks1",
    "external-dns.alpha.kubernetes.io/aws-failover": "PRIMARY",
    "external-dns.alpha.kubernetes.io/aws-health-check-id": "hc-1",
  });
  const tertiary = failoverAnnotations({ cluster: "dr1", role: "tertiary" }, "m1", "d.example.com", "hc-2");
  assert.equal(tertiary["external-dns.alpha.kubernetes.io/aws-failover"], "SECONDARY");
  assert.equal(tertiary["external-dns.alpha.kubernetes.io/gateway-hostname-source"], "annotation-only");
  assert.equal(tertiary["external-dns.alpha.kubernetes.io/hostname"], "m1--standby.d.example.com");
});

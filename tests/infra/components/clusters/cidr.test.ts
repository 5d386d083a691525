import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { contains, dnsServiceIp, overlaps, parseCidr, vpcSubnetPlan } from "../../../../components/clusters/cidr";

const vpc = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 20 }))
  .map(([a, b, prefix]) => {
    const base = (((a << 24) >>> 0) + (b << 16)) >>> 0;
    const size = 2 ** (32 - prefix);
    const aligned = base - (base % size);
    return `${[24, 16, 8, 0].map((s) => Math.floor(aligned / 2 ** s) % 256).join(".")}/${prefix}`;
  });

test("VPC subnets are disjoint and inside the VPC, for every valid VPC and zone count", () => {
  fc.assert(
    fc.property(vpc, fc.integer({ min: 1, max: 3 }), (cidr, zones) => {
      const plan = vpcSubnetPlan(cidr, zones);
      const all = [...plan.private, ...plan.public].map((c) => parseCidr(c)!);
      assert.equal(all.length, zones * 2);
      all.forEach((s, i) => {
        assert.ok(contains(parseCidr(cidr)!, s));
        all.slice(i + 1).forEach((t) => assert.ok(!overlaps(s, t)));
      });
    }),
  );
});

test("parses only CIDRs with clear host bits and octets in range", () => {
  assert.deepEqual(parseCidr("10.20.0.0/16"), { base: 10 * 2 ** 24 + 20 * 2 ** 16, prefix: 16 });
  assert.equal(parseCidr("10.20.0.1/16"), undefined);
  assert.equal(parseCidr("10.256.0.0/16"), undefined);
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
});

test("the DNS service address is the tenth of the service range", () => {
  assert.equal(dnsServiceIp("172.16.0.0/16"), "172.16.0.10");
});

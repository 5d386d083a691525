import assert from "node:assert/strict";
import { test } from "node:test";
import { estimateCost, PRICES, type PriceTable } from "../../../../stacks/cost/estimate";

const table: PriceTable = {
  currency: "USD",
  hoursPerMonth: 100,
  note: "test",
  entries: [
    ["eks-control-plane", 0.1],
    ["ec2:m7i.large", 1],
    ["ec2:g6e.xlarge", 10],
    ["nat-gateway", 0.5],
    ["vpc-interface-endpoint", 0.01],
    ["network-load-balancer", 0.2],
  ].map(([item, usdPerHour]) => ({
    cloud: "aws" as const,
    region: "us-east-1",
    item: item as string,
    usdPerHour: usdPerHour as number,
    asOf: "2025-01-01",
    source: "https://example.com",
  })),
};

const cluster = {
  name: "c1",
  substrate: "eks" as const,
  region: "us-east-1",
  availabilityZones: 2,
  natGateways: "single" as const,
  systemPool: { instanceTypes: ["m7i.large"], min: 2, max: 3 },
  gpuPools: [{ name: "g", instanceTypes: ["g6e.xlarge"], min: 0, max: 4, capacityType: "ON_DEMAND" as const, diskSizeGb: 200 }],
};

test("prices nodes at min and max scale plus the always-on items", () => {
  const cost = estimateCost({ clusters: [cluster] } as never, table);
  // min: control plane 10 + system 2*100 + gpu 0 + nat 50 + endpoints 3*2*1 + nlb 20
  assert.equal(cost.monthlyMin, 10 + 200 + 0 + 50 + 6 + 20);
  assert.equal(cost.monthlyMax, 10 + 300 + 4000 + 50 + 6 + 20);
  assert.equal(cost.pricesAsOf, "2025-01-01");
});

test("lists machine types the table lacks instead of pricing them at zero", () => {
  const cost = estimateCost(
    { clusters: [{ ...cluster, gpuPools: [{ ...cluster.gpuPools[0], instanceTypes: ["p5.48xlarge"] }] }] } as never,
    table,
  );
  assert.deepEqual(cost.clusters[0].unpriced, ["ec2:p5.48xlarge"]);
});

test("every price entry is dated and cites an https source", () => {
  for (const e of PRICES.entries) {
    assert.match(e.asOf, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(e.source, /^https:\/\//);
  }
});

/** Kubernetes version support: the dated table and the policy that every cloud cluster stays supported 90 days. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  AKS_STANDARD_SUPPORT,
  EKS_STANDARD_SUPPORT,
  supportVerdict,
  type CloudSubstrate,
} from "../../../../stacks/config/kubernetes-support";
import { kubernetesVersionSupported } from "../../../../stacks/policy/rules-versions";
import type { PlannedResource } from "../../../../stacks/policy/types";
import { planJson } from "../../helpers";

const eks = (version: string, name = "c"): PlannedResource => ({
  type: "aws:eks/cluster:Cluster",
  name,
  parent: null,
  inputs: { version },
});
const aks = (version: string, name = "c"): PlannedResource => ({
  type: "azure-native:containerservice:ManagedCluster",
  name,
  parent: null,
  inputs: { kubernetesVersion: version },
});
const at = (iso: string) => new Date(`${iso}T12:00:00Z`);
const check = (resources: PlannedResource[], now: Date, cloudClusterIndexes?: number[]) =>
  kubernetesVersionSupported.check(resources, { environment: "prod", now, cloudClusterIndexes }).map((v) => v.message);

describe("kubernetes-version-supported", () => {
  test("1.35 stays in standard support 90 days past 2026-12-02 on EKS and on AKS", () => {
    assert.deepEqual(check([eks("1.35"), aks("1.35")], at("2026-12-02")), []);
  });

  test("1.33, the version the stacks had, fails on 2026-12-02 and names the key", () => {
    const [eksMsg] = check([eks("1.33")], at("2026-12-02"), [2]);
    assert.match(eksMsg, /^clusters\[2\]\.version: EKS 1\.33 leaves standard support on 2026-07-29, before 2027-03-02/);
    const [aksMsg] = check([aks("1.33")], at("2026-12-02"));
    assert.match(aksMsg, /^clusters\[0\]\.version: AKS 1\.33 leaves standard support on 2026-07-31/);
  });

  test("1.35 fails once the plan date comes within 90 days of its end of support", () => {
    // EKS 1.35 ends 2027-03-27: the last passing plan date is 2026-12-27.
    assert.deepEqual(check([eks("1.35")], at("2026-12-27")), []);
    assert.equal(check([eks("1.35")], at("2026-12-28")).length, 1);
    // AKS 1.35 ends 2027-03-31 (the calendar's "Mar 2027" is the month's last day).
    assert.deepEqual(check([aks("1.35")], at("2026-12-31")), []);
    assert.equal(check([aks("1.35")], at("2027-01-01")).length, 1);
  });

  test("a version missing from the table fails, naming the key and the table file", () => {
    const [msg] = check([eks("1.35"), aks("1.99")], at("2026-12-02"), [0, 3]);
    assert.match(
      msg,
      /^clusters\[3\]\.version: AKS version '1\.99' is not in the support table \(stacks\/config\/kubernetes-support\.ts\)/,
    );
  });

  test("every row is a valid date with an https source", () => {
    for (const table of [EKS_STANDARD_SUPPORT, AKS_STANDARD_SUPPORT])
      for (const [v, row] of Object.entries(table)) {
        assert.match(v, /^1\.[0-9]{2}$/);
        assert.equal(new Date(`${row.endOfStandardSupport}T00:00:00Z`).toISOString().slice(0, 10), row.endOfStandardSupport);
        assert.match(row.source, /^https:\/\//);
      }
  });

  test("the verdict is monotonic in the date: once failing, every later date fails too", () => {
    const rows: [CloudSubstrate, string][] = [
      ...Object.keys(EKS_STANDARD_SUPPORT).map((v): [CloudSubstrate, string] => ["eks", v]),
      ...Object.keys(AKS_STANDARD_SUPPORT).map((v): [CloudSubstrate, string] => ["aks", v]),
    ];
    const day = 24 * 60 * 60 * 1000;
    fc.assert(
      fc.property(
        fc.constantFrom(...rows),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2028, 11, 31) }),
        fc.integer({ min: 0, max: 900 * day }),
        ([substrate, version], t, dt) => {
          const earlier = supportVerdict(substrate, version, new Date(t)).ok;
          const later = supportVerdict(substrate, version, new Date(t + dt)).ok;
          return !later || earlier;
        },
      ),
    );
  });
});

describe("kubernetes-version-supported on the stacks' plans", () => {
  for (const stack of ["dev", "staging"]) {
    test(`${stack}: passes now and fails when planned in mid-2027`, async () => {
      const plan = await planJson(stack);
      const result = plan.policies.find((p) => p.name === "kubernetes-version-supported");
      assert.ok(result?.passed, result?.message);
      const later = check(plan.resources as PlannedResource[], at("2027-06-01"));
      assert.equal(later.length, 1, later.join("; "));
      assert.match(later[0], /^clusters\[0\]\.version: (EKS|AKS) 1\.35 leaves standard support/);
    });
  }
});

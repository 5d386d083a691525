/**
 * Guard: the IAM policies of the in-cluster controllers match their upstream reference policies (dated
 * fixtures in ./fixtures/iam/, taken at the pinned versions) action by action; every difference is listed
 * with its reason in IAM_DEVIATIONS (components/clusters/aws/identity.ts), and nothing else differs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, test } from "node:test";
import { EksCluster, type EksClusterArgs } from "../../../components/clusters/aws";
import { CHARTS as CHARTS_K8S } from "../../../components/charts";
import { CHARTS } from "../../../components/clusters/aws/addons";
import { IAM_DEVIATIONS, type ControllerPolicy } from "../../../components/clusters/aws/identity";
import type { PlannedResource } from "../../../stacks/policy/types";
import { capture, find, get } from "../helpers";
import { diffPolicies, type PolicyJson } from "./iam-diff";

interface Fixture {
  source: string;
  retrieved: string;
  version: string;
  chartVersion?: string;
  managedPolicy?: string;
  policy: PolicyJson;
}
const fixture = (file: string): Fixture =>
  JSON.parse(readFileSync(path.join(__dirname, "fixtures", "iam", `${file}.json`), "utf8")) as Fixture;

const REFERENCES: Record<ControllerPolicy, { fixture: Fixture; rolePolicy: string }> = {
  loadBalancerController: { fixture: fixture("aws-load-balancer-controller"), rolePolicy: "c1-lb-controller" },
  clusterAutoscaler: { fixture: fixture("cluster-autoscaler"), rolePolicy: "c1-cluster-autoscaler" },
  ebsCsiKms: { fixture: fixture("ebs-csi-kms"), rolePolicy: "c1-ebs-csi" },
  certManagerRoute53: { fixture: fixture("cert-manager-route53"), rolePolicy: "c1-cert-manager" },
  efsCsiController: { fixture: fixture("efs-csi-controller"), rolePolicy: "c1-efs-csi" },
  externalDnsRoute53: { fixture: fixture("external-dns-route53"), rolePolicy: "c1-external-dns" },
};

const args: EksClusterArgs = {
  region: "us-east-1",
  version: "1.35",
  vpcCidr: "10.20.0.0/16",
  availabilityZones: 2,
  natGateways: "single",
  serviceCidr: "172.20.0.0/16",
  publicAccessCidrs: [],
  adminRoleArns: [],
  logRetentionDays: 30,
  systemPool: { instanceTypes: ["m7i.large"], min: 2, max: 3 },
  gpuPools: [{ name: "l4", instanceTypes: ["g6.2xlarge"], min: 0, max: 2, capacityType: "SPOT", diskSizeGb: 200 }],
  loadBalancer: { annotations: {}, scheme: "internet-facing" },
  artifacts: { role: "primary", modelBucket: "models-bucket", repository: "llm-platform/llm-runtime" },
  dnsZone: { name: "llm.example.com", id: "Z0123456789ABCDEFGHIJ" },
  failoverZoneId: "Z0123456789ABCDEFGHIJ",
};

let resources: PlannedResource[];
before(async () => {
  resources = (await capture(() => new EksCluster("c1", args))).resources;
});

const ours = (rolePolicy: string) =>
  JSON.parse(String(get(find(resources, "aws:iam/rolePolicy:RolePolicy", rolePolicy).inputs, "policy"))) as PolicyJson;

const key = (policy: string, kind: string, action: string) => `${policy} ${kind} ${action.toLowerCase()}`;
const listed = new Set(IAM_DEVIATIONS.flatMap((d) => d.actions.map((a) => key(d.policy, d.kind, a))));

test("every reference fixture is dated and sourced", () => {
  for (const [name, { fixture: f }] of Object.entries(REFERENCES)) {
    assert.match(f.source, /^https:\/\/github\.com\//, `${name}: source`);
    assert.match(f.retrieved, /^\d{4}-\d{2}-\d{2}$/, `${name}: retrieved`);
    assert.ok(f.version, `${name}: version`);
  }
});

test("the references are those of the pinned versions (bumping a pin without refreshing its fixture fails)", () => {
  assert.equal(
    REFERENCES.loadBalancerController.fixture.chartVersion,
    CHARTS.loadBalancerController.version,
    "CHARTS.loadBalancerController.version: refresh fixtures/iam/aws-load-balancer-controller.json (docs/install/iam_policy.json at the chart's appVersion tag)",
  );
  const tag = String(
    get(find(resources, "kubernetes:helm.sh/v3:Release", "c1-cluster-autoscaler").inputs, "values", "image", "tag"),
  );
  assert.equal(
    REFERENCES.clusterAutoscaler.fixture.version,
    `cluster-autoscaler-${tag.replace(/^v/, "")}`,
    "cluster-autoscaler image tag: refresh fixtures/iam/cluster-autoscaler.json from the README at that tag",
  );
  assert.equal(
    REFERENCES.externalDnsRoute53.fixture.chartVersion,
    CHARTS_K8S.externalDns.version,
    "CHARTS.externalDns.version: refresh fixtures/iam/external-dns-route53.json (docs/tutorials/aws.md at the chart's tag)",
  );
  const ebs = resources.filter(
    (r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.name.startsWith("c1-ebs-csi-"),
  );
  assert.deepEqual(
    ebs.map((r) => String(get(r.inputs, "policyArn"))),
    [`arn:aws:iam::aws:policy/${REFERENCES.ebsCsiKms.fixture.managedPolicy}`],
  );
});

for (const [policy, ref] of Object.entries(REFERENCES) as [ControllerPolicy, (typeof REFERENCES)[ControllerPolicy]][]) {
  test(`${policy}: every difference from ${ref.fixture.version} is listed in IAM_DEVIATIONS, and every listing still differs`, () => {
    const diffs = diffPolicies(ours(ref.rolePolicy), ref.fixture.policy);
    const unlisted = diffs.filter((d) => !listed.has(key(policy, d.kind, d.action)));
    assert.deepEqual(
      unlisted.map((d) => `RolePolicy ${ref.rolePolicy}: ${d.kind} ${d.action} (${d.detail})`),
      [],
      `fix these or list them with a reason in IAM_DEVIATIONS (reference: ${ref.fixture.source})`,
    );
    const found = new Set(diffs.map((d) => key(policy, d.kind, d.action)));
    const stale = [...listed].filter((k) => k.startsWith(`${policy} `) && !found.has(k));
    assert.deepEqual(stale, [], "IAM_DEVIATIONS lists differences that no longer exist: remove them");
  });
}

test("every deviation says why", () => {
  for (const d of IAM_DEVIATIONS) assert.ok(d.reason.length > 20, `${d.policy} ${d.actions.join(",")}: reason`);
});

test("the load balancer controller may tag the listeners and rules it creates (v2.13 does; the NLB gets no listener otherwise)", () => {
  const doc = ours("c1-lb-controller");
  const tagsListeners = doc.Statement.filter(
    (s) => [s.Action].flat().includes("elasticloadbalancing:AddTags") && !s.Condition,
  ).flatMap((s) => [s.Resource].flat());
  for (const r of ["listener/net/*/*/*", "listener-rule/net/*/*/*"])
    assert.ok(tagsListeners.includes(`arn:aws:elasticloadbalancing:*:*:${r}`), `AddTags on ${r}`);
  // The comparison itself catches the old policy, which lacked these statements.
  const old = { Statement: doc.Statement.filter((s) => ![s.Resource].flat().some((r) => String(r).includes(":listener"))) };
  const diffs = diffPolicies(old, REFERENCES.loadBalancerController.fixture.policy);
  assert.ok(diffs.some((d) => d.kind === "scope" && d.action === "elasticloadbalancing:addtags"));
  assert.ok(diffs.some((d) => d.kind === "scope" && d.action === "elasticloadbalancing:removetags"));
});

test("diffPolicies: wildcards cover, narrower resources and other conditions are scope differences", () => {
  const up: PolicyJson = {
    Statement: [{ Effect: "Allow", Action: ["kms:GenerateDataKeyWithoutPlaintext", "s3:GetObject"], Resource: "*" }],
  };
  assert.deepEqual(
    diffPolicies({ Statement: [{ Effect: "Allow", Action: ["kms:GenerateDataKey*", "s3:GetObject"], Resource: "*" }] }, up),
    [],
  );
  const d = diffPolicies(
    {
      Statement: [
        { Effect: "Allow", Action: "kms:GenerateDataKey*", Resource: "arn:aws:kms:us-east-1:1:key/k" },
        { Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "true" } } },
        { Effect: "Allow", Action: "s3:PutObject", Resource: "*" },
        { Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" },
      ],
    },
    up,
  );
  assert.deepEqual(
    d.map((x) => `${x.kind} ${x.action}`),
    ["scope kms:generatedatakeywithoutplaintext", "scope s3:getobject", "extra s3:putobject"],
  );
  assert.deepEqual(
    diffPolicies({ Statement: [] }, up).map((x) => x.kind),
    ["missing", "missing"],
  );
});

test("external-dns may change records in the stack's one zone only", () => {
  const doc = ours("c1-external-dns");
  const change = doc.Statement.find((s) => [s.Action].flat().includes("route53:ChangeResourceRecordSets"));
  assert.deepEqual([change?.Resource].flat(), ["arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"]);
  const association = find(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "c1-external-dns");
  assert.equal(get(association.inputs, "namespace"), "envoy-gateway-system");
  assert.equal(get(association.inputs, "serviceAccount"), "external-dns");
});

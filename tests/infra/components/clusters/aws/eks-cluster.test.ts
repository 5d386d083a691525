import assert from "node:assert/strict";
import { test } from "node:test";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkEksArgs, EksCluster, type EksClusterArgs } from "../../../../../components/clusters/aws";
import type { ClusterRecord } from "../../../../../components/clusters/record";
import { iamRoleName } from "../../../../../components/clusters/names";
import { iamNoWildcardAdmin } from "../../../../../stacks/policy/rules-cloud";
import { capture, find, get, isSecret, ofType } from "../../../helpers";

const base: EksClusterArgs = {
  region: "us-east-1",
  version: "1.35",
  vpcCidr: "10.20.0.0/16",
  availabilityZones: 3,
  natGateways: "perZone",
  serviceCidr: "172.20.0.0/16",
  publicAccessCidrs: ["203.0.113.0/24"],
  adminRoleArns: [],
  logRetentionDays: 90,
  systemPool: { instanceTypes: ["m7i.large"], min: 2, max: 4 },
  gpuPools: [{ name: "l40s", instanceTypes: ["g6e.2xlarge"], min: 0, max: 4, capacityType: "ON_DEMAND", diskSizeGb: 200 }],
  loadBalancer: { annotations: {}, scheme: "internet-facing" },
  artifacts: { role: "primary", modelBucket: "models-bucket", repository: "llm-platform/llm-runtime" },
};

async function build(overrides: Partial<EksClusterArgs> = {}) {
  let record: ClusterRecord | undefined;
  const out = await capture(() => {
    record = new EksCluster("c1", { ...base, ...overrides }).record;
  });
  return { ...out, record: record! };
}

const policyOf = (r: { inputs: Record<string, unknown> }) =>
  JSON.parse(String(get(r.inputs, "policy"))) as { Statement: Record<string, unknown>[] };

test("encrypts Kubernetes secrets with a customer key that rotates", async () => {
  const { resources } = await build();
  const cluster = find(resources, "aws:eks/cluster:Cluster", "c1");
  assert.deepEqual(get(cluster.inputs, "encryptionConfig", "resources"), ["secrets"]);
  assert.match(String(get(cluster.inputs, "encryptionConfig", "provider", "keyArn")), /^arn:aws:kms:us-east-1:\d{12}:key\//);
  const key = find(resources, "aws:kms/key:Key", "c1-cluster");
  assert.equal(get(key.inputs, "enableKeyRotation"), true);
});

test("keeps the API endpoint private, public only from the allowed CIDRs, and logs every control-plane type", async () => {
  const { resources } = await build();
  const cluster = find(resources, "aws:eks/cluster:Cluster", "c1");
  assert.equal(get(cluster.inputs, "vpcConfig", "endpointPrivateAccess"), true);
  assert.equal(get(cluster.inputs, "vpcConfig", "endpointPublicAccess"), true);
  assert.deepEqual(get(cluster.inputs, "vpcConfig", "publicAccessCidrs"), ["203.0.113.0/24"]);
  assert.deepEqual(get(cluster.inputs, "enabledClusterLogTypes"), [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
  ]);
  assert.equal(get(cluster.inputs, "accessConfig", "authenticationMode"), "API");
  assert.equal(get(find(resources, "aws:cloudwatch/logGroup:LogGroup", "c1-control-plane").inputs, "retentionInDays"), 90);
});

test("turns the public endpoint off when no CIDR is allowed", async () => {
  const { resources } = await build({ publicAccessCidrs: [] });
  const cluster = find(resources, "aws:eks/cluster:Cluster", "c1");
  assert.equal(get(cluster.inputs, "vpcConfig", "endpointPublicAccess"), false);
  assert.equal(get(cluster.inputs, "vpcConfig", "publicAccessCidrs"), undefined);
});

test("GPU pools use the NVIDIA AMI, carry the GPU taint and labels, and scale between the configured bounds", async () => {
  const { resources } = await build();
  const ng = find(resources, "aws:eks/nodeGroup:NodeGroup", "c1-gpu-l40s");
  assert.equal(get(ng.inputs, "amiType"), "AL2023_x86_64_NVIDIA");
  assert.deepEqual(get(ng.inputs, "taints"), [{ key: "nvidia.com/gpu", effect: "NO_SCHEDULE" }]);
  assert.equal(get(ng.inputs, "labels", "nvidia.com/gpu.present"), "true");
  assert.deepEqual(get(ng.inputs, "scalingConfig"), { minSize: 0, maxSize: 4, desiredSize: 0 });
  assert.equal(get(find(resources, "aws:eks/nodeGroup:NodeGroup", "c1-system").inputs, "taints"), undefined);
});

test("node root volumes are gp3, encrypted with the cluster key; IMDSv2 with one hop", async () => {
  const { resources } = await build();
  for (const lt of ofType(resources, "aws:ec2/launchTemplate:LaunchTemplate")) {
    const ebs = get((get(lt.inputs, "blockDeviceMappings") as unknown[])[0], "ebs");
    assert.equal(get(ebs, "volumeType"), "gp3");
    assert.equal(get(ebs, "encrypted"), "true");
    assert.match(String(get(ebs, "kmsKeyId")), /:key\/c1-cluster-key-id$/);
    assert.equal(get(lt.inputs, "metadataOptions", "httpTokens"), "required");
  }
});

test("one NAT gateway per zone, or one in total when asked", async () => {
  assert.equal(ofType((await build()).resources, "aws:ec2/natGateway:NatGateway").length, 3);
  assert.equal(
    ofType((await build({ natGateways: "single", availabilityZones: 2 })).resources, "aws:ec2/natGateway:NatGateway").length,
    1,
  );
});

test("the model bucket is KMS-encrypted, versioned, not public and TLS-only", async () => {
  const { resources } = await build();
  const sse = find(
    resources,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "c1-models",
  );
  assert.equal(get((get(sse.inputs, "rules") as unknown[])[0], "applyServerSideEncryptionByDefault", "sseAlgorithm"), "aws:kms");
  assert.equal(
    get(find(resources, "aws:s3/bucketVersioning:BucketVersioning", "c1-models").inputs, "versioningConfiguration", "status"),
    "Enabled",
  );
  const block = find(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "c1-models");
  for (const f of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
    assert.equal(get(block.inputs, f), true);
  const deny = policyOf(find(resources, "aws:s3/bucketPolicy:BucketPolicy", "c1-models")).Statement[0];
  assert.equal(deny.Effect, "Deny");
  assert.deepEqual(deny.Condition, { Bool: { "aws:SecureTransport": "false" } });
});

test("replicates models (with Replication Time Control) and images to the DR region only when the stack has a DR peer", async () => {
  assert.equal(ofType((await build()).resources, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").length, 0);
  const { resources } = await build({ dr: { region: "us-west-2", modelBucket: "models-bucket-replica" } });
  const replication = find(resources, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "c1-models");
  const rule = (get(replication.inputs, "rules") as unknown[])[0];
  assert.equal(get(rule, "destination", "bucket"), "arn:aws:s3:::models-bucket-replica");
  assert.match(String(get(rule, "destination", "encryptionConfiguration", "replicaKmsKeyId")), /^arn:aws:kms:us-west-2:/);
  // Replication Time Control bounds the models' RPO at 15 minutes (docs/runbooks/disaster-recovery.md).
  assert.deepEqual(get(rule, "destination", "replicationTime"), { status: "Enabled", time: { minutes: 15 } });
  assert.deepEqual(get(rule, "destination", "metrics"), { status: "Enabled", eventThreshold: { minutes: 15 } });
  assert.equal(get(find(resources, "aws:s3/bucket:Bucket", "c1-models-dr").inputs, "region"), "us-west-2");
  const ecr = find(resources, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "c1-images");
  const ecrRule = (get(ecr.inputs, "replicationConfiguration", "rules") as unknown[])[0];
  assert.equal(get((get(ecrRule, "destinations") as unknown[])[0], "region"), "us-west-2");
  const template = find(resources, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate", "c1-dr");
  assert.equal(get(template.inputs, "imageTagMutability"), "IMMUTABLE");
  assert.equal(get((get(template.inputs, "encryptionConfigurations") as unknown[])[0], "encryptionType"), "KMS");
});

test("a replica stack creates no bucket or repository and reads the replica through its key alias", async () => {
  const { resources } = await build({
    region: "us-west-2",
    artifacts: { role: "replica", modelBucket: "models-bucket-replica", repository: "llm-platform/llm-runtime" },
  });
  assert.equal(ofType(resources, "aws:s3/bucket:Bucket").length, 0);
  assert.equal(ofType(resources, "aws:ecr/repository:Repository").length, 0);
  const serving = policyOf(find(resources, "aws:iam/rolePolicy:RolePolicy", "c1-serving"));
  assert.equal(serving.Statement[0].Resource, "arn:aws:s3:::models-bucket-replica");
  assert.match(String(serving.Statement[2].Resource), /^arn:aws:kms:us-west-2:\d{12}:key\//);
});

test("the serving identity may list and read the model bucket and decrypt through S3, nothing else", async () => {
  const { resources } = await build();
  const doc = policyOf(find(resources, "aws:iam/rolePolicy:RolePolicy", "c1-serving"));
  assert.deepEqual(
    doc.Statement.map((s) => [s.Action, s.Resource]),
    [
      ["s3:ListBucket", "arn:aws:s3:::models-bucket"],
      [["s3:GetObject", "s3:GetObjectVersion"], "arn:aws:s3:::models-bucket/*"],
      ["kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/c1-cluster-key-id"],
    ],
  );
  const assoc = find(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "c1-serving");
  assert.deepEqual([get(assoc.inputs, "namespace"), get(assoc.inputs, "serviceAccount")], ["llm-serving", "llm-runtime"]);
});

test("no IAM or key policy of the cluster allows '*' on '*'", async () => {
  const { resources } = await build({
    dr: { region: "us-west-2", modelBucket: "models-bucket-replica" },
    dnsZone: { name: "llm.example.com" },
  });
  assert.deepEqual(iamNoWildcardAdmin.check(resources, { environment: "prod" }), []);
  assert.ok(ofType(resources, "aws:iam/rolePolicy:RolePolicy").length >= 6);
});

test("returns the shared record: kubeconfig secret, NLB annotations, encrypted default class, GPU facts", async () => {
  const { resources, record } = await build({ loadBalancer: { annotations: {}, scheme: "internal" } });
  assert.ok(isSecret(find(resources, "pulumi:providers:kubernetes", "c1-k8s").inputs.kubeconfig));
  assert.equal(record.loadBalancer.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internal");
  assert.equal(record.loadBalancer.annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
  assert.deepEqual(record.gpu.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  assert.equal(record.gpu.driverPreinstalled, true);
  assert.deepEqual(record.credentialEndpoints, [{ cidr: "169.254.170.23/32", port: 80 }]);
  const sc = find(resources, "kubernetes:storage.k8s.io/v1:StorageClass", "c1-gp3-encrypted");
  assert.equal(get(sc.inputs, "parameters", "encrypted"), "true");
  assert.equal(get(sc.inputs, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class"), "true");
});

test("rejects a DR peer in the same region, naming the input", () => {
  assert.throws(
    () => checkEksArgs("c1", { ...base, dr: { region: "us-east-1", modelBucket: "x-replica" } }),
    /EksCluster 'c1': dr.region must differ from region \(us-east-1\)/,
  );
});

test("GPU groups carry the autoscaler's accelerator label, and the ASG carries the node-template tags for scale from zero", async () => {
  const { resources } = await build({
    gpuPools: [
      { name: "l40s", instanceTypes: ["g6e.2xlarge"], min: 0, max: 4, capacityType: "ON_DEMAND", diskSizeGb: 200 },
      { name: "l4", instanceTypes: ["g6.2xlarge", "g6.4xlarge"], min: 0, max: 2, capacityType: "SPOT", diskSizeGb: 200 },
    ],
  });
  assert.equal(
    get(find(resources, "aws:eks/nodeGroup:NodeGroup", "c1-gpu-l40s").inputs, "labels", "k8s.amazonaws.com/accelerator"),
    "nvidia-l40s",
  );
  assert.equal(
    get(find(resources, "aws:eks/nodeGroup:NodeGroup", "c1-gpu-l4").inputs, "labels", "k8s.amazonaws.com/accelerator"),
    "nvidia-l4",
  );
  const tags = Object.fromEntries(
    ofType(resources, "aws:autoscaling/tag:Tag")
      .filter((r) => r.name.startsWith("c1-gpu-l40s-"))
      .map((r) => [String(get(r.inputs, "tag", "key")), String(get(r.inputs, "tag", "value"))]),
  );
  assert.equal(tags["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"], "nvidia-l40s");
  assert.equal(tags["k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present"], "true");
  assert.equal(tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"], ":NoSchedule");
  assert.equal(ofType(resources, "aws:autoscaling/tag:Tag").filter((r) => r.name.startsWith("c1-system")).length, 0);
});

test("rejects a GPU pool mixing GPU models, naming the pool", () => {
  assert.throws(
    () =>
      checkEksArgs("c1", {
        ...base,
        gpuPools: [
          { name: "mixed", instanceTypes: ["g6.xlarge", "g5.xlarge"], min: 0, max: 1, capacityType: "SPOT", diskSizeGb: 100 },
        ],
      }),
    /gpuPools 'mixed'.instanceTypes must share one known GPU model .*nvidia-l4, nvidia-a10g/,
  );
});

test("the key policy's Auto Scaling service-linked role is created first (KMS rejects policies naming missing principals) and kept on destroy", async () => {
  const keyDependsOn: unknown[] = [];
  let slrRetained: boolean | undefined;
  const { resources } = await capture(() => {
    pulumi.runtime.registerStackTransformation((a) => {
      if (a.type === "aws:kms/key:Key" && a.name === "c1-cluster") keyDependsOn.push(...[a.opts.dependsOn ?? []].flat());
      if (a.type === "aws:iam/serviceLinkedRole:ServiceLinkedRole") slrRetained = a.opts.retainOnDelete;
      return undefined;
    });
    new EksCluster("c1", base);
  });
  const slr = find(resources, "aws:iam/serviceLinkedRole:ServiceLinkedRole", "c1-autoscaling");
  assert.equal(get(slr.inputs, "awsServiceName"), "autoscaling.amazonaws.com");
  assert.ok(
    keyDependsOn.some((d) => aws.iam.ServiceLinkedRole.isInstance(d)),
    "aws:kms/key:Key c1-cluster must dependOn the service-linked role",
  );
  assert.equal(slrRetained, true);
  const principals = policyOf(find(resources, "aws:kms/key:Key", "c1-cluster")).Statement.map((s) => JSON.stringify(s.Principal));
  assert.ok(principals.some((p) => p.includes("role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")));
});

test("an account that already has the service-linked role creates none", async () => {
  const { resources } = await build({ autoScalingServiceLinkedRole: "existing" });
  assert.equal(ofType(resources, "aws:iam/serviceLinkedRole:ServiceLinkedRole").length, 0);
});

test("a cluster name of 63 characters (the longest the config allows) still gives IAM role names within 64", async () => {
  const long = `c${"x".repeat(61)}1`;
  const { resources } = await capture(() => new EksCluster(long, base));
  const roles = ofType(resources, "aws:iam/role:Role");
  assert.ok(roles.length >= 7);
  for (const r of roles) {
    const prefix = get(r.inputs, "namePrefix") as string | undefined;
    assert.deepEqual(
      prefix ? iamRoleName(prefix, "namePrefix") : iamRoleName(r.name, "autoname"),
      [],
      `aws:iam/role:Role ${r.name}`,
    );
  }
  // Shortened in the middle: the prefix still says which cluster and what for.
  const prefix = String(get(find(resources, "aws:iam/role:Role", `${long}-cluster-autoscaler`).inputs, "namePrefix"));
  assert.ok(prefix.startsWith("cxx") && prefix.endsWith("cluster-autoscaler") && prefix.length <= 38, prefix);
});

test("the shared model cache: EFS encrypted with the cluster key, NFS from the VPC only, TLS-only, one mount target per zone", async () => {
  const { resources, record } = await build();
  const fs = find(resources, "aws:efs/fileSystem:FileSystem", "c1-models");
  assert.equal(get(fs.inputs, "encrypted"), true);
  assert.ok(get(fs.inputs, "kmsKeyId") !== undefined, "EFS names the cluster key");
  assert.equal(get(fs.inputs, "throughputMode"), "elastic");
  assert.equal(ofType(resources, "aws:efs/mountTarget:MountTarget").length, base.availabilityZones);
  const sg = find(resources, "aws:ec2/securityGroup:SecurityGroup", "c1-efs");
  assert.deepEqual(
    (get(sg.inputs, "ingress") as Record<string, unknown>[]).map((r) => [r.protocol, r.fromPort, r.toPort, r.cidrBlocks]),
    [["tcp", 2049, 2049, [base.vpcCidr]]],
  );
  const fsPolicy = policyOf(find(resources, "aws:efs/fileSystemPolicy:FileSystemPolicy", "c1-models"));
  const deny = fsPolicy.Statement.find((st) => st.Effect === "Deny");
  assert.deepEqual(get(deny, "Condition"), { Bool: { "aws:SecureTransport": "false" } });
  const addon = find(resources, "aws:eks/addon:Addon", "c1-aws-efs-csi-driver");
  assert.equal(get(addon.inputs, "addonName"), "aws-efs-csi-driver");
  assert.equal(get((get(addon.inputs, "podIdentityAssociations") as unknown[])[0], "serviceAccount"), "efs-csi-controller-sa");
  // The add-on owns that association: a second one for the same service account would be refused by EKS.
  assert.ok(
    !ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation").some(
      (r) => get(r.inputs, "serviceAccount") === "efs-csi-controller-sa",
    ),
  );
  const sc = find(resources, "kubernetes:storage.k8s.io/v1:StorageClass", "c1-efs-models");
  assert.equal(get(sc.inputs, "provisioner"), "efs.csi.aws.com");
  assert.equal(get(sc.inputs, "parameters", "provisioningMode"), "efs-ap");
  assert.equal(get(sc.inputs, "parameters", "uid"), "10001");
  assert.deepEqual(get(sc.inputs, "mountOptions"), ["tls"]);
  assert.ok(record.sharedCache, "the record names the shared class");
});

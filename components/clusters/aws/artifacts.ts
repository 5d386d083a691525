/**
 * Model and image storage. A primary stack creates the S3 model bucket (SSE-KMS with the cluster key,
 * versioned, public access blocked, TLS-only, old versions expire) and the ECR repository (immutable tags,
 * scan on push, KMS), and, when the stack has a DR peer, replicas of both in the DR region under a key of
 * that region. A replica stack (dr) creates neither: it reads the replicas, found by name and key alias in
 * its own region, so it does not depend on anything in the primary region.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createRole, policy, serviceTrust, toJson } from "./iam";
import { createKey } from "./kms";

export interface ArtifactsSpec {
  region: string;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  /** The cluster key: encrypts the primary bucket and repository. */
  keyArn: pulumi.Input<string>;
  role: "primary" | "replica";
  modelBucket: string;
  repository: string;
  dr?: { region: string; modelBucket: string };
  tags: Record<string, string>;
}

export interface Artifacts {
  modelBucketArn: pulumi.Output<string>;
  /** Key the model objects are encrypted with (readers need kms:Decrypt on it). */
  modelKeyArn: pulumi.Output<string>;
  repositoryUrl: pulumi.Output<string>;
}

/** Alias of the key that encrypts a replica bucket; the dr stack looks the key up by it. */
export const replicaKeyAlias = (replicaBucket: string) => `llm-platform/replicas/${replicaBucket}`;
/** Days a superseded model version is kept (versions make an overwritten model recoverable). */
export const NONCURRENT_VERSION_DAYS = 90;

/** Repository-creation-template prefix of a repository: its namespace, or ROOT when it has none. */
export function repositoryNamespace(repository: string): string {
  const i = repository.lastIndexOf("/");
  return i < 0 ? "ROOT" : repository.slice(0, i);
}

/** Everything that makes a bucket private, encrypted, versioned and TLS-only; returns the bucket and its settings. */
export function secureBucket(
  name: string,
  a: { bucket: string; region: string; keyArn: pulumi.Input<string>; tags: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
) {
  const { region } = a;
  const bucket = new aws.s3.Bucket(name, { region, bucket: a.bucket, tags: a.tags }, opts);
  const child = { ...opts, parent: bucket };
  const settings: pulumi.Resource[] = [
    new aws.s3.BucketOwnershipControls(
      name,
      { region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      child,
    ),
    new aws.s3.BucketPublicAccessBlock(
      name,
      {
        region,
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    ),
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        region,
        bucket: bucket.id,
        rules: [
          // The bucket key cuts KMS requests (and their cost) by orders of magnitude for many-object models.
          { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: a.keyArn }, bucketKeyEnabled: true },
        ],
      },
      child,
    ),
    new aws.s3.BucketVersioning(name, { region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, child),
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        region,
        bucket: bucket.id,
        rules: [
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ],
      },
      child,
    ),
    new aws.s3.BucketPolicy(
      name,
      {
        region,
        bucket: bucket.id,
        policy: toJson(
          policy({
            Sid: "DenyPlainHttp",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ),
      },
      child,
    ),
  ];
  return { bucket, settings };
}

export function createArtifacts(name: string, spec: ArtifactsSpec, opts: pulumi.CustomResourceOptions): Artifacts {
  if (spec.role === "replica") return readReplicas(name, spec, opts);
  const { region, tags } = spec;

  const repo = new aws.ecr.Repository(
    `${name}-runtime`,
    {
      region,
      name: spec.repository,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: spec.keyArn }],
      tags,
    },
    opts,
  );
  new aws.ecr.LifecyclePolicy(
    `${name}-runtime`,
    {
      region,
      repository: repo.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: "Expire untagged images after 14 days",
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 },
            action: { type: "expire" },
          },
        ],
      }),
    },
    { ...opts, parent: repo },
  );
  const models = secureBucket(`${name}-models`, { bucket: spec.modelBucket, region, keyArn: spec.keyArn, tags }, opts);

  if (spec.dr) replicate(name, spec, spec.dr, models, opts);
  return {
    modelBucketArn: models.bucket.arn,
    modelKeyArn: pulumi.output(spec.keyArn),
    repositoryUrl: repo.repositoryUrl,
  };
}

function replicate(
  name: string,
  spec: ArtifactsSpec,
  dr: { region: string; modelBucket: string },
  source: ReturnType<typeof secureBucket>,
  opts: pulumi.CustomResourceOptions,
) {
  const { tags, partition, accountId } = spec;
  const { key: drKey } = createKey(
    `${name}-dr`,
    {
      region: dr.region,
      accountId,
      partition,
      description: `Replicas of ${spec.modelBucket} and ${spec.repository} in ${dr.region}`,
      alias: replicaKeyAlias(dr.modelBucket),
      ecr: true,
      tags,
    },
    opts,
  );
  const replica = secureBucket(`${name}-models-dr`, { bucket: dr.modelBucket, region: dr.region, keyArn: drKey.arn, tags }, opts);

  const { role, attachments } = createRole(
    `${name}-replication`,
    {
      trust: serviceTrust("s3.amazonaws.com"),
      inline: s3ReplicationPolicy({
        sourceBucketArn: source.bucket.arn,
        replicaBucketArn: replica.bucket.arn,
        sourceKeyArn: spec.keyArn,
        replicaKeyArn: drKey.arn,
        sourceRegion: spec.region,
        replicaRegion: dr.region,
      }),
      tags,
    },
    opts,
  );
  new aws.s3.BucketReplicationConfig(
    `${name}-models`,
    {
      region: spec.region,
      bucket: source.bucket.id,
      role: role.arn,
      rules: [
        {
          id: "models-to-dr",
          status: "Enabled",
          filter: {},
          deleteMarkerReplication: { status: "Enabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: {
            bucket: replica.bucket.arn,
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: drKey.arn },
            // Replication Time Control: AWS's SLA replicates 99.99% of objects within 15 minutes, which bounds
            // the models' RPO; the metrics (required with it) show replication latency and failures per rule.
            replicationTime: { status: "Enabled", time: { minutes: 15 } },
            metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
          },
        },
      ],
    },
    // Replication needs versioning on both sides first.
    { ...opts, parent: source.bucket, dependsOn: [...source.settings, ...replica.settings, ...attachments] },
  );

  // Images: ECR replicates the repository to the DR region; the template makes the replica KMS-encrypted and
  // immutable like the source. ECR assumes the template's role to create the replica with our key.
  const namespace = repositoryNamespace(spec.repository);
  const repoPattern = namespace === "ROOT" ? spec.repository : `${namespace}/*`;
  const templateRole = createRole(
    `${name}-ecr-template`,
    {
      trust: serviceTrust("ecr.amazonaws.com"),
      inline: policy(
        {
          Effect: "Allow",
          Action: ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
          Resource: pulumi.interpolate`arn:${partition}:ecr:${dr.region}:${accountId}:repository/${repoPattern}`,
        },
        { Effect: "Allow", Action: ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"], Resource: drKey.arn },
      ),
      tags,
    },
    opts,
  );
  const template = new aws.ecr.RepositoryCreationTemplate(
    `${name}-dr`,
    {
      region: dr.region,
      prefix: namespace,
      appliedFors: ["REPLICATION"],
      description: `Replicas of ${spec.repository}: immutable, KMS-encrypted`,
      imageTagMutability: "IMMUTABLE",
      encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: drKey.arn }],
      customRoleArn: templateRole.role.arn,
      resourceTags: tags,
    },
    { ...opts, dependsOn: templateRole.attachments },
  );
  new aws.ecr.ReplicationConfiguration(
    `${name}-images`,
    {
      region: spec.region,
      replicationConfiguration: {
        rules: [
          {
            destinations: [{ region: dr.region, registryId: accountId }],
            repositoryFilters: [{ filter: spec.repository, filterType: "PREFIX_MATCH" }],
          },
        ],
      },
    },
    { ...opts, dependsOn: [template] },
  );
}

/** S3 replication: read versions from the source, write replicas, re-encrypt under the DR region's key. */
export function s3ReplicationPolicy(a: {
  sourceBucketArn: pulumi.Input<string>;
  replicaBucketArn: pulumi.Input<string>;
  sourceKeyArn: pulumi.Input<string>;
  replicaKeyArn: pulumi.Input<string>;
  sourceRegion: string;
  replicaRegion: string;
}) {
  return policy(
    {
      Sid: "ReadReplicationConfig",
      Effect: "Allow",
      Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
      Resource: a.sourceBucketArn,
    },
    {
      Sid: "ReadSourceVersions",
      Effect: "Allow",
      Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
      Resource: pulumi.interpolate`${a.sourceBucketArn}/*`,
    },
    {
      Sid: "WriteReplicas",
      Effect: "Allow",
      Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
      Resource: pulumi.interpolate`${a.replicaBucketArn}/*`,
    },
    {
      Sid: "DecryptSource",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: a.sourceKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `s3.${a.sourceRegion}.amazonaws.com` } },
    },
    {
      Sid: "EncryptReplicas",
      Effect: "Allow",
      Action: ["kms:Encrypt", "kms:GenerateDataKey"],
      Resource: a.replicaKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `s3.${a.replicaRegion}.amazonaws.com` } },
    },
  );
}

/** The dr stack: the replicas live in this region; find them by name and key alias, create nothing. */
function readReplicas(_name: string, spec: ArtifactsSpec, opts: pulumi.CustomResourceOptions): Artifacts {
  const key = aws.kms.getAliasOutput(
    { region: spec.region, name: `alias/${replicaKeyAlias(spec.modelBucket)}` },
    { parent: opts.parent },
  );
  return {
    modelBucketArn: pulumi.interpolate`arn:${spec.partition}:s3:::${spec.modelBucket}`,
    modelKeyArn: key.targetKeyArn,
    repositoryUrl: pulumi.interpolate`${spec.accountId}.dkr.ecr.${spec.region}.amazonaws.com/${spec.repository}`,
  };
}

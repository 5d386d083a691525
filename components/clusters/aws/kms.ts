/**
 * Customer-managed KMS keys: one per cluster (Kubernetes secrets envelope encryption, EBS volumes, control-
 * plane logs, the model bucket and the image repository) and one in the DR region for the replicas. Rotation
 * is always on; the key policy delegates to IAM and names the AWS services that use the key on our behalf.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policy, toJson, type Statement } from "./iam";

export interface KeySpec {
  region: string;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  description: string;
  /** Alias without the `alias/` prefix; the dr stack finds the replica key by it. */
  alias: string;
  /** CloudWatch log groups (ARNs, wildcards allowed) that may encrypt with this key. */
  logGroupArns?: pulumi.Input<string>[];
  /** EC2 Auto Scaling launches node-group instances with volumes encrypted by this key. */
  autoScaling?: boolean;
  /** ECR encrypts replicated repositories with this key. */
  ecr?: boolean;
  tags?: Record<string, string>;
}

/**
 * EC2 Auto Scaling's service-linked role, which the key policy names (KMS rejects a policy naming a
 * principal that does not exist, and a fresh account has no such role until its first Auto Scaling group).
 * `create` makes it here and the key waits for it; it is kept on `pulumi destroy` (it is the account's, and
 * other groups use it). `existing`: the account already has it (any Auto Scaling group ever made one), so
 * nothing is created; alternatively adopt it into the stack once with `pulumi import` (docs/cloud.md).
 */
export function autoScalingServiceLinkedRole(
  name: string,
  mode: "create" | "existing",
  opts: pulumi.CustomResourceOptions,
): aws.iam.ServiceLinkedRole | undefined {
  if (mode === "existing") return undefined;
  return new aws.iam.ServiceLinkedRole(
    `${name}-autoscaling`,
    {
      awsServiceName: "autoscaling.amazonaws.com",
      description: "EC2 Auto Scaling (EKS node groups); named by the cluster key's policy",
    },
    { ...opts, retainOnDelete: true },
  );
}

/** Days of the automatic rotation period (AWS allows 90-2560; a year is the common compliance baseline). */
export const KEY_ROTATION_DAYS = 365;

export function createKey(
  name: string,
  spec: KeySpec,
  opts: pulumi.CustomResourceOptions,
): { key: aws.kms.Key; alias: aws.kms.Alias } {
  const { partition, accountId, region } = spec;
  const root = pulumi.interpolate`arn:${partition}:iam::${accountId}:root`;
  const statements: Statement[] = [
    // Without this statement IAM policies cannot grant use of the key (the account's admins keep control).
    { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" },
  ];
  if (spec.autoScaling) {
    const slr = pulumi.interpolate`arn:${partition}:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
    statements.push(
      {
        Sid: "AutoScalingUsesKeyForNodeVolumes",
        Effect: "Allow",
        Principal: { AWS: slr },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        Resource: "*",
      },
      {
        Sid: "AutoScalingGrantsForNodeVolumes",
        Effect: "Allow",
        Principal: { AWS: slr },
        Action: "kms:CreateGrant",
        Resource: "*",
        Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
      },
    );
  }
  if (spec.logGroupArns && spec.logGroupArns.length > 0)
    statements.push({
      Sid: "CloudWatchLogsEncryptControlPlaneLogs",
      Effect: "Allow",
      Principal: { Service: `logs.${region}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": spec.logGroupArns } },
    });
  if (spec.ecr)
    statements.push({
      Sid: "EcrEncryptsRepositoriesOfThisAccount",
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
      Resource: "*",
      Condition: { StringEquals: { "kms:CallerAccount": accountId, "kms:ViaService": `ecr.${region}.amazonaws.com` } },
    });

  const key = new aws.kms.Key(
    name,
    {
      region,
      description: spec.description,
      keyUsage: "ENCRYPT_DECRYPT",
      customerMasterKeySpec: "SYMMETRIC_DEFAULT",
      enableKeyRotation: true,
      rotationPeriodInDays: KEY_ROTATION_DAYS,
      deletionWindowInDays: 30,
      policy: toJson(policy(...statements)),
      tags: spec.tags,
    },
    opts,
  );
  const alias = new aws.kms.Alias(
    name,
    { region, name: `alias/${spec.alias}`, targetKeyId: key.keyId },
    { ...opts, parent: key },
  );
  return { key, alias };
}

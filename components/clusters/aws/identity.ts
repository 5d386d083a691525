/**
 * What each workload on the cluster may do in AWS, and the EKS Pod Identity associations that hand those
 * permissions to exactly one service account each. Every document is a plain function of the ARNs it is
 * scoped to, so tests read the permissions without creating anything.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createRole, podIdentityTrust, policy, type PolicyDocument } from "./iam";

/** The serving pods: list and read the model bucket, decrypt its objects through S3 only. */
export function modelReaderPolicy(a: {
  bucketArn: pulumi.Input<string>;
  keyArn: pulumi.Input<string>;
  region: string;
}): PolicyDocument {
  return policy(
    { Sid: "ListModelBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: a.bucketArn },
    {
      Sid: "ReadModelObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: pulumi.interpolate`${a.bucketArn}/*`,
    },
    {
      Sid: "DecryptModelObjectsThroughS3",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: a.keyArn,
      Condition: { StringEquals: { "kms:ViaService": `s3.${a.region}.amazonaws.com` } },
    },
  );
}

/** cert-manager: TXT records in the one hosted zone (ACME DNS-01), and the change status. */
export function certManagerDnsPolicy(a: { partition: pulumi.Input<string>; zoneId: pulumi.Input<string> }): PolicyDocument {
  return policy(
    {
      Sid: "ReadChangeStatus",
      Effect: "Allow",
      Action: "route53:GetChange",
      Resource: pulumi.interpolate`arn:${a.partition}:route53:::change/*`,
    },
    {
      Sid: "ChangeTxtRecordsInZone",
      Effect: "Allow",
      Action: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
      Resource: pulumi.interpolate`arn:${a.partition}:route53:::hostedzone/${a.zoneId}`,
      Condition: { "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] } },
    },
    // Route53 has no resource-level scoping for this lookup.
    { Sid: "FindZone", Effect: "Allow", Action: "route53:ListHostedZonesByName", Resource: "*" },
  );
}

/**
 * The cluster autoscaler: read node groups and their instance types (to scale GPU pools from zero it reads
 * labels and taints from the managed node group), change the size only of groups tagged as this cluster's.
 */
export function clusterAutoscalerPolicy(a: {
  clusterName: string;
  partition: pulumi.Input<string>;
  region: string;
  accountId: pulumi.Input<string>;
}): PolicyDocument {
  return policy(
    {
      Sid: "DiscoverGroups",
      Effect: "Allow",
      Action: [
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeTags",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements",
      ],
      Resource: "*",
    },
    {
      Sid: "ReadNodeGroupTemplates",
      Effect: "Allow",
      Action: "eks:DescribeNodegroup",
      Resource: pulumi.interpolate`arn:${a.partition}:eks:${a.region}:${a.accountId}:nodegroup/${a.clusterName}/*`,
    },
    {
      Sid: "ResizeOwnGroupsOnly",
      Effect: "Allow",
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      Resource: "*",
      Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${a.clusterName}`]: "owned" } },
    },
  );
}

/** The EBS CSI driver's use of the cluster key for encrypted volumes (its managed policy covers EC2). */
export function ebsCsiKeyPolicy(keyArn: pulumi.Input<string>): PolicyDocument {
  return policy(
    {
      Sid: "GrantsForAttachedVolumes",
      Effect: "Allow",
      Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: keyArn,
      Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
    },
    {
      Sid: "EncryptVolumes",
      Effect: "Allow",
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: keyArn,
    },
  );
}

/** Tag the AWS Load Balancer Controller puts on what it creates, and the condition it is scoped by. */
const LBC_TAG = "elbv2.k8s.aws/cluster";
const ownsTag = { Null: { [`aws:ResourceTag/${LBC_TAG}`]: "false" } };

/**
 * The AWS Load Balancer Controller, for Service-type NLBs with IP targets (the Gateway's Service): read the
 * network, create load balancers and target groups tagged as the controller's, and change or delete only
 * those. Narrower than upstream's policy (no WAF, Shield, Cognito: this cluster creates no ALB Ingresses).
 */
export function loadBalancerControllerPolicy(partition: pulumi.Input<string>): PolicyDocument {
  const elb = (res: string) => pulumi.interpolate`arn:${partition}:elasticloadbalancing:*:*:${res}`;
  const sg = pulumi.interpolate`arn:${partition}:ec2:*:*:security-group/*`;
  return policy(
    {
      Sid: "ReadNetworkAndLoadBalancers",
      Effect: "Allow",
      Action: [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeTags",
        "ec2:DescribeRouteTables",
        "ec2:GetSecurityGroupsForVpc",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeCapacityReservation",
      ],
      Resource: "*",
    },
    {
      Sid: "CreateElbServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: "*",
      Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
    },
    { Sid: "CreateSecurityGroups", Effect: "Allow", Action: "ec2:CreateSecurityGroup", Resource: "*" },
    {
      Sid: "TagSecurityGroupsOnCreate",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: sg,
      Condition: {
        StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" },
        Null: { [`aws:RequestTag/${LBC_TAG}`]: "false" },
      },
    },
    // Opening the node security group to the NLB: that group is not the controller's, so this is unconditioned.
    {
      Sid: "OpenNodeSecurityGroupToLoadBalancer",
      Effect: "Allow",
      Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
      Resource: sg,
    },
    {
      Sid: "ManageOwnSecurityGroups",
      Effect: "Allow",
      Action: ["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup"],
      Resource: sg,
      Condition: ownsTag,
    },
    {
      Sid: "CreateTaggedLoadBalancers",
      Effect: "Allow",
      Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
      Resource: "*",
      Condition: { Null: { [`aws:RequestTag/${LBC_TAG}`]: "false" } },
    },
    {
      Sid: "ManageListeners",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
      ],
      Resource: [elb("listener/net/*/*/*"), elb("loadbalancer/net/*/*")],
    },
    {
      Sid: "TagOnCreate",
      Effect: "Allow",
      Action: "elasticloadbalancing:AddTags",
      Resource: [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*")],
      Condition: { StringEquals: { "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"] } },
    },
    {
      Sid: "ManageOwnLoadBalancers",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
      ],
      Resource: "*",
      Condition: ownsTag,
    },
  );
}

export interface PodIdentitySpec {
  clusterName: pulumi.Input<string>;
  region: string;
  namespace: string;
  serviceAccount: string;
  inline?: PolicyDocument;
  managedPolicyArns?: pulumi.Input<string>[];
  tags?: Record<string, string>;
}

/** A role only the named service account can assume, through an EKS Pod Identity association. */
export function podIdentity(name: string, spec: PodIdentitySpec, opts: pulumi.CustomResourceOptions) {
  const { role, attachments } = createRole(
    name,
    { trust: podIdentityTrust(), inline: spec.inline, managedPolicyArns: spec.managedPolicyArns, tags: spec.tags },
    opts,
  );
  const association = new aws.eks.PodIdentityAssociation(
    name,
    {
      region: spec.region,
      clusterName: spec.clusterName,
      namespace: spec.namespace,
      serviceAccount: spec.serviceAccount,
      roleArn: role.arn,
      tags: spec.tags,
    },
    { ...opts, dependsOn: attachments },
  );
  return { role, association };
}

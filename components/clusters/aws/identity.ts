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
 * external-dns (Route 53 provider): read and change record sets, and read their tags, in the one hosted zone
 * the stack's names live in; list zones to find it (no resource-level scoping exists for that).
 */
export function externalDnsPolicy(a: { partition: pulumi.Input<string>; zoneId: pulumi.Input<string> }): PolicyDocument {
  return policy(
    {
      Sid: "ChangeRecordsInZone",
      Effect: "Allow",
      Action: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"],
      Resource: pulumi.interpolate`arn:${a.partition}:route53:::hostedzone/${a.zoneId}`,
    },
    { Sid: "FindZone", Effect: "Allow", Action: "route53:ListHostedZones", Resource: "*" },
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
/** Tags may change on the controller's own resources, but never the ownership tag itself. */
const ownsTagNotChangingIt = { Null: { [`aws:RequestTag/${LBC_TAG}`]: "true", [`aws:ResourceTag/${LBC_TAG}`]: "false" } };

/**
 * The AWS Load Balancer Controller, for Service-type NLBs with IP targets (the Gateway's Service): the
 * controller's reference policy for the pinned version, statement by statement, less the ALB Ingress
 * features this cluster does not use (Cognito, ACM/IAM certificates, WAF, Shield). Every difference is in
 * IAM_DEVIATIONS; tests/infra/guards/iam-parity.test.ts compares with the stored reference.
 */
export function loadBalancerControllerPolicy(partition: pulumi.Input<string>): PolicyDocument {
  const elb = (res: string) => pulumi.interpolate`arn:${partition}:elasticloadbalancing:*:*:${res}`;
  const sg = pulumi.interpolate`arn:${partition}:ec2:*:*:security-group/*`;
  const lbAndTargetGroups = [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")];
  return policy(
    {
      Sid: "CreateElbServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: "*",
      Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
    },
    {
      Sid: "ReadNetworkAndLoadBalancers",
      Effect: "Allow",
      Action: [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeTags",
        "ec2:GetCoipPoolUsage",
        "ec2:DescribeCoipPools",
        "ec2:GetSecurityGroupsForVpc",
        "ec2:DescribeIpamPools",
        "ec2:DescribeRouteTables",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTrustStores",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeCapacityReservation",
      ],
      Resource: "*",
    },
    // Opening the node security group to the NLB: that group is not the controller's, so this is unconditioned.
    {
      Sid: "OpenNodeSecurityGroupToLoadBalancer",
      Effect: "Allow",
      Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
      Resource: "*",
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
    {
      Sid: "RetagOwnSecurityGroups",
      Effect: "Allow",
      Action: ["ec2:CreateTags", "ec2:DeleteTags"],
      Resource: sg,
      Condition: ownsTagNotChangingIt,
    },
    {
      Sid: "ManageOwnSecurityGroups",
      Effect: "Allow",
      Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
      Resource: "*",
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
      Sid: "CreateListenersAndRules",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:DeleteRule",
      ],
      Resource: "*",
    },
    {
      Sid: "RetagOwnLoadBalancers",
      Effect: "Allow",
      Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
      Resource: lbAndTargetGroups,
      Condition: ownsTagNotChangingIt,
    },
    // Since v2.13 the controller tags the listeners and rules it creates; without this the NLB gets no listener.
    {
      Sid: "TagListenersAndRules",
      Effect: "Allow",
      Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
      Resource: [
        elb("listener/net/*/*/*"),
        elb("listener/app/*/*/*"),
        elb("listener-rule/net/*/*/*"),
        elb("listener-rule/app/*/*/*"),
      ],
    },
    {
      Sid: "ManageOwnLoadBalancers",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:ModifyCapacityReservation",
        "elasticloadbalancing:ModifyIpPools",
      ],
      Resource: "*",
      Condition: ownsTag,
    },
    {
      Sid: "TagOnCreate",
      Effect: "Allow",
      Action: "elasticloadbalancing:AddTags",
      Resource: lbAndTargetGroups,
      Condition: {
        StringEquals: { "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"] },
        Null: { [`aws:RequestTag/${LBC_TAG}`]: "false" },
      },
    },
    {
      Sid: "RegisterTargets",
      Effect: "Allow",
      Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
      Resource: elb("targetgroup/*/*"),
    },
    {
      Sid: "ModifyListenersAndRules",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:SetRulePriorities",
      ],
      Resource: "*",
    },
  );
}

/** Which upstream reference policy each in-cluster controller's permissions are compared with. */
export type ControllerPolicy =
  "loadBalancerController" | "clusterAutoscaler" | "ebsCsiKms" | "certManagerRoute53" | "efsCsiController" | "externalDnsRoute53";

/**
 * Every known difference between a controller's policy here and its upstream reference (fixtures under
 * tests/infra/guards/fixtures/iam/), with the reason. `missing`: upstream grants the actions, we do not.
 * `extra`: we grant actions upstream does not. `scope`: both grant them, on other resources or conditions.
 * The parity test fails on any difference not listed here and on any entry that no longer differs.
 */
export const IAM_DEVIATIONS: readonly {
  policy: ControllerPolicy;
  kind: "missing" | "extra" | "scope";
  actions: readonly string[];
  reason: string;
}[] = [
  {
    policy: "loadBalancerController",
    kind: "missing",
    actions: [
      "cognito-idp:DescribeUserPoolClient",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "iam:ListServerCertificates",
      "iam:GetServerCertificate",
    ],
    reason:
      "ALB Ingress authentication and TLS certificate discovery; the NLB here forwards TCP and TLS ends at the Gateway (cert-manager)",
  },
  {
    policy: "loadBalancerController",
    kind: "missing",
    actions: [
      "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
      "wafv2:GetWebACL",
      "wafv2:GetWebACLForResource",
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "shield:GetSubscriptionState",
      "shield:DescribeProtection",
      "shield:CreateProtection",
      "shield:DeleteProtection",
      "elasticloadbalancing:SetWebAcl",
    ],
    reason:
      "WAF and Shield attach to ALBs created from Ingresses; this cluster creates only NLBs (the chart turns the features off)",
  },
  {
    policy: "clusterAutoscaler",
    kind: "scope",
    actions: ["eks:DescribeNodegroup"],
    reason: "narrowed from '*' to this cluster's node groups (nodegroup/<cluster>/*)",
  },
  {
    policy: "clusterAutoscaler",
    kind: "scope",
    actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
    reason:
      "limited to groups tagged k8s.io/cluster-autoscaler/<cluster>=owned (EKS tags its managed node groups so), as the upstream README recommends",
  },
  {
    policy: "ebsCsiKms",
    kind: "scope",
    actions: ["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"],
    reason: "narrowed from every key (key/*) to the cluster key, the only key the storage class names",
  },
  {
    policy: "ebsCsiKms",
    kind: "scope",
    actions: ["kms:CreateGrant"],
    reason: "the cluster key only, and only grants for AWS resources (EC2 creates them for the volumes it attaches)",
  },
  {
    policy: "ebsCsiKms",
    kind: "extra",
    actions: ["kms:ListGrants", "kms:RevokeGrant", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"],
    reason:
      "the EKS user guide's KMS statement for the driver, a superset of the driver docs' example; the cluster key only, grants only for AWS resources",
  },
  {
    policy: "efsCsiController",
    kind: "missing",
    actions: [
      "s3files:ListAccessPoints",
      "s3files:ListFileSystems",
      "s3files:CreateAccessPoint",
      "s3files:TagResource",
      "s3files:DeleteAccessPoint",
    ],
    reason: "Amazon S3 Files volumes; the model cache provisions EFS access points only",
  },
  {
    policy: "certManagerRoute53",
    kind: "scope",
    actions: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
    reason: "narrowed from every hosted zone to the stack's zone, as the cert-manager docs suggest",
  },
  {
    policy: "externalDnsRoute53",
    kind: "scope",
    actions: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"],
    reason: "narrowed from every hosted zone to the stack's zone, as the external-dns AWS tutorial suggests",
  },
];

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

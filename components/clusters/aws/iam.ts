/** IAM policy documents as typed values, and the role shapes the EKS cluster uses (service, Pod Identity). */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AUTONAME_SUFFIX_LENGTH, fitName, NAME_PREFIX_SUFFIX_LENGTH } from "../names";

/** IAM's limit on role names. */
const ROLE_NAME_MAX = 64;

/**
 * How a role named after `name` gets its IAM name: Pulumi's auto-name while that fits in 64 characters
 * (the names of existing stacks stay as they are), else a `namePrefix` shortened to leave room for the
 * provider's 26-character unique suffix. Both stay unique, so a replacement can still create before delete.
 */
export function roleNaming(name: string): { namePrefix?: string } {
  if (name.length + AUTONAME_SUFFIX_LENGTH <= ROLE_NAME_MAX) return {};
  return { namePrefix: fitName(name, ROLE_NAME_MAX - NAME_PREFIX_SUFFIX_LENGTH) };
}

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  /** Absent in trust policies, whose subject is the principal. */
  Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

export const policy = (...statements: Statement[]): PolicyDocument => ({ Version: "2012-10-17", Statement: statements });

/** JSON text of a document whose values may be outputs (ARNs of resources created in the same run). */
export const toJson = (doc: PolicyDocument | Record<string, unknown>): pulumi.Output<string> => pulumi.jsonStringify(doc);

/** Trust policy for an AWS service principal (`eks.amazonaws.com`, `ec2.amazonaws.com`, ...). */
export function serviceTrust(service: string, actions: string[] = ["sts:AssumeRole"]): PolicyDocument {
  return policy({ Effect: "Allow", Principal: { Service: service }, Action: actions });
}

/** Trust policy of EKS Pod Identity roles: the Pod Identity agent assumes them and tags the session. */
export const podIdentityTrust = (): PolicyDocument =>
  serviceTrust("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]);

export function managedPolicyArn(partition: pulumi.Input<string>, name: string): pulumi.Output<string> {
  return pulumi.interpolate`arn:${partition}:iam::aws:policy/${name}`;
}

export interface RoleSpec {
  trust: PolicyDocument;
  /** Inline policy: what this role may do beyond the managed policies. */
  inline?: PolicyDocument;
  managedPolicyArns?: pulumi.Input<string>[];
  tags?: Record<string, string>;
}

/** A role with its inline policy and managed-policy attachments; returns the role and everything it needs. */
export function createRole(
  name: string,
  spec: RoleSpec,
  opts: pulumi.CustomResourceOptions,
): { role: aws.iam.Role; attachments: pulumi.Resource[] } {
  const role = new aws.iam.Role(name, { ...roleNaming(name), assumeRolePolicy: toJson(spec.trust), tags: spec.tags }, opts);
  const attachments: pulumi.Resource[] = [];
  if (spec.inline)
    attachments.push(new aws.iam.RolePolicy(name, { role: role.name, policy: toJson(spec.inline) }, { ...opts, parent: role }));
  (spec.managedPolicyArns ?? []).forEach((arn, i) =>
    attachments.push(
      new aws.iam.RolePolicyAttachment(`${name}-${i}`, { role: role.name, policyArn: arn }, { ...opts, parent: role }),
    ),
  );
  return { role, attachments };
}

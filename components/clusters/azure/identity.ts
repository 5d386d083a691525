/**
 * Azure identities and the role assignments that give each exactly what it needs. Built-in role ids are
 * fixed GUIDs (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles; the table the
 * tests compare against is tests/infra/components/clusters/azure/fixtures/built-in-roles.json).
 */
import * as authorization from "@pulumi/azure-native/authorization";
import * as pulumi from "@pulumi/pulumi";

export const BUILT_IN_ROLES = {
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  keyVaultCryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
  keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  keyVaultCryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
  aksRbacClusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  dnsZoneContributor: "befefa01-2a29-4197-83a8-272ff33ce314",
} as const;
export type BuiltInRole = keyof typeof BUILT_IN_ROLES;

export function roleDefinitionId(subscriptionId: pulumi.Input<string>, role: BuiltInRole): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES[role]}`;
}

export type PrincipalType = "ServicePrincipal" | "User" | "Group";

export interface Grant {
  role: BuiltInRole;
  principalId: pulumi.Input<string>;
  scope: pulumi.Input<string>;
  /**
   * Always sent: left unset, the provider sends `User`, which ARM rejects for a service principal
   * (UnmatchedPrincipalType). Managed identities are service principals, the default.
   */
  principalType?: PrincipalType;
}

export function assignRole(name: string, subscriptionId: pulumi.Input<string>, grant: Grant, opts: pulumi.CustomResourceOptions) {
  return new authorization.RoleAssignment(
    name,
    {
      principalId: grant.principalId,
      principalType: grant.principalType ?? "ServicePrincipal",
      roleDefinitionId: roleDefinitionId(subscriptionId, grant.role),
      scope: grant.scope,
    },
    opts,
  );
}

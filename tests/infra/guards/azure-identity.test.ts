/**
 * Guard: Azure identity wiring in the planned stacks. For each resource that needs a grant, the right principal
 * holds the right built-in role (by role definition GUID, from the dated table in fixtures/) at that resource's
 * scope, and every role assignment says what kind of principal it names (ARM rejects a wrong or defaulted one).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { BUILT_IN_ROLES } from "../../../components/clusters/azure/identity";
import type { PlannedResource } from "../../../stacks/policy/types";
import { MOCK_AZURE } from "../../../stacks/plan/mocks";
import { get, ofType, planJson } from "../helpers";
import roles from "./fixtures/azure-built-in-roles.json";

type Role = keyof typeof roles.roles;
const AKS_STACKS = ["staging"];

/** Mock ids and principals: a resource's id is `<name>-id`, an identity's principal `<name>-principal-id`. */
const idOf = (r: PlannedResource) => `${r.name}-id`;
const principalOf = (r: PlannedResource) => `${r.name}-principal-id`;

interface Need {
  what: string;
  role: Role;
  principal: string;
  scope: string;
}

function needs(resources: PlannedResource[]): Need[] {
  const one = (type: string, suffix: string) => {
    const found = ofType(resources, type).filter((r) => r.name.endsWith(suffix));
    assert.equal(found.length, 1, `expected one ${type} named *${suffix}, got ${found.map((r) => r.name).join(", ")}`);
    return found[0];
  };
  const cluster = ofType(resources, "azure-native:containerservice:ManagedCluster");
  return cluster.flatMap((aks) => {
    const n = aks.name;
    const identity = (id: string) => one("azure-native:managedidentity:UserAssignedIdentity", `${n}-${id}`);
    const des = one("azure-native:compute:DiskEncryptionSet", n);
    const kmsKey = one("azure-native:keyvault:Key", `${n}-kms`);
    const dataKey = one("azure-native:keyvault:Key", `${n}-data`);
    const registry = one("azure-native:containerregistry:Registry", `${n}-registry`);
    const models = one("azure-native:storage:BlobContainer", `${n}-models`);
    const account = one("azure-native:storage:StorageAccount", `${n}-models`);
    const list: Need[] = [
      {
        what: `DiskEncryptionSet ${des.name} (cluster identity)`,
        role: "reader",
        principal: principalOf(identity("control-plane")),
        scope: idOf(des),
      },
      {
        what: `Key ${dataKey.name} (disk encryption set identity)`,
        role: "keyVaultCryptoServiceEncryptionUser",
        principal: principalOf(des),
        scope: idOf(dataKey),
      },
      {
        what: `Key ${kmsKey.name} (KMS, cluster identity)`,
        role: "keyVaultCryptoUser",
        principal: principalOf(identity("control-plane")),
        scope: idOf(kmsKey),
      },
      {
        what: `Registry ${registry.name} (kubelet pull)`,
        role: "acrPull",
        principal: principalOf(identity("kubelet")),
        scope: idOf(registry),
      },
      {
        what: `BlobContainer ${models.name} (serving identity)`,
        role: "storageBlobDataReader",
        principal: principalOf(identity("serving")),
        scope: `${idOf(account)}/blobServices/default/containers/${String(get(models.inputs, "containerName"))}`,
      },
    ];
    const certManager = ofType(resources, "azure-native:managedidentity:UserAssignedIdentity").find(
      (r) => r.name === `${n}-cert-manager`,
    );
    if (certManager) {
      const grant = ofType(resources, "azure-native:authorization:RoleAssignment").find(
        (r) => get(r.inputs, "principalId") === principalOf(certManager),
      );
      list.push({
        what: `DNS zone (cert-manager identity ${certManager.name})`,
        role: "dnsZoneContributor",
        principal: principalOf(certManager),
        scope: String(grant ? get(grant.inputs, "scope") : "<none>"),
      });
      assert.match(
        list[list.length - 1].scope,
        /\/providers\/Microsoft\.Network\/dnsZones\/[^/]+$/,
        `${certManager.name}: DNS grant scope is one zone`,
      );
    }
    return list;
  });
}

const plans = new Map<string, PlannedResource[]>();
before(async () => {
  for (const stack of AKS_STACKS) plans.set(stack, (await planJson(stack)).resources as PlannedResource[]);
});

test("the code's built-in role ids are the ones Microsoft publishes (dated table in fixtures)", () => {
  for (const [key, id] of Object.entries(BUILT_IN_ROLES))
    assert.equal(id, roles.roles[key as Role]?.id, `BUILT_IN_ROLES.${key} against ${roles.source} (${roles.version})`);
});

test("each AKS stack's resources grant the right principal the right built-in role at the right scope", () => {
  for (const [stack, resources] of plans) {
    const assignments = ofType(resources, "azure-native:authorization:RoleAssignment");
    const wanted = needs(resources);
    assert.ok(wanted.length >= 5, `${stack}: an AKS cluster with its grants`);
    for (const need of wanted) {
      const guid = roles.roles[need.role].id;
      const match = assignments.filter(
        (a) =>
          get(a.inputs, "principalId") === need.principal &&
          get(a.inputs, "scope") === need.scope &&
          String(get(a.inputs, "roleDefinitionId")).endsWith(`/roleDefinitions/${guid}`),
      );
      assert.equal(match.length, 1, `${stack}: ${need.what} needs ${roles.roles[need.role].name} (${guid}) at ${need.scope}`);
    }
  }
});

test("every role assignment names a service principal: managed identities, and the deployer, who runs from CI", () => {
  // Left unset, the provider sends `User` for the deployer, which ARM rejects for a pipeline's service principal.
  for (const [stack, resources] of plans)
    for (const a of ofType(resources, "azure-native:authorization:RoleAssignment")) {
      const who = get(a.inputs, "principalId") === MOCK_AZURE.objectId ? "the deployer" : "a managed identity";
      assert.equal(
        get(a.inputs, "principalType"),
        "ServicePrincipal",
        `${stack}: RoleAssignment ${a.name}.principalType (${who})`,
      );
    }
});

/**
 * Pulumi state secrets: outside `local`, a stack's config secrets and the secrets in its state are encrypted by
 * a KMS key of its own (Pulumi's cloud secrets providers), never by a passphrase that has to be shared with
 * every operator and CI runner. The key belongs to the cloud the stack deploys to, in the region it deploys to:
 * dr must be able to read its state while prod's region is down.
 */
import type { PlannedResource, Policy, PolicyContext } from "./types";

/** Pulumi's cloud secrets providers (gocloud.dev keepers): `pulumi stack change-secrets-provider` accepts these. */
export const KMS_SCHEMES = ["awskms", "azurekeyvault", "gcpkms", "hashivault"] as const;
export type KmsScheme = (typeof KMS_SCHEMES)[number];

/** Azure Key Vault key URL: vault names are 3-24 letters, digits and hyphens; an optional key version. */
const AZURE_KEY = /^azurekeyvault:\/\/[A-Za-z0-9-]{3,24}\.vault\.azure\.net\/keys\/[A-Za-z0-9-]{1,127}(\/[0-9a-f]{32})?$/;

/** The KMS a stack's resources call for: AWS stacks keep their state key in AWS KMS, Azure stacks in Key Vault. */
export function expectedSchemes(resources: readonly PlannedResource[]): KmsScheme[] {
  const out: KmsScheme[] = [];
  if (resources.some((r) => r.type.startsWith("aws:"))) out.push("awskms");
  if (resources.some((r) => r.type.startsWith("azure-native:"))) out.push("azurekeyvault");
  return out;
}

/** Problems with a stack's secrets provider outside local, each naming the stack file key. */
export function stateSecretsProblems(
  s: NonNullable<PolicyContext["stateSecrets"]>,
  environment: string,
  expected: readonly KmsScheme[] = [],
): string[] {
  if (environment === "local") return [];
  const provider = s.secretsProvider;
  if (provider === undefined || provider === "passphrase" || provider === "default")
    return [
      `secretsprovider is ${provider === undefined ? "not declared (the passphrase provider, or Pulumi Cloud's key)" : `'${provider}'`}: outside local the stack's secrets are encrypted by a KMS key of its own (${KMS_SCHEMES.map((k) => `${k}://`).join(", ")}), as docs/operations.md "State secrets" sets up`,
    ];
  const scheme = /^([a-z]+):\/\//.exec(provider)?.[1];
  if (!(KMS_SCHEMES as readonly string[]).includes(scheme ?? ""))
    return [`secretsprovider '${provider}' is not a KMS provider (${KMS_SCHEMES.map((k) => `${k}://`).join(", ")})`];
  const out: string[] = [];
  if (expected.length > 0 && !(expected as readonly string[]).includes(scheme!))
    out.push(`secretsprovider '${provider}' is not in the stack's own cloud: use ${expected.map((k) => `${k}://`).join(" or ")}`);
  if (scheme === "awskms") {
    const region = new URL(provider.replace(/^awskms:/, "https:")).searchParams.get("region");
    if (region === null)
      out.push(`secretsprovider '${provider}' names no ?region= (the key's region must not depend on the caller's environment)`);
    else if (s.awsRegion !== undefined && region !== s.awsRegion)
      out.push(
        `secretsprovider '${provider}' keeps the state key in ${region}, but the stack deploys to ${s.awsRegion}: an outage there would lock the stack out of its own state`,
      );
  }
  if (scheme === "azurekeyvault" && !AZURE_KEY.test(provider))
    out.push(`secretsprovider '${provider}' must be azurekeyvault://<vault>.vault.azure.net/keys/<key>`);
  if (s.hasEncryptionSalt)
    out.push("encryptionsalt belongs to the passphrase provider: remove it (change-secrets-provider does)");
  return out;
}

export const stateSecretsKms: Policy = {
  name: "state-secrets-kms",
  description:
    "Outside local, the stack file declares a KMS secrets provider (awskms://, azurekeyvault://, gcpkms://, hashivault://) in the stack's own cloud and region; never the passphrase provider.",
  check(resources, ctx) {
    if (ctx.stateSecrets === undefined) return [];
    return stateSecretsProblems(ctx.stateSecrets, ctx.environment, expectedSchemes(resources)).map((message) => ({
      resource: ctx.stateSecrets!.file,
      message,
    }));
  },
};

/** Reads the running stack's config from the Pulumi SDK: the one place the program touches `pulumi.Config`. */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import type { RawConfig, RawConfigValue } from "./load";

// The SDK knows which keys are secret (the language host passes them) but leaves `isConfigSecret` out of its
// typings; we need it to reject plain-text credentials and secret-wrapped settings.
const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret(key: string): boolean };

/** Config namespaces of the providers the program uses; any other foreign namespace is a typo of ours. */
export const PROVIDER_NAMESPACES: readonly string[] = ["aws", "azure-native", "kubernetes", "pulumi"];

export function readStackConfig(project: string = pulumi.getProject()): RawConfig {
  const prefix = `${project}:`;
  const raw = new Map<string, RawConfigValue>();
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(prefix)) {
      raw.set(fullKey.slice(prefix.length), { value, secret: isConfigSecret(fullKey) });
      continue;
    }
    // Provider config such as kubernetes:context is not ours; a misspelled project namespace
    // (`llm-platfrom:domain`) is kept whole so that validation reports it instead of a missing `domain`.
    if (!PROVIDER_NAMESPACES.includes(fullKey.split(":")[0])) raw.set(fullKey, { value, secret: isConfigSecret(fullKey) });
  }
  return raw;
}

/** A secret config value as a Pulumi secret output; validation has already checked that it exists. */
export function secretValue(key: string): pulumi.Output<string> {
  return new pulumi.Config().requireSecret(key);
}

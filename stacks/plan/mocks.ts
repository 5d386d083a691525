/**
 * Pulumi mocks for offline runs: resources echo their inputs back as state (what Pulumi's unit-testing
 * guide does), plus the few computed outputs and invoke results the program reads.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** Results of provider functions (invokes) the program calls, by token. */
export type InvokeHandler = (inputs: Record<string, unknown>) => Record<string, unknown>;
export const invokeResults: Record<string, InvokeHandler> = {};

export function createMocks(record: (r: RecordedResource) => void): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      record({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      const state: Record<string, unknown> = { ...args.inputs };
      // Kubernetes objects get the name the provider would auto-generate, so references resolve.
      if (args.type.startsWith("kubernetes:") && state.metadata && typeof state.metadata === "object") {
        const metadata = state.metadata as Record<string, unknown>;
        state.metadata = { ...metadata, name: metadata.name ?? `${args.name}-0000000` };
      }
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      const handler = invokeResults[args.token];
      if (handler) return handler(args.inputs as Record<string, unknown>);
      return args.inputs as Record<string, unknown>;
    },
  };
}

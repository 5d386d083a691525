/**
 * How a model folder reaches the pod: an init container copies it from the object store into the cache
 * volume, or a PersistentVolumeClaim that already holds it is mounted read-only.
 */
import type * as k8s from "@pulumi/kubernetes";
import { restrictedContainerSecurityContext } from "../security/pod-security";

/** `egressCidrs`: where the store is reached (unset: any address), for the init container's egress policy. */
export type ModelSource =
  | { kind: "demo" }
  | { kind: "s3"; uri: string; egressCidrs?: string[] }
  | { kind: "azureBlob"; uri: string; egressCidrs?: string[] }
  | { kind: "https"; uri: string; egressCidrs?: string[] }
  | { kind: "pvc"; claimName: string; subPath: string };

type FetchedSource = Exclude<ModelSource, { kind: "demo" } | { kind: "pvc" }>;

/**
 * What the init container connects to: the store's HTTPS port (an https:// source may name its own) and
 * addresses. Cloud object stores and their token endpoints have no fixed addresses, hence any by default.
 */
export function storeEndpoint(source: ModelSource): { port: number; cidrs: string[] } | undefined {
  if (source.kind === "demo" || source.kind === "pvc") return undefined;
  const port = source.kind === "https" ? Number(new URL(source.uri).port || 443) : 443;
  return { port, cidrs: source.egressCidrs ?? ["0.0.0.0/0"] };
}

/** Where the runtime reads the model; the cache volume or the claim is mounted here. */
export const MODEL_MOUNT = "/models";
export const MODEL_DIR = `${MODEL_MOUNT}/model`;

/** Pinned tool images for the fetch step (digest pinning is left to the registry mirror policy). */
export const FETCH_IMAGES = {
  s3: "public.ecr.aws/aws-cli/aws-cli:2.27.50",
  azureBlob: "mcr.microsoft.com/azure-cli:2.75.0",
  https: "docker.io/curlimages/curl:8.15.0",
} as const;

const fetchResources = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };

function fetchScript(source: FetchedSource): string {
  // A marker file makes restarts cheap: the cache volume survives container restarts within the pod.
  const done = `${MODEL_DIR}/.fetched`;
  switch (source.kind) {
    case "s3":
      return `set -eu; [ -f ${done} ] && exit 0; aws s3 sync '${source.uri}' ${MODEL_DIR} --only-show-errors --no-progress; touch ${done}`;
    case "azureBlob":
      return (
        `set -eu; [ -f ${done} ] && exit 0; ` +
        // The serving identity holds only a container-scope role, so it sees no subscription: without
        // --allow-no-subscriptions the login fails with "No subscriptions found".
        `az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions >/dev/null; ` +
        `az storage copy --source '${source.uri}/*' --destination ${MODEL_DIR} --recursive --auth-mode login --only-show-errors; touch ${done}`
      );
    case "https":
      return `set -eu; [ -f ${done} ] && exit 0; mkdir -p ${MODEL_DIR}; curl -fsSL --proto '=https' --tlsv1.2 '${source.uri}' | tar -xz -C ${MODEL_DIR}; touch ${done}`;
  }
}

/** The init container that fills the cache volume, or none when the source needs no copy. */
export function modelFetchContainer(source: ModelSource, volumeName: string): k8s.types.input.core.v1.Container[] {
  if (source.kind === "demo" || source.kind === "pvc") return [];
  return [
    {
      name: "fetch-model",
      image: FETCH_IMAGES[source.kind],
      command: ["/bin/sh", "-c", fetchScript(source)],
      env: [{ name: "HOME", value: "/tmp" }],
      resources: fetchResources,
      securityContext: restrictedContainerSecurityContext,
      volumeMounts: [
        { name: volumeName, mountPath: MODEL_MOUNT },
        { name: "tmp", mountPath: "/tmp" },
      ],
    },
  ];
}

/** The volume the runtime reads the model from. */
export function modelVolume(
  source: ModelSource,
  volumeName: string,
  cache: { storageClass: k8s.types.input.core.v1.PersistentVolumeClaimSpec["storageClassName"]; size: string },
): k8s.types.input.core.v1.Volume {
  if (source.kind === "pvc") return { name: volumeName, persistentVolumeClaim: { claimName: source.claimName, readOnly: true } };
  if (source.kind === "demo") return { name: volumeName, emptyDir: { sizeLimit: "1Gi" } };
  // A generic ephemeral volume: sized and placed by the cluster's storage class, deleted with the pod.
  return {
    name: volumeName,
    ephemeral: {
      volumeClaimTemplate: {
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: cache.storageClass,
          resources: { requests: { storage: cache.size } },
        },
      },
    },
  };
}

/** Runtime arguments that select the model. */
export function modelArgs(source: ModelSource): string[] {
  if (source.kind === "demo") return ["--demo"];
  if (source.kind === "pvc") return ["--model", source.subPath ? `${MODEL_MOUNT}/${source.subPath}` : MODEL_MOUNT];
  return ["--model", MODEL_DIR];
}

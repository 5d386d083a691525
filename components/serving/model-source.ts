/**
 * How a model folder reaches the pod: the fetch step (an init container, or the shared cache's Job in
 * model-cache.ts) copies one pinned, verified version from the store, or a PersistentVolumeClaim that already
 * holds it is mounted read-only. Either way the runtime checks the manifest digest again at load.
 */
import type * as k8s from "@pulumi/kubernetes";
import { restrictedContainerSecurityContext } from "../security/pod-security";

/** A published artifact: the version folder under the source's prefix and its manifest digest. */
export interface ArtifactPin {
  version?: string;
  digest?: string;
}

/** `egressCidrs`: where the store is reached (unset: any address), for the fetch step's egress policy. */
export type ModelSource =
  | { kind: "demo" }
  | ({ kind: "s3"; uri: string; egressCidrs?: string[] } & ArtifactPin)
  | ({ kind: "azureBlob"; uri: string; egressCidrs?: string[] } & ArtifactPin)
  | ({ kind: "https"; uri: string; egressCidrs?: string[] } & ArtifactPin)
  | ({ kind: "pvc"; claimName: string; subPath: string } & ArtifactPin);

/** A source that is copied from a store (object store or https) before the runtime starts. */
export type FetchedSource = Exclude<ModelSource, { kind: "demo" } | { kind: "pvc" }>;

export const isFetched = (source: ModelSource): source is FetchedSource => source.kind !== "demo" && source.kind !== "pvc";

/** The pin of a source that names both its version and digest, else undefined (dev and local may float). */
export function pinOf(source: ModelSource): Required<ArtifactPin> | undefined {
  if (source.kind === "demo" || source.version === undefined || source.digest === undefined) return undefined;
  return { version: source.version, digest: source.digest };
}

/**
 * What the fetch step connects to: the store's HTTPS port (an https:// source may name its own) and
 * addresses. Cloud object stores and their token endpoints have no fixed addresses, hence any by default.
 */
export function storeEndpoint(source: ModelSource): { port: number; cidrs: string[] } | undefined {
  if (!isFetched(source)) return undefined;
  const port = source.kind === "https" ? Number(new URL(source.uri).port || 443) : 443;
  return { port, cidrs: source.egressCidrs ?? ["0.0.0.0/0"] };
}

/** Where the runtime reads the model; the cache volume or the claim is mounted here. */
export const MODEL_MOUNT = "/models";
export const MODEL_DIR = `${MODEL_MOUNT}/model`;

/**
 * The artifact tool in the runtime image: `fetch` downloads exactly one version folder, checks every file's
 * size and SHA-256 against the manifest whose digest it is given, and marks the folder complete. Credentials
 * come from the SDKs' default chains (EKS Pod Identity, Azure workload identity).
 */
export const LLM_MODEL_TOOL = "/app/tools/llm-model";

/** Tool images for an unpinned source (local and dev only): copied as it is, checked by nobody. */
export const FETCH_IMAGES = {
  s3: "public.ecr.aws/aws-cli/aws-cli:2.27.50",
  azureBlob: "mcr.microsoft.com/azure-cli:2.75.0",
  https: "docker.io/curlimages/curl:8.15.0",
} as const;

/** The fetch step's container resources (hashing is one core; the quota counts the limits). */
export const FETCH_RESOURCES = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };

/** The object-store prefix without a trailing slash: the tool appends `/<version>/`. */
const prefixOf = (uri: string) => uri.replace(/\/+$/, "");

function copyScript(source: FetchedSource, dir: string): string {
  // A marker file makes restarts cheap: the cache volume survives container restarts within the pod.
  const done = `${dir}/.fetched`;
  switch (source.kind) {
    case "s3":
      return `set -eu; [ -f ${done} ] && exit 0; aws s3 sync '${source.uri}' ${dir} --only-show-errors --no-progress; touch ${done}`;
    case "azureBlob":
      return (
        `set -eu; [ -f ${done} ] && exit 0; ` +
        // The serving identity holds only a container-scope role, so it sees no subscription: without
        // --allow-no-subscriptions the login fails with "No subscriptions found".
        `az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions >/dev/null; ` +
        `az storage copy --source '${source.uri}/*' --destination ${dir} --recursive --auth-mode login --only-show-errors; touch ${done}`
      );
    case "https":
      return `set -eu; [ -f ${done} ] && exit 0; mkdir -p ${dir}; curl -fsSL --proto '=https' --tlsv1.2 '${source.uri}' | tar -xz -C ${dir}; touch ${done}`;
  }
}

/**
 * The image and command that put `source` into `dir`. A pinned object-store source runs the artifact tool
 * from the runtime image (already on the node for the runtime container); a pinned https tarball is unpacked
 * with curl and held to its digest by the runtime at load (`--model-digest`); an unpinned source (local, dev)
 * is copied with the store's CLI.
 */
export function fetchStep(source: FetchedSource, dir: string, runtimeImage: string): { image: string; command: string[] } {
  const pin = pinOf(source);
  if (pin && source.kind !== "https")
    return {
      image: runtimeImage,
      command: [
        LLM_MODEL_TOOL,
        "fetch",
        "--from",
        prefixOf(source.uri),
        "--version",
        pin.version,
        "--digest",
        pin.digest,
        "--to",
        dir,
      ],
    };
  return { image: FETCH_IMAGES[source.kind], command: ["/bin/sh", "-c", copyScript(source, dir)] };
}

/** The fetch container: fills `MODEL_DIR` on the volume `volumeName`, mounted at `MODEL_MOUNT`. */
export function fetchContainer(
  source: FetchedSource,
  volumeName: string,
  runtimeImage: string,
): k8s.types.input.core.v1.Container {
  return {
    name: "fetch-model",
    ...fetchStep(source, MODEL_DIR, runtimeImage),
    env: [{ name: "HOME", value: "/tmp" }],
    resources: FETCH_RESOURCES,
    securityContext: restrictedContainerSecurityContext,
    volumeMounts: [
      { name: volumeName, mountPath: MODEL_MOUNT },
      { name: "tmp", mountPath: "/tmp" },
    ],
  };
}

/** The init container that fills the pod's own model volume, or none when the source needs no copy. */
export function modelFetchContainer(
  source: ModelSource,
  volumeName: string,
  runtimeImage: string,
): k8s.types.input.core.v1.Container[] {
  return isFetched(source) ? [fetchContainer(source, volumeName, runtimeImage)] : [];
}

/** The volume the runtime reads the model from when the cluster has no shared cache for it. */
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

/**
 * Runtime arguments that select the model. A pinned model also gets `--model-digest`: the runtime refuses a
 * folder whose manifest has another digest and checks file sizes and hashes at load, so a claim someone else
 * fills (pvc) or a tarball (https) is held to the same pin as a fetched artifact.
 */
export function modelArgs(source: ModelSource): string[] {
  if (source.kind === "demo") return ["--demo"];
  const dir = source.kind === "pvc" ? (source.subPath ? `${MODEL_MOUNT}/${source.subPath}` : MODEL_MOUNT) : MODEL_DIR;
  const pin = pinOf(source);
  return ["--model", dir, ...(pin ? ["--model-digest", pin.digest] : [])];
}

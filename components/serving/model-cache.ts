/**
 * The shared model cache: per model version, one ReadWriteMany claim on the cluster's shared class and one Job
 * that fills it with the pinned artifact through the fetch step (which verifies every file against the
 * manifest digest). Pulumi waits for the Job to complete, and the Deployment depends on it, so serving pods
 * start only on a complete, verified copy, mount it read-only, and a second replica downloads nothing.
 * Claim and Job are named after the digest: a new version gets a new claim next to the old one, the rollout
 * moves the pods, and the old claim goes when no pod uses it any more.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterRecord } from "../clusters/record";
import { modelStoreEgress } from "../security/network-policy";
import { restrictedPodSecurityContext } from "../security/pod-security";
import { fetchContainer, isFetched, pinOf, storeEndpoint, type FetchedSource, type ModelSource } from "./model-source";
import { fetchJobTimeouts, quantityGiB, type StartupBudget } from "./startup-budget";

/** Labels of the cache Jobs' pods (not the runtime's: the gateway and Prometheus policies must not match them). */
export const CACHE_JOB_LABELS = { "app.kubernetes.io/name": "llm-model-cache" } as const;

/** Whether a model is served from the cluster's shared cache: a pinned, fetched source on a cluster that has one. */
export function usesSharedCache(cluster: Pick<ClusterRecord, "sharedCache">, source: ModelSource): source is FetchedSource {
  return cluster.sharedCache !== undefined && isFetched(source) && pinOf(source) !== undefined;
}

/** `<model>-<first 12 hex digits of the digest>`: at most 53 characters for a 40-character model name. */
export function cacheName(model: string, digest: string): string {
  return `${model}-${digest.replace(/^sha256:/, "").slice(0, 12)}`;
}

/** The claim's size: the model's, raised to the class's minimum (Azure Files premium provisions 100Gi at least). */
export function cacheClaimSize(size: string, minimum?: string): string {
  return minimum !== undefined && quantityGiB(minimum) > quantityGiB(size) ? minimum : size;
}

export interface ModelCacheArgs {
  cluster: ClusterRecord;
  namespace: string;
  model: string;
  source: FetchedSource;
  /** The runtime image: it carries the artifact tool the fetch step runs. */
  image: string;
  size: string;
  budget: StartupBudget;
  /** The serving service account: its cloud identity reads the model store. */
  serviceAccount?: { name: pulumi.Input<string>; podLabels: Record<string, string> };
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class ModelCache extends pulumi.ComponentResource {
  readonly claimName: pulumi.Output<string>;
  readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: ModelCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:serving:ModelCache", name, {}, opts);
    const { cluster, source } = args;
    const pin = pinOf(source);
    if (!cluster.sharedCache) throw new Error(`ModelCache ${name}: cluster '${cluster.name}' has no shared storage class`);
    if (!pin) throw new Error(`ModelCache ${name}: model '${args.model}' is not pinned (source version and digest)`);
    const child = { parent: this, provider: cluster.provider, dependsOn: [...cluster.ready, ...(args.dependsOn ?? [])] };
    const objectName = cacheName(args.model, pin.digest);
    const labels = {
      ...CACHE_JOB_LABELS,
      "app.kubernetes.io/instance": args.model,
      "llm-platform.io/model-version": pin.version,
    };

    const claim = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-claim`,
      {
        metadata: { name: objectName, namespace: args.namespace, labels },
        spec: {
          accessModes: ["ReadWriteMany"],
          storageClassName: cluster.sharedCache.storageClass,
          resources: { requests: { storage: cacheClaimSize(args.size, cluster.sharedCache.minimumSize) } },
        },
      },
      child,
    );
    this.claimName = claim.metadata.name;

    // The Job's pod reaches the store like an init container would: its own egress policy, same endpoints.
    const store = storeEndpoint(source);
    const egress = store
      ? [
          modelStoreEgress(
            `${name}-store`,
            { namespace: args.namespace, podLabels: labels, store, credentialEndpoints: cluster.credentialEndpoints },
            child,
          ),
        ]
      : [];

    const timeouts = fetchJobTimeouts(args.budget);
    this.job = new k8s.batch.v1.Job(
      `${name}-fill`,
      {
        metadata: { name: objectName, namespace: args.namespace, labels },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: timeouts.activeDeadlineSeconds,
          template: {
            metadata: { labels: { ...args.serviceAccount?.podLabels, ...labels } },
            spec: {
              restartPolicy: "Never",
              serviceAccountName: args.serviceAccount?.name,
              automountServiceAccountToken: false,
              securityContext: restrictedPodSecurityContext,
              containers: [fetchContainer(source, "cache", args.image)],
              volumes: [
                { name: "cache", persistentVolumeClaim: { claimName: claim.metadata.name } },
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
              ],
            },
          },
        },
      },
      {
        ...child,
        dependsOn: [...child.dependsOn, claim, ...egress],
        customTimeouts: { create: timeouts.create, update: timeouts.update },
      },
    );
    this.registerOutputs({ claimName: this.claimName });
  }
}

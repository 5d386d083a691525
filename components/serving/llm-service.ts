/**
 * LlmService: one model served by the runtime image on one cluster. Owns the Deployment, its Service, the
 * API-key Secret mounted as the runtime's key file and, where replicas allow, a PodDisruptionBudget.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterRecord } from "../clusters/record";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../security/pod-security";
import { modelArgs, modelFetchContainer, modelVolume, MODEL_MOUNT, type ModelSource } from "./model-source";

export interface LlmServiceArgs {
  cluster: ClusterRecord;
  namespace: pulumi.Input<string>;
  model: {
    name: string;
    source: ModelSource;
    gpus: number;
    resources: { cpu: string; memory: string };
    replicas: { min: number; max: number };
    maxConcurrent: number;
    maxQueue: number;
    cacheSize: string;
  };
  image: string;
  /** API keys, one per line; must be a secret. */
  apiKeys: pulumi.Input<string>;
  /** Seconds in-flight requests get to finish after SIGTERM (the runtime's drain grace period). */
  drainSeconds?: number;
}

/** Port the runtime listens on inside the pod. */
export const RUNTIME_PORT = 8080;
const KEYS_DIR = "/etc/llm-runtime";
const DEFAULT_DRAIN_SECONDS = 60;

export class LlmService extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly labels: Record<string, string>;

  constructor(name: string, args: LlmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:serving:LlmService", name, {}, opts);
    const { cluster, model } = args;
    const child = { parent: this, provider: cluster.provider, dependsOn: cluster.ready };
    const drain = args.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
    this.labels = { "app.kubernetes.io/name": "llm-runtime", "app.kubernetes.io/instance": model.name };

    const keys = new k8s.core.v1.Secret(
      `${name}-api-keys`,
      {
        metadata: { namespace: args.namespace, labels: this.labels },
        type: "Opaque",
        stringData: { "api-keys": pulumi.secret(args.apiKeys) },
      },
      child,
    );

    const gpuLimits: Record<string, string> =
      cluster.gpu.enabled && model.gpus > 0 ? { [cluster.gpu.resourceName]: String(model.gpus) } : {};
    const onGpu = Object.keys(gpuLimits).length > 0;

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { namespace: args.namespace, labels: this.labels },
        spec: {
          replicas: Math.max(model.replicas.min, 1),
          selector: { matchLabels: this.labels },
          // Never drop below the serving count during a rollout: a new pod needs minutes to load a model.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels: this.labels,
              annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(RUNTIME_PORT) },
            },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPodSecurityContext,
              terminationGracePeriodSeconds: drain + 15,
              nodeSelector: onGpu ? cluster.gpu.nodeSelector : undefined,
              tolerations: onGpu ? cluster.gpu.tolerations : undefined,
              initContainers: modelFetchContainer(model.source, "model"),
              containers: [
                {
                  name: "runtime",
                  image: args.image,
                  args: [
                    ...modelArgs(model.source),
                    "--model-name",
                    model.name,
                    "--api-keys-file",
                    `${KEYS_DIR}/api-keys`,
                    "--max-concurrent",
                    String(model.maxConcurrent),
                    "--max-queue",
                    String(model.maxQueue),
                    "--urls",
                    `http://0.0.0.0:${RUNTIME_PORT}`,
                  ],
                  ports: [{ name: "http", containerPort: RUNTIME_PORT }],
                  resources: {
                    requests: { cpu: model.resources.cpu, memory: model.resources.memory, ...gpuLimits },
                    limits: { cpu: model.resources.cpu, memory: model.resources.memory, ...gpuLimits },
                  },
                  securityContext: restrictedContainerSecurityContext,
                  readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, failureThreshold: 2 },
                  livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                  // Model load can take minutes on a cold cache: allow up to 15 minutes before liveness starts.
                  startupProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 10, failureThreshold: 90 },
                  volumeMounts: [
                    { name: "model", mountPath: MODEL_MOUNT, readOnly: model.source.kind !== "demo" },
                    { name: "api-keys", mountPath: KEYS_DIR, readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                modelVolume(model.source, "model", { storageClass: cluster.storageClass, size: model.cacheSize }),
                { name: "api-keys", secret: { secretName: keys.metadata.name, defaultMode: 0o440 } },
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
              ],
            },
          },
        },
      },
      child,
    );

    this.service = new k8s.core.v1.Service(
      name,
      {
        metadata: { namespace: args.namespace, labels: this.labels },
        spec: { type: "ClusterIP", selector: this.labels, ports: [{ name: "http", port: RUNTIME_PORT, targetPort: "http" }] },
      },
      child,
    );

    if (model.replicas.min >= 2) {
      new k8s.policy.v1.PodDisruptionBudget(
        name,
        {
          metadata: { namespace: args.namespace, labels: this.labels },
          spec: { maxUnavailable: 1, selector: { matchLabels: this.labels } },
        },
        child,
      );
    }
    this.registerOutputs({ service: this.service.metadata.name });
  }
}

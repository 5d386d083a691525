/**
 * KEDA (chart) and the ScaledObject each model gets: Prometheus triggers on the runtime's queue depth
 * (`llm_requests_waiting`) and concurrency (`llm_requests_running`), and, where a model may scale to zero,
 * the KEDA HTTP add-on's `external-push` trigger: the requests its interceptor holds while no replica runs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord } from "../clusters/record";
import { memoryMi } from "../security/quantity";
import { externalPushTrigger } from "./http-add-on";

export interface KedaArgs {
  cluster: ClusterRecord;
  namespace: string;
  highAvailability: boolean;
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

/** Limits (memory) of what KEDA's chart runs with these values: every replica, plus one surge pod of the largest
 * during a rollout (Deployment default maxSurge 25% rounds up to 1). The keda namespace quota is sized from it. */
export function kedaMemoryLimitMi(ha: boolean): number {
  const values = kedaValues(ha) as {
    operator: { replicaCount: number };
    resources: Record<"operator" | "metricServer" | "webhooks", { limits: { memory: string } }>;
  };
  const replicas = values.operator.replicaCount;
  const limits = Object.values(values.resources).map((r) => memoryMi(r.limits.memory));
  return replicas * limits.reduce((a, b) => a + b, 0) + Math.max(...limits);
}

export function kedaValues(ha: boolean): Record<string, unknown> {
  // The operator is leader-elected (a second replica is a warm standby); the metrics API server and the
  // admission webhooks serve requests and scale out.
  const replicas = ha ? 2 : 1;
  const pdb = ha ? { minAvailable: 1 } : undefined;
  return {
    operator: { replicaCount: replicas },
    metricsServer: { replicaCount: replicas },
    webhooks: { replicaCount: replicas },
    podDisruptionBudget: pdb ? { operator: pdb, metricServer: pdb, webhooks: pdb } : {},
    resources: {
      operator: containerResources("100m", "256Mi", "1", "1Gi"),
      metricServer: containerResources("100m", "256Mi", "1", "1Gi"),
      webhooks: containerResources("50m", "128Mi", "500m", "256Mi"),
    },
    prometheus: {
      operator: { enabled: true, serviceMonitor: { enabled: true } },
      metricServer: { enabled: true, serviceMonitor: { enabled: true } },
    },
  };
}

export class Keda extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: KedaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:autoscaling:Keda", name, {}, opts);
    this.release = chartRelease(
      `${name}-keda`,
      { pin: CHARTS.keda, releaseName: "keda", namespace: args.namespace, values: kedaValues(args.highAvailability) },
      { parent: this, provider: args.cluster.provider, dependsOn: [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])] },
    );
    this.registerOutputs({});
  }
}

export interface QueueScalingArgs {
  /** Name of the ScaledObject; KEDA names the HPA it manages `keda-hpa-<name>`. */
  scaledObjectName: string;
  namespace: string;
  deploymentName: pulumi.Input<string>;
  /** Value of the `model` label the ServiceMonitor puts on the runtime's series. */
  model: string;
  replicas: { min: number; max: number };
  /** Waiting requests per replica before another replica is added. */
  targetQueueDepth: number;
  /** The runtime's concurrent-generation limit; the running trigger aims below it. */
  maxConcurrent: number;
  prometheusUrl: string;
  /**
   * Scale from zero through the KEDA HTTP add-on (http-add-on.ts): the add-on's scaler (in KEDA's namespace)
   * and the HTTPScaledObject whose held requests wake the model.
   */
  scaleFromZero?: { scalerNamespace: string; httpScaledObject: string };
}

/** Series selector of one model's runtime metrics. */
const sel = (a: Pick<QueueScalingArgs, "namespace" | "model">) => `{namespace="${a.namespace}",model="${a.model}"}`;

/** Running generations per replica that trigger a scale-out: 75% of the limit, so new replicas load before saturation. */
export const runningTarget = (maxConcurrent: number) => Math.max(1, Math.floor(maxConcurrent * 0.75));

export function validateQueueScaling(a: Pick<QueueScalingArgs, "replicas" | "targetQueueDepth" | "scaleFromZero">): string[] {
  const out: string[] = [];
  if (a.replicas.max < 1) out.push(`replicas.max must be >= 1, got ${a.replicas.max}`);
  if (a.replicas.min > a.replicas.max) out.push(`replicas.min (${a.replicas.min}) must be <= replicas.max (${a.replicas.max})`);
  if (a.targetQueueDepth < 1) out.push(`targetQueueDepth must be >= 1, got ${a.targetQueueDepth}`);
  if (a.replicas.min === 0 && a.scaleFromZero === undefined)
    out.push(
      "replicas.min 0 needs scaleFromZero: with no replica running only the HTTP add-on's interceptor sees (and holds) the requests, so nothing else would scale it up",
    );
  return out;
}

export function scalingTriggers(a: QueueScalingArgs): Record<string, unknown>[] {
  const prom = (query: string, threshold: number, activation?: number) => ({
    type: "prometheus",
    metricType: "AverageValue",
    metadata: {
      serverAddress: a.prometheusUrl,
      query,
      threshold: String(threshold),
      ...(activation === undefined ? {} : { activationThreshold: String(activation) }),
      // No series (pods gone, Prometheus restarted) counts as zero instead of failing the scaler.
      ignoreNullValues: "true",
    },
  });
  const triggers: Record<string, unknown>[] = [
    prom(`sum(llm_requests_waiting${sel(a)})`, a.targetQueueDepth, 0),
    prom(`sum(llm_requests_running${sel(a)})`, runningTarget(a.maxConcurrent), 0),
  ];
  // At zero replicas only the interceptor sees demand: it holds the requests and its scaler activates 0 -> 1.
  if (a.replicas.min === 0 && a.scaleFromZero)
    triggers.push(externalPushTrigger(a.scaleFromZero.scalerNamespace, a.scaleFromZero.httpScaledObject));
  return triggers;
}

export function queueScaledObject(
  name: string,
  a: QueueScalingArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  const problems = validateQueueScaling(a);
  if (problems.length > 0) throw new Error(`ScaledObject ${name}: ${problems.join("; ")}`);
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: a.scaledObjectName, namespace: a.namespace },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: a.deploymentName },
        minReplicaCount: a.replicas.min,
        maxReplicaCount: a.replicas.max,
        pollingInterval: 15,
        // Scale to zero only after 15 idle minutes: a cold start reloads the model.
        cooldownPeriod: 900,
        advanced: {
          horizontalPodAutoscalerConfig: {
            behavior: {
              // Add replicas fast (one at a time, each takes minutes to load), remove them slowly.
              scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
              scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: "Pods", value: 1, periodSeconds: 300 }] },
            },
          },
        },
        triggers: scalingTriggers(a),
      },
    },
    opts,
  );
}

/**
 * The namespaces of the Kubernetes layer, each with its Pod Security Standard, a ResourceQuota and a
 * LimitRange, plus the PriorityClass inference pods run at. Quotas bound what a namespace can take from the
 * cluster; LimitRange defaults give chart pods that set no resources a request, so quotas can be enforced.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterRecord } from "../clusters/record";
import { podSecurityLabels } from "./pod-security";
import { cpuMillis, formatCpu, formatMemory, memoryMi } from "./quantity";

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

export interface NamespaceSpec {
  name: string;
  podSecurity: PodSecurityLevel;
  /** ResourceQuota `hard` limits. */
  quota: Record<string, string>;
  /** Defaults for containers that set none (LimitRange). */
  defaults: { cpu: string; memory: string; memoryLimit: string };
  labels?: Record<string, string>;
}

/** Label on the namespace that holds inference workloads; the policy suite checks it has a default deny. */
export const SERVING_TIER_LABEL = "llm-platform.io/tier";

export const NAMESPACES = {
  serving: "llm-serving",
  gateway: "envoy-gateway-system",
  certManager: "cert-manager",
  monitoring: "monitoring",
  keda: "keda",
  gpuOperator: "gpu-operator",
} as const;

/** PriorityClass of inference pods: above ordinary workloads, below the cluster's system-critical classes. */
export const INFERENCE_PRIORITY_CLASS = "llm-inference";
const INFERENCE_PRIORITY = 100_000;

export interface ServingFootprint {
  cpu: string;
  memory: string;
  gpus: number;
  cacheSize?: string;
  /** The model's claim on the cluster's shared cache and the Job that fills it (instead of `cacheSize` per pod). */
  sharedCache?: { size: string; jobCpu: string; jobMemory: string };
  replicas: { max: number };
}

/**
 * Quota of the serving namespace: every model at its max replicas plus one surge pod (rolling updates use
 * maxSurge 1), so the autoscaler is never capped by the quota, while a runaway scaler still is; plus, per model
 * on the shared cache, its claims and its fill Job.
 */
export function servingQuota(models: readonly ServingFootprint[], gpuResource: string): Record<string, string> {
  let cpu = 0;
  let mem = 0;
  let gpu = 0;
  let storage = 0;
  let pods = 0;
  for (const m of models) {
    const n = m.replicas.max + 1;
    cpu += n * cpuMillis(m.cpu);
    mem += n * memoryMi(m.memory);
    gpu += n * m.gpus;
    storage += m.cacheSize ? n * memoryMi(m.cacheSize) : 0;
    pods += n;
    if (m.sharedCache) {
      // Two versions' claims while a new version rolls out; one running fill Job (finished pods are not counted).
      storage += 2 * memoryMi(m.sharedCache.size);
      cpu += cpuMillis(m.sharedCache.jobCpu);
      mem += memoryMi(m.sharedCache.jobMemory);
      pods += 1;
    }
  }
  const quota: Record<string, string> = {
    "requests.cpu": formatCpu(cpu),
    "limits.cpu": formatCpu(cpu),
    "requests.memory": formatMemory(mem),
    "limits.memory": formatMemory(mem),
    pods: String(pods),
    "services.loadbalancers": "0",
    "services.nodeports": "0",
  };
  if (gpu > 0) quota[`requests.${gpuResource}`] = String(gpu);
  if (storage > 0) quota["requests.storage"] = formatMemory(storage);
  return quota;
}

/** The platform namespaces other than serving. Their quotas are ceilings sized for the charts we install. */
export function platformNamespaces(opts: {
  gpuOperator: boolean;
  monitoringStorage: string;
  prometheus: { cpu: string; memory: string };
  replicas: number;
  /** Pods and resources the KEDA HTTP add-on adds to the keda namespace, when installed (httpAddOnQuota). */
  kedaAddOn?: { pods: number; cpuMilli: number; memoryMi: number; memoryLimitMi: number };
  /** Memory limits KEDA itself runs with (kedaMemoryLimitMi): two replicas of each part in HA pass the 4Gi floor. */
  kedaMemoryLimitMi?: number;
}): NamespaceSpec[] {
  const smallDefaults = { cpu: "50m", memory: "64Mi", memoryLimit: "256Mi" };
  const add = opts.kedaAddOn;
  const promCpu = cpuMillis(opts.prometheus.cpu) * opts.replicas;
  const promMem = memoryMi(opts.prometheus.memory) * opts.replicas;
  const specs: NamespaceSpec[] = [
    {
      name: NAMESPACES.certManager,
      podSecurity: "restricted",
      quota: { "requests.cpu": "2", "requests.memory": "2Gi", "limits.memory": "4Gi", pods: "20", "services.loadbalancers": "0" },
      defaults: smallDefaults,
    },
    {
      // Envoy proxies are created here by the controller; baseline because the proxy's shutdown-manager
      // sidecar is outside our control and a rejected proxy pod is an outage.
      name: NAMESPACES.gateway,
      podSecurity: "baseline",
      quota: {
        "requests.cpu": "8",
        "requests.memory": "8Gi",
        "limits.memory": "16Gi",
        pods: "30",
        "services.loadbalancers": "2",
      },
      defaults: { cpu: "100m", memory: "128Mi", memoryLimit: "512Mi" },
    },
    {
      // node-exporter needs the host network, PID namespace and host paths.
      name: NAMESPACES.monitoring,
      podSecurity: "privileged",
      quota: {
        // Headroom beyond Prometheus is for per-node pods (node-exporter) on clusters of a few hundred nodes.
        "requests.cpu": formatCpu(promCpu + 16000),
        "requests.memory": formatMemory(promMem + 32768),
        "limits.memory": formatMemory(promMem * 2 + 65536),
        "requests.storage": formatMemory(memoryMi(opts.monitoringStorage) * opts.replicas + 30 * 1024),
        pods: "1000",
        "services.loadbalancers": "0",
      },
      defaults: { cpu: "100m", memory: "128Mi", memoryLimit: "512Mi" },
    },
    {
      name: NAMESPACES.keda,
      podSecurity: "restricted",
      quota: {
        "requests.cpu": formatCpu(2000 + (add?.cpuMilli ?? 0)),
        "requests.memory": formatMemory(2048 + (add?.memoryMi ?? 0)),
        "limits.memory": formatMemory(Math.max(4096, opts.kedaMemoryLimitMi ?? 0) + (add?.memoryLimitMi ?? 0)),
        pods: String(20 + (add?.pods ?? 0)),
        "services.loadbalancers": "0",
      },
      defaults: smallDefaults,
    },
  ];
  if (opts.gpuOperator)
    specs.push({
      // The driver, toolkit and device plugin daemonsets run privileged on the GPU nodes.
      name: NAMESPACES.gpuOperator,
      podSecurity: "privileged",
      // About ten operand pods per GPU node: the ceiling allows a few hundred GPU nodes.
      quota: { pods: "3000", "services.loadbalancers": "0" },
      defaults: { cpu: "100m", memory: "128Mi", memoryLimit: "1Gi" },
    });
  return specs;
}

/** Namespace names must be unique: each becomes one Namespace object. */
export function validateNamespaces(specs: readonly Pick<NamespaceSpec, "name">[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { name } of specs) {
    if (seen.has(name)) out.push(`namespace '${name}' is listed twice`);
    seen.add(name);
  }
  return out;
}

export interface PlatformNamespacesArgs {
  cluster: ClusterRecord;
  namespaces: NamespaceSpec[];
}

export class PlatformNamespaces extends pulumi.ComponentResource {
  /** Created namespaces by name; depend on these before putting anything in them. */
  readonly byName: Record<string, k8s.core.v1.Namespace> = {};
  readonly priorityClass: k8s.scheduling.v1.PriorityClass;

  constructor(name: string, args: PlatformNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:security:PlatformNamespaces", name, {}, opts);
    const problems = validateNamespaces(args.namespaces);
    if (problems.length > 0) throw new Error(`PlatformNamespaces ${name}: ${problems.join("; ")}`);
    const child = { parent: this, provider: args.cluster.provider, dependsOn: args.cluster.ready };
    for (const spec of args.namespaces) {
      const ns = new k8s.core.v1.Namespace(
        `${name}-${spec.name}`,
        { metadata: { name: spec.name, labels: { ...podSecurityLabels(spec.podSecurity), ...spec.labels } } },
        child,
      );
      this.byName[spec.name] = ns;
      const inNs = { ...child, dependsOn: [ns] };
      new k8s.core.v1.ResourceQuota(
        `${name}-${spec.name}-quota`,
        { metadata: { name: "platform-quota", namespace: spec.name }, spec: { hard: spec.quota } },
        inNs,
      );
      new k8s.core.v1.LimitRange(
        `${name}-${spec.name}-limits`,
        {
          metadata: { name: "platform-defaults", namespace: spec.name },
          spec: {
            limits: [
              {
                type: "Container",
                defaultRequest: { cpu: spec.defaults.cpu, memory: spec.defaults.memory },
                // No default CPU limit: throttling system components hurts more than it protects.
                default: { memory: spec.defaults.memoryLimit },
              },
            ],
          },
        },
        inNs,
      );
    }
    this.priorityClass = new k8s.scheduling.v1.PriorityClass(
      `${name}-${INFERENCE_PRIORITY_CLASS}`,
      {
        metadata: { name: INFERENCE_PRIORITY_CLASS },
        value: INFERENCE_PRIORITY,
        globalDefault: false,
        preemptionPolicy: "PreemptLowerPriority",
        description: "Inference pods: may preempt batch and best-effort work, never system-critical pods.",
      },
      child,
    );
    this.registerOutputs({});
  }
}

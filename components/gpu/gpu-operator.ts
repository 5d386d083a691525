/**
 * NVIDIA gpu-operator (chart): device plugin, DCGM exporter (with a ServiceMonitor, so GPU utilisation and
 * memory reach Prometheus), GPU feature discovery and node feature discovery. Only for clusters whose record
 * asks for it (`gpu.enabled && gpu.installOperator`); never on CPU-only clusters.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord, Toleration } from "../clusters/record";

export interface GpuOperatorArgs {
  cluster: ClusterRecord;
  namespace: string;
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

export function validateGpuOperator(cluster: Pick<ClusterRecord, "name" | "gpu">): string[] {
  if (!cluster.gpu.enabled) return [`cluster '${cluster.name}' has gpu.enabled false: a CPU-only cluster gets no gpu-operator`];
  if (!cluster.gpu.installOperator)
    return [`cluster '${cluster.name}' has gpu.installOperator false: its substrate already provides the device plugin`];
  return [];
}

export function gpuOperatorValues(tolerations: readonly Toleration[], driverPreinstalled = false): Record<string, unknown> {
  return {
    // Node images that ship the driver and container toolkit (EKS NVIDIA AMI, AKS-managed driver) must not get
    // a second copy from the operator.
    driver: { enabled: !driverPreinstalled },
    toolkit: { enabled: !driverPreinstalled },
    operator: { resources: containerResources("200m", "256Mi", "1", "1Gi") },
    // The operands' daemonsets must land on the tainted GPU nodes they serve.
    daemonsets: { tolerations: [...tolerations], priorityClassName: "system-node-critical" },
    nfd: { enabled: true },
    "node-feature-discovery": { worker: { tolerations: [...tolerations] } },
    devicePlugin: { enabled: true },
    dcgmExporter: {
      enabled: true,
      // honorLabels keeps the exporter's `namespace`/`pod` labels (the GPU's workload), not the exporter's own.
      serviceMonitor: { enabled: true, interval: "15s", honorLabels: true },
    },
    gfd: { enabled: true },
  };
}

export class GpuOperator extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: GpuOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:gpu:GpuOperator", name, {}, opts);
    const problems = validateGpuOperator(args.cluster);
    if (problems.length > 0) throw new Error(`GpuOperator ${name}: ${problems.join("; ")}`);
    this.release = chartRelease(
      `${name}-gpu-operator`,
      {
        pin: CHARTS.gpuOperator,
        releaseName: "gpu-operator",
        namespace: args.namespace,
        values: gpuOperatorValues(args.cluster.gpu.tolerations, args.cluster.gpu.driverPreinstalled ?? false),
      },
      { parent: this, provider: args.cluster.provider, dependsOn: [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])] },
    );
    this.registerOutputs({});
  }
}

/**
 * Every Helm chart the Kubernetes layer installs, pinned in one place. Versions were checked against the
 * charts' published indexes / registries; bump them here, deliberately, with the upstream release notes.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface ChartPin {
  chart: string;
  version: string;
  /** Classic Helm repository URL; unset for OCI charts, whose `chart` is the full `oci://` reference. */
  repo?: string;
}

export const CHARTS = {
  certManager: { chart: "cert-manager", version: "v1.19.0", repo: "https://charts.jetstack.io" },
  envoyGateway: { chart: "oci://docker.io/envoyproxy/gateway-helm", version: "v1.7.4" },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    version: "77.14.0",
    repo: "https://prometheus-community.github.io/helm-charts",
  },
  // 2.20.2, the newest release whose chart source could be read at its tag for the values guard's fixture.
  keda: { chart: "keda", version: "2.20.2", repo: "https://kedacore.github.io/charts" },
  // 0.15.0: 504 (not 502) when the hold times out, per-route readiness waits; released from commit c4b92e9 of
  // kedacore/charts (the chart repository tags no http-add-on release after 0.12.2), built against KEDA 2.18.
  kedaHttpAddOn: { chart: "keda-add-ons-http", version: "0.15.0", repo: "https://kedacore.github.io/charts" },
  // Official chart of kubernetes-sigs/external-dns (app 0.21.0); the failover records (traffic/failover.ts).
  externalDns: { chart: "external-dns", version: "1.21.1", repo: "https://kubernetes-sigs.github.io/external-dns/" },
  gpuOperator: { chart: "gpu-operator", version: "v25.3.4", repo: "https://helm.ngc.nvidia.com/nvidia" },
} as const satisfies Record<string, ChartPin>;

export interface ChartReleaseArgs {
  pin: ChartPin;
  /** Release name in the cluster (fixed, so service names derived from it are predictable). */
  releaseName: string;
  namespace: pulumi.Input<string>;
  values: Record<string, unknown>;
}

/** A pinned chart as one Helm release; waits for its workloads so dependants see CRDs and webhooks ready. */
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      name: args.releaseName,
      chart: args.pin.chart,
      version: args.pin.version,
      repositoryOpts: args.pin.repo ? { repo: args.pin.repo } : undefined,
      namespace: args.namespace,
      createNamespace: false,
      atomic: true,
      cleanupOnFail: true,
      timeout: 900,
      values: args.values,
    },
    opts,
  );
}

/** requests == limits for memory, requests only for CPU is the common chart shape; we set both explicitly. */
export function containerResources(cpu: string, memory: string, cpuLimit = cpu, memoryLimit = memory) {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

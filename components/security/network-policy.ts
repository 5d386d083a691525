/**
 * Network policy of the serving namespace: deny everything, then allow exactly the gateway's proxies and
 * Prometheus to reach the runtime port, DNS lookups, and (per model, see `modelStoreEgress`) HTTPS to the
 * model store. Peers are selected by the `kubernetes.io/metadata.name` label the API server sets on every
 * namespace, so a namespace cannot claim to be another.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterRecord } from "../clusters/record";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

const NS_LABEL = "kubernetes.io/metadata.name";

export const inNamespace = (namespace: string, podLabels?: Record<string, string>): Peer => ({
  namespaceSelector: { matchLabels: { [NS_LABEL]: namespace } },
  ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
});

export interface ServingNetworkPolicyArgs {
  cluster: ClusterRecord;
  namespace: string;
  /** Labels shared by every runtime pod. */
  runtimeLabels: Record<string, string>;
  runtimePort: number;
  /** Where the gateway's Envoy proxies run, and their pod labels. */
  gateway: { namespace: string; podLabels: Record<string, string> };
  /** Where Prometheus runs, and its pod labels. */
  prometheus: { namespace: string; podLabels: Record<string, string> };
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

export class ServingNetworkPolicy extends pulumi.ComponentResource {
  constructor(name: string, args: ServingNetworkPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:security:ServingNetworkPolicy", name, {}, opts);
    const child = { parent: this, provider: args.cluster.provider, dependsOn: args.opts?.dependsOn };
    const meta = (policy: string) => ({ name: policy, namespace: args.namespace });
    const port = [{ protocol: "TCP", port: args.runtimePort }];

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      { metadata: meta("default-deny"), spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: meta("allow-dns"),
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [inNamespace("kube-system", { "k8s-app": "kube-dns" })],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-gateway`,
      {
        metadata: meta("allow-gateway-to-runtime"),
        spec: {
          podSelector: { matchLabels: args.runtimeLabels },
          policyTypes: ["Ingress"],
          ingress: [{ from: [inNamespace(args.gateway.namespace, args.gateway.podLabels)], ports: port }],
        },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-prometheus`,
      {
        metadata: meta("allow-prometheus-scrape"),
        spec: {
          podSelector: { matchLabels: args.runtimeLabels },
          policyTypes: ["Ingress"],
          ingress: [{ from: [inNamespace(args.prometheus.namespace, args.prometheus.podLabels)], ports: port }],
        },
      },
      child,
    );
    this.registerOutputs({});
  }
}

/**
 * Egress for one model's pods, so its init container can fetch from the object store: the store's port on
 * the store's addresses (any address unless config narrows it; see `storeEndpoint`), and the node-local
 * endpoint that hands out the pod's cloud credentials where the cluster has one. Policies apply to the whole
 * pod (Kubernetes cannot scope them to one container); the runtime container opens no outbound connections.
 */
export function modelStoreEgress(
  name: string,
  args: {
    namespace: pulumi.Input<string>;
    podLabels: Record<string, string>;
    store: { port: number; cidrs: string[] };
    credentialEndpoints?: { cidr: string; port: number }[];
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  const rule = (cidrs: string[], port: number) => ({
    to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ports: [{ protocol: "TCP", port }],
  });
  return new k8s.networking.v1.NetworkPolicy(
    name,
    {
      metadata: { namespace: args.namespace, labels: args.podLabels },
      spec: {
        podSelector: { matchLabels: args.podLabels },
        policyTypes: ["Egress"],
        egress: [rule(args.store.cidrs, args.store.port), ...(args.credentialEndpoints ?? []).map((e) => rule([e.cidr], e.port))],
      },
    },
    opts,
  );
}

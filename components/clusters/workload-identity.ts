/**
 * The Kubernetes service accounts the cloud clusters give cloud identities to. The cluster component binds
 * each to exactly the permissions it needs (EKS Pod Identity, AKS workload identity); the Kubernetes layer
 * runs the workload under that account, as `ClusterRecord.identities` tells it.
 */

export interface ServiceAccountRef {
  namespace: string;
  serviceAccount: string;
}

/** The serving pods: read the model store. */
export const SERVING_IDENTITY: ServiceAccountRef = { namespace: "llm-serving", serviceAccount: "llm-runtime" };
/** cert-manager's controller: solve ACME DNS-01 challenges in the stack's DNS zone. */
export const CERT_MANAGER_IDENTITY: ServiceAccountRef = { namespace: "cert-manager", serviceAccount: "cert-manager" };
/** external-dns: the failover records of the stack's host names in its Route 53 zone (traffic/failover.ts). */
export const EXTERNAL_DNS_IDENTITY: ServiceAccountRef = { namespace: "envoy-gateway-system", serviceAccount: "external-dns" };

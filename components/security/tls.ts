/**
 * TLS: cert-manager (CRDs installed by its chart), one ClusterIssuer chosen by config, and the Certificate
 * the gateway's HTTPS listener serves. Kinds: `acme` (HTTP-01 through the Gateway, or DNS-01), `selfsigned`
 * (local: a self-signed root that signs a CA issuer, so clients can trust one root), `ca` (on-prem PKI: the
 * CA's certificate and key in a Secret in the cert-manager namespace).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, chartRelease, containerResources } from "../charts";
import type { ClusterRecord, WorkloadIdentity } from "../clusters/record";

export type Dns01Provider =
  | { provider: "route53"; region: string; hostedZoneId?: string }
  | {
      provider: "azureDns";
      subscriptionId: string;
      resourceGroupName: string;
      hostedZoneName: string;
      /** Needed only where the cluster does not create cert-manager's identity (it does on AKS). */
      managedIdentityClientId?: string;
    };

export type IssuerSettings =
  | { kind: "selfsigned" }
  | { kind: "acme"; email: string; server: string; solver: "http01" | "dns01"; dns01?: Dns01Provider }
  | { kind: "ca"; secretName: string };

export interface GatewayRef {
  name: string;
  namespace: string;
  /** The plain-HTTP listener ACME HTTP-01 challenges are answered on. */
  httpListener: string;
}

export interface TlsArgs {
  cluster: ClusterRecord;
  namespace: string;
  issuer: IssuerSettings;
  /** Where HTTP-01 challenge routes attach. */
  gateway: GatewayRef;
  highAvailability: boolean;
  opts?: { dependsOn?: pulumi.Input<pulumi.Resource>[] };
}

/** What the cluster record contributes to TLS: cert-manager's cloud identity and the DNS zone it may edit. */
export type TlsClusterFacts = Pick<ClusterRecord, "identities" | "dns01">;

/** Name of the ClusterIssuer every Certificate of the layer uses, whatever its kind. */
export const CLUSTER_ISSUER = "llm-platform";
const CERT_GROUP = "cert-manager.io";

export function validateIssuer(issuer: IssuerSettings, facts: TlsClusterFacts = {}, namespace?: string): string[] {
  const out: string[] = [];
  if (issuer.kind === "acme" && issuer.solver === "dns01" && issuer.dns01 === undefined)
    out.push("tls.issuer.dns01 is required when tls.issuer.solver is 'dns01' (which DNS provider answers the challenge?)");
  if (
    issuer.kind === "acme" &&
    issuer.solver === "dns01" &&
    issuer.dns01?.provider === "azureDns" &&
    issuer.dns01.managedIdentityClientId === undefined &&
    facts.dns01?.azureDns === undefined
  )
    out.push(
      "tls.issuer.dns01.managedIdentityClientId is required: this cluster did not create cert-manager's Azure DNS identity",
    );
  const identity = facts.identities?.certManager;
  if (identity && namespace !== undefined && identity.namespace !== namespace)
    out.push(
      `the cluster's cert-manager identity is bound in namespace '${identity.namespace}', but cert-manager runs in '${namespace}'`,
    );
  return out;
}

/** The ClusterIssuer `spec` for a configured issuer kind. */
export function issuerSpec(
  issuer: IssuerSettings,
  gateway: GatewayRef,
  selfSignedCaSecret: string,
  facts: TlsClusterFacts = {},
): Record<string, unknown> {
  switch (issuer.kind) {
    case "selfsigned":
      return { ca: { secretName: selfSignedCaSecret } };
    case "ca":
      return { ca: { secretName: issuer.secretName } };
    case "acme": {
      const solver =
        issuer.solver === "http01"
          ? {
              http01: {
                gatewayHTTPRoute: {
                  parentRefs: [
                    { name: gateway.name, namespace: gateway.namespace, kind: "Gateway", sectionName: gateway.httpListener },
                  ],
                },
              },
            }
          : { dns01: dns01Solver(issuer.dns01!, facts) };
      return {
        acme: {
          email: issuer.email,
          server: issuer.server,
          privateKeySecretRef: { name: `${CLUSTER_ISSUER}-acme-account` },
          solvers: [solver],
        },
      };
    }
  }
}

function dns01Solver(p: Dns01Provider, facts: TlsClusterFacts): Record<string, unknown> {
  // Ambient credentials only (Pod Identity / workload identity on cert-manager's service account): no keys in
  // config. The zone is the one the cluster scoped that identity to, when it resolved one.
  if (p.provider === "route53")
    return { route53: { region: p.region, hostedZoneID: facts.dns01?.route53?.hostedZoneID ?? p.hostedZoneId } };
  return {
    azureDNS: {
      subscriptionID: p.subscriptionId,
      resourceGroupName: p.resourceGroupName,
      hostedZoneName: p.hostedZoneName,
      environment: "AzurePublicCloud",
      managedIdentity: { clientID: facts.dns01?.azureDns?.managedIdentityClientId ?? p.managedIdentityClientId },
    },
  };
}

export function certManagerValues(ha: boolean, identity?: WorkloadIdentity): Record<string, unknown> {
  const replicas = ha ? 2 : 1;
  const pdb = { enabled: ha, minAvailable: 1 };
  return {
    // The controller runs under the service account the cluster bound a cloud identity to (DNS-01).
    ...(identity
      ? {
          serviceAccount: { create: true, name: identity.serviceAccount, annotations: identity.serviceAccountAnnotations },
          podLabels: identity.podLabels,
        }
      : {}),
    crds: { enabled: true, keep: true },
    replicaCount: replicas,
    podDisruptionBudget: pdb,
    resources: containerResources("50m", "128Mi", "500m", "256Mi"),
    // HTTP-01 through the Gateway needs cert-manager's Gateway API support switched on.
    config: { apiVersion: "controller.config.cert-manager.io/v1alpha1", kind: "ControllerConfiguration", enableGatewayAPI: true },
    prometheus: { enabled: true, servicemonitor: { enabled: true } },
    webhook: { replicaCount: replicas, podDisruptionBudget: pdb, resources: containerResources("20m", "64Mi", "200m", "128Mi") },
    cainjector: {
      replicaCount: replicas,
      podDisruptionBudget: pdb,
      resources: containerResources("20m", "128Mi", "200m", "256Mi"),
    },
    startupapicheck: { resources: containerResources("10m", "32Mi", "100m", "64Mi") },
  };
}

export class Tls extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly issuer: k8s.apiextensions.CustomResource;
  private readonly k8sProvider: k8s.Provider;
  /** cert-manager's namespace: its cluster resource namespace, where ClusterIssuers read CA keys. */
  private readonly namespace: string;

  constructor(name: string, args: TlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm:security:Tls", name, {}, opts);
    const problems = validateIssuer(args.issuer, args.cluster, args.namespace);
    if (problems.length > 0) throw new Error(`Tls ${name}: ${problems.join("; ")}`);
    this.k8sProvider = args.cluster.provider;
    this.namespace = args.namespace;
    const child = { parent: this, provider: args.cluster.provider };
    this.release = chartRelease(
      `${name}-cert-manager`,
      {
        pin: CHARTS.certManager,
        releaseName: "cert-manager",
        namespace: args.namespace,
        values: certManagerValues(args.highAvailability, args.cluster.identities?.certManager),
      },
      { ...child, dependsOn: [...args.cluster.ready, ...(args.opts?.dependsOn ?? [])] },
    );
    const afterChart = { ...child, dependsOn: [this.release] };

    const caSecret = `${CLUSTER_ISSUER}-local-ca`;
    if (args.issuer.kind === "selfsigned") {
      // Bootstrap: a self-signed issuer signs one root CA; the platform issuer signs leaves with that root.
      const bootstrap = new k8s.apiextensions.CustomResource(
        `${name}-selfsigned-bootstrap`,
        {
          apiVersion: `${CERT_GROUP}/v1`,
          kind: "ClusterIssuer",
          metadata: { name: `${CLUSTER_ISSUER}-bootstrap` },
          spec: { selfSigned: {} },
        },
        afterChart,
      );
      new k8s.apiextensions.CustomResource(
        `${name}-local-ca`,
        {
          apiVersion: `${CERT_GROUP}/v1`,
          kind: "Certificate",
          metadata: { name: caSecret, namespace: args.namespace },
          spec: {
            isCA: true,
            commonName: "llm-platform local CA",
            secretName: caSecret,
            duration: "8760h",
            privateKey: { algorithm: "ECDSA", size: 256 },
            issuerRef: { name: `${CLUSTER_ISSUER}-bootstrap`, kind: "ClusterIssuer", group: CERT_GROUP },
          },
        },
        { ...child, dependsOn: [bootstrap] },
      );
    }
    this.issuer = new k8s.apiextensions.CustomResource(
      `${name}-issuer`,
      {
        apiVersion: `${CERT_GROUP}/v1`,
        kind: "ClusterIssuer",
        metadata: { name: CLUSTER_ISSUER },
        spec: issuerSpec(args.issuer, args.gateway, caSecret, args.cluster),
      },
      afterChart,
    );
    this.registerOutputs({});
  }

  /**
   * A Certificate for `dnsNames`, stored in `secretName` in `namespace` (where the listener reads it). Signed by
   * the platform's ClusterIssuer, or by `issuer` (the in-cluster CA of `internalCa`).
   */
  certificate(
    name: string,
    args: { namespace: pulumi.Input<string>; secretName: string; dnsNames: string[]; issuer?: InternalCa },
  ): k8s.apiextensions.CustomResource {
    if (args.dnsNames.length === 0) throw new Error(`certificate ${name}: dnsNames must not be empty`);
    const issuerRef = { name: args.issuer?.issuer ?? CLUSTER_ISSUER, kind: "ClusterIssuer", group: CERT_GROUP };
    return new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: `${CERT_GROUP}/v1`,
        kind: "Certificate",
        metadata: { name: args.secretName, namespace: args.namespace },
        spec: {
          secretName: args.secretName,
          dnsNames: args.dnsNames,
          issuerRef,
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
          duration: "2160h",
          renewBefore: "720h",
        },
      },
      { parent: this, provider: this.k8sProvider, dependsOn: args.issuer ? args.issuer.ready : [this.issuer] },
    );
  }

  /**
   * The in-cluster CA for the hops behind the gateway (gateway -> runtime, gateway -> interceptor -> runtime,
   * Prometheus -> runtime): a self-signed root in cert-manager's namespace (a CA ClusterIssuer reads its key from
   * the cluster resource namespace, which is cert-manager's own by default), so one key signs the serving
   * certificates of every namespace and no workload namespace holds it. Clients read the root from the `ca.crt`
   * of a certificate cert-manager issued in their own namespace (Gateway API's BackendTLSPolicy and the
   * ServiceMonitor may only read Secrets there): `trustIn` makes one.
   */
  internalCa(name: string, dependsOn: pulumi.Input<pulumi.Resource>[] = []): InternalCa {
    const afterChart = { parent: this, provider: this.k8sProvider, dependsOn: [this.release, ...dependsOn] };
    const bootstrap = new k8s.apiextensions.CustomResource(
      `${name}-bootstrap`,
      {
        apiVersion: `${CERT_GROUP}/v1`,
        kind: "ClusterIssuer",
        metadata: { name: `${INTERNAL_CA}-bootstrap` },
        spec: { selfSigned: {} },
      },
      afterChart,
    );
    const root = new k8s.apiextensions.CustomResource(
      `${name}-root`,
      {
        apiVersion: `${CERT_GROUP}/v1`,
        kind: "Certificate",
        metadata: { name: INTERNAL_CA, namespace: this.namespace },
        spec: internalRootSpec(),
      },
      { ...afterChart, dependsOn: [bootstrap] },
    );
    const issuer = new k8s.apiextensions.CustomResource(
      `${name}-issuer`,
      {
        apiVersion: `${CERT_GROUP}/v1`,
        kind: "ClusterIssuer",
        metadata: { name: INTERNAL_CA },
        spec: { ca: { secretName: INTERNAL_CA } },
      },
      { ...afterChart, dependsOn: [root] },
    );
    return { issuer: INTERNAL_CA, ready: [issuer] };
  }

  /**
   * The internal CA's root in `namespace`, for clients there that verify against it: a certificate from the CA
   * named `INTERNAL_CA_TRUST`, whose `ca.crt` cert-manager fills with the root (its own key serves nothing).
   */
  trustIn(
    name: string,
    ca: InternalCa,
    namespace: pulumi.Input<string>,
  ): { caSecret: string; certificate: k8s.apiextensions.CustomResource } {
    const certificate = this.certificate(name, {
      namespace,
      secretName: INTERNAL_CA_TRUST,
      dnsNames: [`${INTERNAL_CA_TRUST}.invalid`],
      issuer: ca,
    });
    return { caSecret: INTERNAL_CA_TRUST, certificate };
  }
}

/** Name of the in-cluster CA's ClusterIssuer and of its root's Secret (in cert-manager's namespace). */
export const INTERNAL_CA = "llm-internal-ca";
/** Secret, in each namespace that verifies runtimes or the interceptor, whose `ca.crt` is the internal root. */
export const INTERNAL_CA_TRUST = "llm-internal-ca-trust";

/** The in-cluster CA, as `Tls.internalCa` creates it. */
export interface InternalCa {
  /** CA ClusterIssuer that signs the serving certificates. */
  issuer: string;
  /** What a Certificate from this CA waits for. */
  ready: pulumi.Resource[];
}

/**
 * The root's Certificate spec. Ten years, renewed with the same key (`rotationPolicy: Never`): a re-issued root
 * with the same key and subject still verifies every leaf the old one signed, so renewal never breaks a hop.
 */
export function internalRootSpec(): Record<string, unknown> {
  return {
    isCA: true,
    commonName: "llm-platform internal CA",
    secretName: INTERNAL_CA,
    duration: "87600h",
    renewBefore: "8760h",
    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Never" },
    issuerRef: { name: `${INTERNAL_CA}-bootstrap`, kind: "ClusterIssuer", group: CERT_GROUP },
  };
}

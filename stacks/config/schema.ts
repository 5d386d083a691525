/**
 * The one typed settings model of the stack. Every `Pulumi.<env>.yaml` is parsed by this schema before any
 * resource is created; cross-field rules live in `validators.ts`. Defaults are written here, once, and are
 * production-safe: `local` relaxes only what a laptop cannot have.
 */
import { z } from "zod";
import { ALERT_RECEIVERS } from "../../components/observability/alerting";
import { NETWORK_PREFIX_RANGE, parseCidr } from "../../components/clusters/cidr";
import { MODEL_CLASSES } from "../capacity/hardware";
import { FAILOVER_ROLES } from "../../components/traffic/failover";

export const ENVIRONMENTS = ["local", "dev", "staging", "prod", "onprem", "dr"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** RFC 1123 label: the names we derive Kubernetes objects and host names from. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, {
  error: "must be a DNS label: lower-case letters, digits and '-', 1-40 characters, starting and ending alphanumeric",
});

const hostname = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
  error: "must be a fully qualified lower-case domain name such as llm.example.com",
});

/** Kubernetes resource quantities, e.g. "500m", "4", "24Gi". */
const cpuQuantity = z.string().regex(/^([0-9]+m|[0-9]+(\.[0-9]+)?)$/, { error: "must be a CPU quantity such as 500m or 4" });
const memoryQuantity = z.string().regex(/^[0-9]+(Ki|Mi|Gi|Ti)$/, { error: "must be a memory quantity such as 512Mi or 24Gi" });

/** An OCI image reference with a tag and/or digest: registry/repo[:tag][@sha256:...]. */
const imageReference = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    {
      error: "must be an image reference such as ghcr.io/org/llm-runtime:1.2.3 or ...@sha256:<digest>",
    },
  )
  .refine((v) => /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v.replace(/@sha256:[a-f0-9]{64}$/, "")) || v.includes("@sha256:"), {
    error: "must name a tag or a digest",
  });

/** Name of a config key that holds a Pulumi secret, e.g. `onpremKubeconfig`. */
const secretKeyName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: "must be a config key name such as onpremKubeconfig" });

const taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});
export type Taint = z.infer<typeof taint>;

const labels = z.record(z.string().min(1), z.string());

const loadBalancer = z.strictObject({
  /** Annotations put on the gateway's load-balancer Service (MetalLB pool, internal LB, ...). */
  annotations: z.record(z.string(), z.string()).default({}),
  /** `internal` keeps the endpoint on private addresses. */
  scheme: z.enum(["internet-facing", "internal"]).default("internet-facing"),
});

const gpuNodes = z.strictObject({
  /** Labels that identify GPU nodes; pods select them. */
  labels: labels.default({ "nvidia.com/gpu.present": "true" }),
  /** Taints GPU nodes carry; pods tolerate exactly these. */
  taints: z.array(taint).default([{ key: "nvidia.com/gpu", effect: "NoSchedule" }]),
  /** `gpu-operator`: install NVIDIA's operator; `preinstalled`: the device plugin is already on the nodes. */
  devicePlugin: z.enum(["gpu-operator", "preinstalled"]).default("gpu-operator"),
});

/** An IPv4 CIDR with its host bits clear, e.g. 10.20.0.0/16. */
const ipv4Cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  error: "must be an IPv4 CIDR with the host bits clear, such as 10.20.0.0/16",
});
/** A VPC/VNet CIDR the subnet plan can split (components/clusters/cidr.ts). */
const networkCidr = ipv4Cidr.refine(
  (v) => {
    const c = parseCidr(v);
    return c !== undefined && c.prefix >= NETWORK_PREFIX_RANGE.min && c.prefix <= NETWORK_PREFIX_RANGE.max;
  },
  { error: `must be an IPv4 CIDR between /${NETWORK_PREFIX_RANGE.min} and /${NETWORK_PREFIX_RANGE.max}, such as 10.20.0.0/16` },
);

/** On-prem network ranges, when known: checked for overlap with the cloud clusters of a hybrid stack. */
const onpremNetwork = z.strictObject({
  podCidr: ipv4Cidr.optional(),
  serviceCidr: ipv4Cidr.optional(),
  nodeCidrs: z.array(ipv4Cidr).default([]),
});

/** A `local` cluster: whatever kubeconfig context is current (kind, k3d, Docker Desktop). CPU only. */
const localCluster = z.strictObject({
  name: dnsLabel,
  substrate: z.literal("local"),
  /** kubeconfig context; unset means the current context. */
  context: z.string().min(1).optional(),
  storageClass: z.string().min(1).default("standard"),
  loadBalancer: loadBalancer.default({ annotations: {}, scheme: "internet-facing" }),
});

/**
 * The cluster's place in the stack's DNS failover chain (components/traffic/failover.ts): `primary` answers
 * the host names while healthy, then `secondary`, then `tertiary` (the dr stack's cluster); `none` stays out.
 * Required on every cluster of a stack with `dns`, so no cluster joins or leaves the chain by default.
 */
const failoverSchema = z.strictObject({
  role: z.enum(FAILOVER_ROLES, { error: `must be one of ${FAILOVER_ROLES.join(", ")}` }),
  /**
   * On-prem only: the public IPv4 address (a NAT or firewall in front of the internal gateway) that clients
   * and Route 53's health checkers reach this cluster's gateway on. EKS clusters publish their load balancer.
   */
  publicAddress: z.ipv4({ error: "must be a public IPv4 address such as 198.51.100.10" }).optional(),
});
export type FailoverSettings = z.infer<typeof failoverSchema>;

/** An existing cluster reached through a kubeconfig kept as a Pulumi secret. */
const onpremCluster = z.strictObject({
  name: dnsLabel,
  substrate: z.literal("onprem"),
  /** Config key whose secret value is this cluster's kubeconfig. */
  kubeconfigSecret: secretKeyName,
  context: z.string().min(1).optional(),
  storageClass: z.string().min(1),
  /**
   * A ReadWriteMany storage class (NFS, CephFS, ...) for the shared model cache: each model version is
   * downloaded once per cluster. Unset: every pod copies the model into its own volume.
   */
  sharedStorageClass: z.string().min(1).optional(),
  gpuNodes: gpuNodes.default({
    labels: { "nvidia.com/gpu.present": "true" },
    taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }],
    devicePlugin: "gpu-operator",
  }),
  loadBalancer: loadBalancer.default({ annotations: {}, scheme: "internet-facing" }),
  network: onpremNetwork.optional(),
  /**
   * Overrides `tls.issuer` on this cluster: in a hybrid stack an internal on-prem cluster usually takes its
   * certificates from the corporate CA while the cloud cluster solves ACME in a public DNS zone.
   */
  tlsIssuer: z.lazy(() => issuerSchema).optional(),
  failover: failoverSchema.optional(),
});

const poolBounds = {
  min: z.number().int().min(0).max(1000),
  max: z.number().int().min(1).max(1000),
};

const kubernetesVersion = z.string().regex(/^1\.[0-9]{2}$/, { error: "must be a Kubernetes minor version such as 1.35" });
const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, { error: "must be an AWS region such as us-east-1" });
const azureLocation = z.string().regex(/^[a-z]+[a-z0-9]*$/, { error: "must be an Azure region name such as westeurope" });
const logRetentionDays = z.number().int().min(30).max(3653);

/** S3 bucket names: 3-63 lower-case letters, digits, '-' (dots are left out: they break TLS virtual hosting). */
const s3BucketName = z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, {
  error: "must be an S3 bucket name: 3-63 lower-case letters, digits and '-', no dots",
});
const ecrRepositoryName = z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, {
  error: "must be an ECR repository name such as llm-runtime",
});

const eksGpuPool = z.strictObject({
  name: dnsLabel,
  instanceTypes: z
    .array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: "must be an EC2 instance type such as g6e.xlarge" }))
    .min(1),
  ...poolBounds,
  capacityType: z.enum(["ON_DEMAND", "SPOT"]).default("ON_DEMAND"),
  diskSizeGb: z.number().int().min(50).max(16384).default(200),
});

const eksCluster = z.strictObject({
  name: dnsLabel,
  substrate: z.literal("eks"),
  region: awsRegion,
  version: kubernetesVersion,
  vpcCidr: networkCidr,
  availabilityZones: z.number().int().min(2).max(3).default(3),
  /** `perZone`: one NAT gateway per zone, so a zone outage leaves the others' egress up. `single`: one, for dev. */
  natGateways: z.enum(["perZone", "single"]).default("perZone"),
  /** Service ClusterIP range; must not overlap the VPC or any other network of the stack. */
  serviceCidr: ipv4Cidr.default("172.20.0.0/16"),
  /** CIDRs allowed to reach the public API endpoint; empty keeps the endpoint private only. */
  publicAccessCidrs: z.array(ipv4Cidr).default([]),
  /** IAM role ARNs granted cluster-admin through EKS access entries (the creator is admin already). */
  adminRoleArns: z
    .array(z.string().regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/.+$/, { error: "must be an IAM role ARN" }))
    .default([]),
  /** Days control-plane logs are kept in CloudWatch. */
  logRetentionDays: logRetentionDays.default(90),
  systemPool: z
    .strictObject({ instanceTypes: z.array(z.string()).min(1), ...poolBounds })
    .default({ instanceTypes: ["m7i.large"], min: 2, max: 4 }),
  gpuPools: z.array(eksGpuPool).min(1),
  loadBalancer: loadBalancer.default({ annotations: {}, scheme: "internet-facing" }),
  artifacts: z.strictObject({
    /**
     * `primary`: this stack creates the model bucket and image repository (and their replicas when `dr` is
     * set). `replica`: this stack reads the replicas a primary stack created in this region (the dr stack).
     */
    role: z.enum(["primary", "replica"]).default("primary"),
    /** S3 bucket the models are read from; s3:// model sources served on this cluster must name it. */
    modelBucket: s3BucketName,
    /** ECR repository of the runtime image. */
    repository: ecrRepositoryName.default("llm-platform/llm-runtime"),
  }),
  /** Replicate the model bucket and the image repository to a second region (the dr stack's region). */
  dr: z.strictObject({ region: awsRegion, modelBucket: s3BucketName }).optional(),
  /**
   * EC2 Auto Scaling's service-linked role, which the cluster key's policy names (KMS refuses a policy naming
   * a role that does not exist). `create`: a fresh account. `existing`: an account that already has it (any
   * Auto Scaling group ever made it, or another stack of this project in the account created it). IAM is
   * global, so two stacks in one account cannot both create it.
   */
  autoScalingServiceLinkedRole: z.enum(["create", "existing"]).default("create"),
  failover: failoverSchema.optional(),
});

const aksGpuPool = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,11}$/, { error: "must be an AKS pool name: lower-case alphanumeric, 1-12 characters" }),
  vmSize: z.string().regex(/^Standard_[A-Za-z0-9_]+$/, { error: "must be an Azure VM size such as Standard_NC24ads_A100_v4" }),
  ...poolBounds,
  priority: z.enum(["Regular", "Spot"]).default("Regular"),
  osDiskSizeGb: z.number().int().min(50).max(4095).default(200),
});

/** Storage account names: 3-24 lower-case letters and digits, globally unique. */
const storageAccountName = z
  .string()
  .regex(/^[a-z0-9]{3,24}$/, { error: "must be a storage account name: 3-24 lower-case letters and digits" });

const aksCluster = z.strictObject({
  name: dnsLabel,
  substrate: z.literal("aks"),
  location: azureLocation,
  version: kubernetesVersion,
  vnetCidr: networkCidr,
  /** Overlay pod range (pods do not take VNet addresses with Azure CNI overlay). */
  podCidr: ipv4Cidr.default("10.244.0.0/16"),
  serviceCidr: ipv4Cidr.default("172.16.0.0/16"),
  authorizedIpRanges: z.array(ipv4Cidr).default([]),
  privateCluster: z.boolean().default(false),
  /** `Standard` carries the uptime SLA; `Free` is for dev. */
  tier: z.enum(["Free", "Standard"]).default("Standard"),
  logRetentionDays: logRetentionDays.default(90),
  systemPool: z
    .strictObject({ vmSize: z.string().regex(/^Standard_[A-Za-z0-9_]+$/, { error: "must be an Azure VM size" }), ...poolBounds })
    .default({ vmSize: "Standard_D4ds_v5", min: 2, max: 4 }),
  gpuPools: z.array(aksGpuPool).min(1),
  /** `gpu-operator`: AKS skips its driver and NVIDIA's operator installs it; `aks`: the node image's driver. */
  gpuDriver: z.enum(["gpu-operator", "aks"]).default("gpu-operator"),
  loadBalancer: loadBalancer.default({ annotations: {}, scheme: "internet-facing" }),
  artifacts: z.strictObject({
    /** Model storage account (globally unique); azureBlob model sources served on this cluster must name it. */
    storageAccount: storageAccountName,
    container: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, { error: "must be a blob container name such as models" })
      .default("models"),
    /** Container registry name (globally unique, 5-50 letters and digits). */
    registry: z.string().regex(/^[a-zA-Z0-9]{5,50}$/, { error: "must be a registry name: 5-50 letters and digits" }),
    /** Key Vault name (globally unique, 3-24 characters). */
    keyVault: z.string().regex(/^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, {
      error: "must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter",
    }),
  }),
  /** Region holding the registry's geo-replica; the model storage replicates to the region pair (RA-GZRS). */
  drLocation: azureLocation.optional(),
  /**
   * The kind of principal that runs `pulumi up`: its role assignments must say so, or ARM rejects them
   * (`UnmatchedPrincipalType`). CI runs as a service principal; a person deploying from a login sets `User`.
   */
  deployerPrincipalType: z.enum(["ServicePrincipal", "User", "Group"]).default("ServicePrincipal"),
});

export const clusterSchema = z.discriminatedUnion("substrate", [localCluster, onpremCluster, eksCluster, aksCluster]);
export type ClusterSettings = z.infer<typeof clusterSchema>;
export type Substrate = ClusterSettings["substrate"];
export const SUBSTRATES: readonly Substrate[] = ["local", "onprem", "eks", "aks"];

/**
 * Addresses the model store is reached at (an on-prem object store's subnet, a private endpoint): the init
 * container's egress policy opens only these. Unset: any address, as cloud object stores have no fixed ones.
 * Must also cover the identity endpoint the fetch logs in through (Entra ID for azureBlob).
 */
const egressCidrs = z.array(ipv4Cidr).min(1).optional();

/**
 * A published model artifact: the version folder under the source's prefix (`<prefix>/<version>/`) and the
 * SHA-256 of its `model-manifest.json` (the artifact's digest, printed by `llm-model publish`). Optional in
 * the schema; validateModelPins requires both outside `local` and `dev`.
 */
export const MODEL_DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
const artifactPin = {
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
      error: "must be a model version folder name: letters, digits, '.', '_' and '-', 1-64 characters, such as 2026-11-28.1",
    })
    .optional(),
  digest: z
    .string()
    .regex(MODEL_DIGEST_PATTERN, { error: "must be sha256:<64 lower-case hex digits>, the digest `llm-model publish` prints" })
    .optional(),
};

const modelSource = z.discriminatedUnion("kind", [
  /** The runtime's built-in random-weight demo model: for `local` and smoke tests only. */
  z.strictObject({ kind: z.literal("demo") }),
  z.strictObject({
    kind: z.literal("s3"),
    uri: z.string().regex(/^s3:\/\/[a-z0-9.-]{3,63}(\/.*)?$/, { error: "must be s3://bucket/prefix" }),
    ...artifactPin,
    egressCidrs,
  }),
  z.strictObject({
    kind: z.literal("azureBlob"),
    uri: z.string().regex(/^https:\/\/[a-z0-9]{3,24}\.blob\.core\.windows\.net\/[a-z0-9-]{3,63}(\/.*)?$/, {
      error: "must be https://<account>.blob.core.windows.net/<container>/<prefix>",
    }),
    ...artifactPin,
    egressCidrs,
  }),
  z.strictObject({
    kind: z.literal("https"),
    /** A .tar.gz of the artifact folder; the runtime checks it against `digest` at load. */
    uri: z.url({ protocol: /^https$/, error: "must be an https:// URL" }),
    ...artifactPin,
    egressCidrs,
  }),
  /**
   * A PersistentVolumeClaim that already holds the artifact folder (on-prem NFS, for instance): `subPath` ends
   * in the version folder; the runtime refuses the folder unless its manifest has `digest`.
   */
  z.strictObject({ kind: z.literal("pvc"), claimName: dnsLabel, subPath: z.string().default(""), ...artifactPin }),
]);
export type ModelSource = z.infer<typeof modelSource>;

/**
 * A model's traffic target (stacks/capacity/): the peak as requests/s or generated tokens/s (one of them), mean
 * prompt and completion lengths, and the objectives. Each cluster that serves the model has its own gateway
 * and endpoint, so the target is what each of them must carry.
 */
const capacityTarget = z.strictObject({
  /** Size class the throughput table is looked up by (stacks/capacity/throughput.json). */
  modelClass: z.enum(MODEL_CLASSES),
  requestsPerSecond: z.number().positive().max(100_000).optional(),
  /** Generated (completion) tokens per second at peak; requests/s is this over `completionTokens`. */
  tokensPerSecond: z.number().positive().max(10_000_000).optional(),
  promptTokens: z.number().int().min(1).max(1_000_000),
  completionTokens: z.number().int().min(1).max(1_000_000),
  /** Time to first token, 95th percentile, seconds. */
  ttftP95Seconds: z.number().positive().max(120),
  /** Mean time between generated tokens of one stream (time per output token), seconds. */
  interTokenLatencySeconds: z.number().positive().max(10),
});
export type CapacityTarget = z.infer<typeof capacityTarget>;

const modelSchema = z.strictObject({
  /** Model id served by /v1/models and the host name prefix. */
  name: dnsLabel,
  source: modelSource,
  /** Per-cluster override of `source`, e.g. an on-prem PVC next to a cloud bucket in a hybrid stack. */
  sourceByCluster: z.record(dnsLabel, modelSource).default({}),
  /** GPUs per replica; 0 runs the CPU build (local only). */
  gpus: z.number().int().min(0).max(8).default(1),
  resources: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }).default({ cpu: "4", memory: "24Gi" }),
  replicas: z.strictObject({ min: z.number().int().min(0).max(100), max: z.number().int().min(1).max(100) }),
  /** Autoscaling target: waiting requests per replica before another replica is added. */
  targetQueueDepth: z.number().int().min(1).max(1000).default(4),
  maxConcurrent: z.number().int().min(1).max(256).default(8),
  maxQueue: z.number().int().min(0).max(10000).default(64),
  /** Size of the model cache volume (the cluster's shared one, or each pod's own copy). */
  cacheSize: memoryQuantity.default("40Gi"),
  /**
   * With `replicas.min: 0`: how long the scale-from-zero proxy holds a request while the first replica starts
   * (node, model and all); after it the client gets 504. Covers the start-up budget in docs/model-delivery.md.
   */
  coldStartHoldSeconds: z.number().int().min(30).max(3600).default(600),
  /** Clusters that serve this model; unset means every cluster of the stack. */
  clusters: z.array(dnsLabel).optional(),
  /** Peak traffic each serving cluster must carry and its latency objectives: the capacity planner sizes for it. */
  target: capacityTarget.optional(),
});
export type ModelSettings = z.infer<typeof modelSchema>;

/**
 * DNS-01 providers. cert-manager authenticates with the workload identity of its service account (IRSA on
 * EKS, workload identity on AKS), so no credentials live in config.
 */
const dns01Provider = z.discriminatedUnion("provider", [
  z.strictObject({
    provider: z.literal("route53"),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, { error: "must be an AWS region such as us-east-1" }),
    hostedZoneId: z
      .string()
      .regex(/^Z[A-Z0-9]{1,31}$/, { error: "must be a Route 53 hosted zone id such as Z0123456789ABC" })
      .optional(),
  }),
  z.strictObject({
    provider: z.literal("azureDns"),
    subscriptionId: z.uuid({ error: "must be an Azure subscription id (a UUID)" }),
    resourceGroupName: z.string().min(1),
    hostedZoneName: hostname,
    /** cert-manager's managed identity; AKS clusters of the stack create one, federated and scoped to the zone. */
    managedIdentityClientId: z.uuid({ error: "must be the client id (a UUID) of cert-manager's managed identity" }).optional(),
  }),
]);

const issuerSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("selfsigned") }),
  z.strictObject({
    kind: z.literal("acme"),
    email: z.email({ error: "must be an e-mail address for the ACME account" }),
    server: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
    solver: z.enum(["http01", "dns01"]).default("http01"),
    /** DNS provider that answers DNS-01 challenges (required with solver dns01); credentials are ambient. */
    dns01: dns01Provider.optional(),
  }),
  /** A private CA whose certificate and key are in a Kubernetes Secret (on-prem PKI). */
  z.strictObject({ kind: z.literal("ca"), secretName: dnsLabel }),
]);
export type IssuerSettingsInput = z.infer<typeof issuerSchema>;

/** What the runtime speaks behind the gateway; plain HTTP only where a laptop asks for it (environment local). */
export const BACKEND_PROTOCOLS = ["https", "http"] as const;

const tlsSchema = z.strictObject({
  issuer: issuerSchema,
  /**
   * `https` (default): the runtime serves a certificate from the cluster's in-cluster CA and the gateway and
   * Prometheus verify it. `http`: plain HTTP behind the gateway, allowed only in environment local.
   */
  backendProtocol: z.enum(BACKEND_PROTOCOLS).default("https"),
});

export const DEFAULT_RUNBOOK_BASE_URL = "https://github.com/llm-platform/llm-platform/blob/main/docs/runbooks";

const observabilitySchema = z.strictObject({
  retention: z
    .string()
    .regex(/^[0-9]+(h|d|w)$/, { error: "must be a duration such as 15d" })
    .default("15d"),
  storageSize: memoryQuantity.default("50Gi"),
  prometheusResources: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }).default({ cpu: "1", memory: "4Gi" }),
  /** Config key whose secret value is the Grafana admin password; required in every environment. */
  grafanaAdminPasswordSecret: secretKeyName.optional(),
  /** Where alert `runbook_url` annotations point: the folder holding `<AlertName>.md` (docs/runbooks in this repo). */
  runbookBaseUrl: z
    .url({ protocol: /^https$/, error: "must be an https:// URL of the folder that holds the runbooks" })
    .default(DEFAULT_RUNBOOK_BASE_URL),
  /** Where alerts page someone; required in prod and dr. */
  alerting: z
    .strictObject({
      receiver: z.enum(ALERT_RECEIVERS),
      /** Config key whose secret value is the PagerDuty routing key, the Slack webhook URL or the webhook URL. */
      secret: secretKeyName,
      /** Slack channel (slack only); unset, the webhook posts to the channel it was made for. */
      slackChannel: z
        .string()
        .regex(/^[#@]?[a-z0-9._-]{1,80}$/, { error: "must be a Slack channel name such as #llm-oncall" })
        .optional(),
    })
    .optional(),
  slo: z
    .strictObject({
      /** Time-to-first-token p95 target, seconds. */
      ttftP95Seconds: z.number().positive().max(120).default(2),
      /** Error budget: allowed ratio of failed requests. */
      errorRatio: z.number().positive().max(0.5).default(0.01),
    })
    .default({ ttftP95Seconds: 2, errorRatio: 0.01 }),
});

/**
 * Health-checked DNS failover of the stack's host names in Route 53 (components/traffic/failover.ts); each
 * cluster's `failover.role` places it in the chain. The switch time follows from these numbers
 * (switchSeconds): intervalSeconds x failureThreshold + max(ttlSeconds, 60).
 */
export const DNS_DEFAULTS = { ttlSeconds: 60, healthCheck: { intervalSeconds: 10, failureThreshold: 3 } } as const;
const dnsSchema = z.strictObject({
  provider: z.literal("route53", { error: "must be route53 (the only DNS failover provider; AKS stacks stay single-cluster)" }),
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, { error: "must be a Route 53 hosted zone id such as Z0123456789ABC" }),
  /** TTL of the records the stack writes itself (an on-prem cluster's address); alias records use 60 s. */
  ttlSeconds: z.number().int().min(10).max(300).default(DNS_DEFAULTS.ttlSeconds),
  healthCheck: z
    .strictObject({
      /** Route 53 offers 30 s (standard) and 10 s (fast) checks. */
      intervalSeconds: z.union([z.literal(10), z.literal(30)], { error: "must be 10 or 30 (Route 53's intervals)" }).default(10),
      failureThreshold: z.number().int().min(1).max(10).default(DNS_DEFAULTS.healthCheck.failureThreshold),
    })
    .default({ ...DNS_DEFAULTS.healthCheck }),
});
export type DnsSettings = z.infer<typeof dnsSchema>;

const runtimeSchema = z.strictObject({
  image: imageReference,
  /** Config key whose secret value holds the API keys, one per line. */
  apiKeysSecret: secretKeyName.default("apiKeys"),
});

export const settingsSchema = z.strictObject({
  environment: z.enum(ENVIRONMENTS),
  /** Parent domain: models are served at `<model>.<domain>`, Grafana at `grafana.<domain>`. */
  domain: hostname,
  runtime: runtimeSchema,
  tls: tlsSchema,
  clusters: z.array(clusterSchema).min(1),
  models: z.array(modelSchema).min(1),
  observability: observabilitySchema.default({
    retention: "15d",
    storageSize: "50Gi",
    prometheusResources: { cpu: "1", memory: "4Gi" },
    slo: { ttftP95Seconds: 2, errorRatio: 0.01 },
    runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
  }),
  /** Route 53 failover of the host names across the stack's (and the dr stack's) clusters; unset: no records. */
  dns: dnsSchema.optional(),
});

export type Settings = z.infer<typeof settingsSchema>;
/** What the config file holds before defaults are applied. */
export type SettingsInput = z.input<typeof settingsSchema>;

/** The structured (object-valued) config keys; everything else in `settingsSchema` is a plain string. */
export const OBJECT_KEYS = ["runtime", "tls", "clusters", "models", "observability", "dns"] as const;
export const SETTINGS_KEYS = Object.keys(settingsSchema.shape) as (keyof Settings)[];

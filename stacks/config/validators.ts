/**
 * Cross-field rules over an already-typed settings object. Each is a plain exported function returning the
 * issues it finds, so each is tested on its own (tests/infra/stacks/config/validators.test.ts).
 */
import { overlaps, parseCidr } from "../../components/clusters/cidr";
import { sloTargetIssues } from "../../components/observability/slo";
import { healthHost, STANDBY } from "../../components/traffic/failover";
import { RESERVED_HOSTS } from "../../components/traffic/hosts";
import {
  AKS_MAX_PODS,
  AWS_REGIONS,
  AZURE_GPU_VM_SHAPES,
  AZURE_GPU_VM_SIZES,
  AZURE_REGION_PAIRS,
  AZURE_REGIONS,
  CATALOG_AS_OF,
  EC2_GPU_INSTANCE_SHAPES,
  EC2_GPU_INSTANCE_TYPES,
  type MachineShape,
} from "./cloud-catalog";
import { formatPath, type ConfigIssue } from "./issues";
import type { CapacityTarget, ClusterSettings, Environment, ModelSource, Settings } from "./schema";

type Path = (string | number)[];

/** min <= max for every node pool and every model's replica bounds. */
export function validateBounds(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (path: Path, b: { min: number; max: number }) => {
    if (b.max < b.min) issues.push({ path: [...path, "max"], message: `must be >= min (${b.min})`, value: b.max });
  };
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "eks" || c.substrate === "aks") {
      check(["clusters", i, "systemPool"], c.systemPool);
      c.gpuPools.forEach((p, j) => check(["clusters", i, "gpuPools", j], p));
    }
  });
  settings.models.forEach((m, i) => check(["models", i, "replicas"], m.replicas));
  return issues;
}

function duplicates(names: readonly string[]): Map<string, number> {
  const seen = new Set<string>();
  const dup = new Map<string, number>();
  names.forEach((n, i) => {
    if (seen.has(n) && !dup.has(n)) dup.set(n, i);
    seen.add(n);
  });
  return dup;
}

/** Cluster names, model names and pool names within a cluster are unique: they become resource names. */
export function validateUniqueNames(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, i] of duplicates(settings.clusters.map((c) => c.name)))
    issues.push({ path: ["clusters", i, "name"], message: "must be unique among clusters", value: name });
  for (const [name, i] of duplicates(settings.models.map((m) => m.name)))
    issues.push({ path: ["models", i, "name"], message: "must be unique among models", value: name });
  settings.clusters.forEach((c, ci) => {
    if (c.substrate !== "eks" && c.substrate !== "aks") return;
    for (const [name, j] of duplicates(c.gpuPools.map((p) => p.name)))
      issues.push({ path: ["clusters", ci, "gpuPools", j, "name"], message: "must be unique within the cluster", value: name });
  });
  return issues;
}

/** `models[i].clusters` may only name clusters of this stack. */
export function validateModelPlacement(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const known = new Set(settings.clusters.map((c) => c.name));
  const issues: ConfigIssue[] = [];
  settings.models.forEach((m, i) => {
    for (const name of Object.keys(m.sourceByCluster))
      if (!known.has(name))
        issues.push({
          path: ["models", i, "sourceByCluster", name],
          message: `must name a cluster of this stack (${[...known].join(", ")})`,
        });
    (m.clusters ?? []).forEach((name, j) => {
      if (!known.has(name))
        issues.push({
          path: ["models", i, "clusters", j],
          message: `must name a cluster of this stack (${[...known].join(", ")})`,
          value: name,
        });
    });
  });
  return issues;
}

/** Environments in which a model may scale to zero replicas (cold starts are acceptable there). */
export const SCALE_TO_ZERO_ENVIRONMENTS: readonly Environment[] = ["local", "dev"];
/** Environments that must survive a node drain without an outage. */
export const HIGHLY_AVAILABLE_ENVIRONMENTS: readonly Environment[] = ["prod", "dr"];

/**
 * What each environment allows. `local` relaxes only what a laptop cannot have: GPUs, a public CA, several
 * replicas; every other environment gets the production-safe defaults.
 */
export function validateEnvironmentRules(settings: Settings): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const env = settings.environment;
  const isLocal = env === "local";
  settings.clusters.forEach((c, i) => {
    if (isLocal && c.substrate !== "local")
      issues.push({ path: ["clusters", i, "substrate"], message: "must be 'local' in environment local", value: c.substrate });
    if (!isLocal && c.substrate === "local")
      issues.push({
        path: ["clusters", i, "substrate"],
        message: `'local' is only allowed in environment local (this is '${env}'); use onprem, eks or aks`,
        value: c.substrate,
      });
  });
  settings.clusters.forEach((c, i) => {
    if (!isLocal && c.substrate === "onprem" && c.tlsIssuer?.kind === "selfsigned")
      issues.push({
        path: ["clusters", i, "tlsIssuer", "kind"],
        message: `'selfsigned' is only allowed in environment local; use acme or ca in '${env}'`,
        value: "selfsigned",
      });
  });
  if (!isLocal && settings.tls.issuer.kind === "selfsigned")
    issues.push({
      path: ["tls", "issuer", "kind"],
      message: `'selfsigned' is only allowed in environment local; use acme or ca in '${env}'`,
      value: "selfsigned",
    });
  if (!isLocal && settings.tls.backendProtocol === "http")
    issues.push({
      path: ["tls", "backendProtocol"],
      message: `'http' is only allowed in environment local: every hop outside a laptop is TLS (this is '${env}')`,
      value: "http",
    });
  if (!isLocal && /:latest$/.test(settings.runtime.image))
    issues.push({
      path: ["runtime", "image"],
      message: "must be an immutable tag or digest outside local ('latest' moves under you)",
      value: settings.runtime.image,
    });
  settings.models.forEach((m, i) => {
    if (!isLocal && m.gpus === 0)
      issues.push({
        path: ["models", i, "gpus"],
        message: "must be >= 1 outside environment local (CPU serving is for laptops)",
        value: 0,
      });
    if (m.replicas.min === 0 && !SCALE_TO_ZERO_ENVIRONMENTS.includes(env))
      issues.push({
        path: ["models", i, "replicas", "min"],
        message: `scale to zero (0) is only allowed in ${SCALE_TO_ZERO_ENVIRONMENTS.join(", ")}; must be >= 1 in '${env}'`,
        value: 0,
      });
    if (HIGHLY_AVAILABLE_ENVIRONMENTS.includes(env) && m.replicas.min < 2)
      issues.push({
        path: ["models", i, "replicas", "min"],
        message: `must be >= 2 in '${env}' so that a node drain never takes the model offline`,
        value: m.replicas.min,
      });
    if (m.source.kind === "demo" && !isLocal)
      issues.push({
        path: ["models", i, "source", "kind"],
        message: "'demo' is only allowed in environment local",
        value: "demo",
      });
  });
  return issues;
}

/**
 * Secret config keys the settings refer to must exist and be Pulumi secrets (`pulumi config set --secret`).
 * `configKeys` maps every config key set on the stack to whether it is a secret.
 */
export function validateSecretReferences(settings: Settings, configKeys: ReadonlyMap<string, boolean>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const need = (path: Path, key: string) => {
    const secret = configKeys.get(key);
    if (secret === undefined)
      issues.push({
        path,
        message: `names config key '${key}', which is not set (pulumi config set --secret ${key} ...)`,
        value: key,
      });
    else if (!secret)
      issues.push({
        path,
        message: `names config key '${key}', which must be a secret (pulumi config set --secret ${key} ...)`,
        value: key,
      });
  };
  need(["runtime", "apiKeysSecret"], settings.runtime.apiKeysSecret);
  // Required on local too: the alternative is a chart default password, which is never acceptable.
  const grafana = settings.observability.grafanaAdminPasswordSecret;
  if (grafana !== undefined) need(["observability", "grafanaAdminPasswordSecret"], grafana);
  else
    issues.push({
      path: ["observability", "grafanaAdminPasswordSecret"],
      message: `is required in '${settings.environment}': name a secret config key holding the Grafana admin password`,
    });
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "onprem") need(["clusters", i, "kubeconfigSecret"], c.kubeconfigSecret);
  });
  const alerting = settings.observability.alerting;
  if (alerting) need(["observability", "alerting", "secret"], alerting.secret);
  return issues;
}

/** In prod and dr an alert must reach a person; a Slack channel means nothing to other receivers. */
export function validateAlerting(settings: Pick<Settings, "environment" | "observability">): ConfigIssue[] {
  const alerting = settings.observability.alerting;
  if (!alerting && HIGHLY_AVAILABLE_ENVIRONMENTS.includes(settings.environment))
    return [
      {
        path: ["observability", "alerting"],
        message: `is required in '${settings.environment}': name the on-call receiver (pagerduty, slack or webhook) and the secret config key of its routing key or URL`,
      },
    ];
  if (alerting?.slackChannel !== undefined && alerting.receiver !== "slack")
    return [
      {
        path: ["observability", "alerting", "slackChannel"],
        message: `is only used with receiver 'slack' (receiver is '${alerting.receiver}')`,
        value: alerting.slackChannel,
      },
    ];
  return [];
}

/** SLO targets the burn-rate alerts can serve (components/observability/slo.ts). */
export function validateSloTargets(settings: Pick<Settings, "observability">): ConfigIssue[] {
  return sloTargetIssues(settings.observability.slo).map((i) => ({
    path: ["observability", "slo", i.key],
    message: i.message,
    value: i.value,
  }));
}

const catalogNote = `(stacks/config/cloud-catalog.ts, as of ${CATALOG_AS_OF})`;

/** Cloud regions are real region names: a typo would otherwise surface minutes into a deployment. */
export function validateCloudRegions(settings: Pick<Settings, "clusters">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (path: Path, value: string, known: readonly string[], cloud: string) => {
    if (!known.includes(value))
      issues.push({
        path,
        message: `must be a known ${cloud} region ${catalogNote}, such as ${known.slice(0, 3).join(", ")}`,
        value,
      });
  };
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "eks") {
      check(["clusters", i, "region"], c.region, AWS_REGIONS, "AWS");
      if (c.dr) check(["clusters", i, "dr", "region"], c.dr.region, AWS_REGIONS, "AWS");
    }
    if (c.substrate === "aks") {
      check(["clusters", i, "location"], c.location, AZURE_REGIONS, "Azure");
      if (c.drLocation !== undefined) check(["clusters", i, "drLocation"], c.drLocation, AZURE_REGIONS, "Azure");
    }
  });
  return issues;
}

/** GPU pools name instance types / VM sizes that carry NVIDIA GPUs (the taint and device plugin assume them). */
export function validateGpuMachineTypes(settings: Pick<Settings, "clusters">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "eks")
      c.gpuPools.forEach((p, j) =>
        p.instanceTypes.forEach((t, k) => {
          if (!(t in EC2_GPU_INSTANCE_TYPES))
            issues.push({
              path: ["clusters", i, "gpuPools", j, "instanceTypes", k],
              message: `must be an EC2 instance type with NVIDIA GPUs ${catalogNote}: g4dn, g5, g6, g6e, gr6, p4d, p4de, p5, p5e, p5en or p6-b200 sizes`,
              value: t,
            });
        }),
      );
    if (c.substrate === "aks")
      c.gpuPools.forEach((p, j) => {
        if (!(p.vmSize in AZURE_GPU_VM_SIZES))
          issues.push({
            path: ["clusters", i, "gpuPools", j, "vmSize"],
            message: `must be an Azure VM size with NVIDIA GPUs that AKS supports ${catalogNote}: one of ${Object.keys(AZURE_GPU_VM_SIZES).join(", ")}`,
            value: p.vmSize,
          });
      });
  });
  return issues;
}

interface NamedRange {
  path: Path;
  cidr: string;
}

/** The address ranges a cluster occupies: its network, and pod/service ranges that are routed or translated. */
export function clusterRanges(c: ClusterSettings, i: number): NamedRange[] {
  const at = (...rest: (string | number)[]): Path => ["clusters", i, ...rest];
  switch (c.substrate) {
    case "eks":
      return [
        { path: at("vpcCidr"), cidr: c.vpcCidr },
        { path: at("serviceCidr"), cidr: c.serviceCidr },
      ];
    case "aks":
      return [
        { path: at("vnetCidr"), cidr: c.vnetCidr },
        { path: at("podCidr"), cidr: c.podCidr },
        { path: at("serviceCidr"), cidr: c.serviceCidr },
      ];
    case "onprem": {
      const n = c.network;
      if (!n) return [];
      return [
        ...(n.podCidr ? [{ path: at("network", "podCidr"), cidr: n.podCidr }] : []),
        ...(n.serviceCidr ? [{ path: at("network", "serviceCidr"), cidr: n.serviceCidr }] : []),
        ...n.nodeCidrs.map((cidr, k) => ({ path: at("network", "nodeCidrs", k), cidr })),
      ];
    }
    default:
      return [];
  }
}

/**
 * No two ranges of a stack overlap, within a cluster or across clusters: hybrid sites are connected (VPN,
 * peering), and an overlap makes some pod, node or service unreachable from the other side.
 */
export function validateNetworkOverlaps(settings: Pick<Settings, "clusters">): ConfigIssue[] {
  const ranges = settings.clusters.flatMap(clusterRanges);
  const issues: ConfigIssue[] = [];
  ranges.forEach((r, b) => {
    const rc = parseCidr(r.cidr);
    if (!rc) return; // the schema already reported it
    for (let a = 0; a < b; a++) {
      const oc = parseCidr(ranges[a].cidr);
      if (oc && overlaps(oc, rc)) {
        issues.push({
          path: r.path,
          message: `overlaps ${formatRange(ranges[a])}; every network of a stack must be disjoint`,
          value: r.cidr,
        });
        return;
      }
    }
  });
  return issues;
}

const formatRange = (r: NamedRange) => `${formatPath(r.path)} (${r.cidr})`;

/**
 * Disaster recovery: the DR peer is another region; a primary replicates, a replica (the dr stack) only
 * reads and so depends on nothing in the primary region; HA environments keep a NAT gateway per zone.
 */
export function validateDisasterRecovery(settings: Pick<Settings, "clusters" | "environment">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const env = settings.environment;
  settings.clusters.forEach((c, i) => {
    if (c.substrate === "eks") {
      if (c.dr && c.dr.region === c.region)
        issues.push({
          path: ["clusters", i, "dr", "region"],
          message: `must differ from the cluster's region (${c.region})`,
          value: c.dr.region,
        });
      if (c.dr && c.dr.modelBucket === c.artifacts.modelBucket)
        issues.push({
          path: ["clusters", i, "dr", "modelBucket"],
          message: "must differ from artifacts.modelBucket (S3 bucket names are global)",
          value: c.dr.modelBucket,
        });
      if (c.dr && c.artifacts.role === "replica")
        issues.push({
          path: ["clusters", i, "dr"],
          message: "must be unset when artifacts.role is 'replica': only a primary replicates",
        });
      if (env === "dr" && c.artifacts.role !== "replica")
        issues.push({
          path: ["clusters", i, "artifacts", "role"],
          message: "must be 'replica' in environment dr: the dr stack reads the replicas and creates nothing the primary owns",
          value: c.artifacts.role,
        });
      if (HIGHLY_AVAILABLE_ENVIRONMENTS.includes(env) && c.natGateways !== "perZone")
        issues.push({
          path: ["clusters", i, "natGateways"],
          message: `must be 'perZone' in '${env}' so that one zone's outage does not cut every zone's egress`,
          value: c.natGateways,
        });
    }
    if (c.substrate === "aks") {
      const pair = AZURE_REGION_PAIRS[c.location];
      if (pair === null)
        issues.push({
          path: ["clusters", i, "location"],
          message:
            "has no Azure region pair, so the model storage account cannot be geo-redundant (RA-GZRS); choose a paired region",
          value: c.location,
        });
      if (c.drLocation !== undefined && c.drLocation === c.location)
        issues.push({
          path: ["clusters", i, "drLocation"],
          message: `must differ from location (${c.location})`,
          value: c.drLocation,
        });
      else if (c.drLocation !== undefined && pair && c.drLocation !== pair)
        issues.push({
          path: ["clusters", i, "drLocation"],
          message: `must be '${pair}', the pair of ${c.location}: model storage geo-replicates there, so the registry replica belongs there too`,
          value: c.drLocation,
        });
    }
  });
  return issues;
}

function servedSources(m: Settings["models"][number], clusterName: string): ModelSource {
  return m.sourceByCluster[clusterName] ?? m.source;
}

/**
 * Every model a cloud cluster serves comes from the store that cluster creates (or reads, for replicas):
 * that is the only store its serving identity may read.
 */
export function validateModelStores(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  settings.models.forEach((m, mi) => {
    for (const c of settings.clusters) {
      if (m.clusters !== undefined && !m.clusters.includes(c.name)) continue;
      const src = servedSources(m, c.name);
      const path: Path =
        c.name in m.sourceByCluster ? ["models", mi, "sourceByCluster", c.name, "uri"] : ["models", mi, "source", "uri"];
      if (c.substrate === "eks" && src.kind === "s3") {
        const bucket = /^s3:\/\/([^/]+)/.exec(src.uri)?.[1];
        if (bucket !== c.artifacts.modelBucket)
          issues.push({
            path,
            message: `must be in s3://${c.artifacts.modelBucket}/, the model bucket of cluster '${c.name}' (its serving identity reads only that bucket)`,
            value: src.uri,
          });
      } else if (c.substrate === "aks" && src.kind === "azureBlob") {
        const prefix = `https://${c.artifacts.storageAccount}.blob.core.windows.net/${c.artifacts.container}/`;
        if (!`${src.uri}/`.startsWith(prefix))
          issues.push({
            path,
            message: `must be under ${prefix}, the model container of cluster '${c.name}' (its serving identity reads only that container)`,
            value: src.uri,
          });
      } else if ((c.substrate === "eks" && src.kind === "azureBlob") || (c.substrate === "aks" && src.kind === "s3"))
        issues.push({
          path: path.slice(0, -1).concat("kind"),
          message: `cluster '${c.name}' (${c.substrate}) cannot read '${src.kind}' sources; use ${c.substrate === "eks" ? "s3" : "azureBlob"} or a per-cluster source (sourceByCluster)`,
          value: src.kind,
        });
    }
  });
  return issues;
}

/** Environments where a model source may float (no version and digest): nothing there is promoted as tested. */
export const UNPINNED_MODEL_ENVIRONMENTS: readonly Environment[] = ["local", "dev"];

/**
 * Every served model is a pinned artifact outside `local` and `dev`: each source (and per-cluster source)
 * names the version folder and the manifest digest, all of a model's sources pin the same artifact (only its
 * location differs per cluster), and a pvc source's subPath ends in the pinned version folder.
 */
export function validateModelPins(settings: Pick<Settings, "environment" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const mustPin = !UNPINNED_MODEL_ENVIRONMENTS.includes(settings.environment);
  settings.models.forEach((m, i) => {
    const sources: [Path, ModelSource][] = [
      [["models", i, "source"], m.source],
      ...Object.entries(m.sourceByCluster).map(([c, src]): [Path, ModelSource] => [["models", i, "sourceByCluster", c], src]),
    ];
    for (const [path, src] of sources) {
      if (src.kind === "demo") continue;
      for (const key of ["version", "digest"] as const)
        if (mustPin && src[key] === undefined)
          issues.push({
            path: [...path, key],
            message: `is required in '${settings.environment}': pin the model artifact (version folder and manifest digest, printed by \`llm-model publish\`); only ${UNPINNED_MODEL_ENVIRONMENTS.join(" and ")} may serve an unpinned source`,
          });
      if ((src.version === undefined) !== (src.digest === undefined))
        issues.push({
          path: [...path, src.version === undefined ? "version" : "digest"],
          message: "is required with the other: a version without its digest (or a digest without its version) pins nothing",
        });
      if (src.kind === "pvc" && src.version !== undefined && src.subPath.split("/").filter(Boolean).pop() !== src.version)
        issues.push({
          path: [...path, "subPath"],
          message: `must end in the pinned version folder '${src.version}' (the claim holds <prefix>/<version>/ as published)`,
          value: src.subPath,
        });
    }
    const [, first] = sources[0];
    if (first.kind === "demo") return;
    for (const [path, src] of sources.slice(1))
      if (src.kind !== "demo" && (src.version !== first.version || src.digest !== first.digest))
        issues.push({
          path: [...path, "digest"],
          message: `must pin the same artifact as models[${i}].source (${first.version ?? "no version"} ${first.digest ?? "no digest"}): every cluster serves the model that was tested`,
          value: src.digest,
        });
  });
  return issues;
}

/** In environment dr, an ECR image is pulled from a dr cluster's own region, never from the primary's. */
export function validateImageLocality(settings: Pick<Settings, "clusters" | "environment" | "runtime">): ConfigIssue[] {
  if (settings.environment !== "dr") return [];
  const region = /^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\//.exec(settings.runtime.image)?.[1];
  const regions = settings.clusters.flatMap((c) => (c.substrate === "eks" ? [c.region] : []));
  if (region === undefined || regions.includes(region)) return [];
  return [
    {
      path: ["runtime", "image"],
      message: `must come from the ECR replica in this stack's region (${regions.join(", ")}): the dr stack may not depend on ${region}`,
      value: settings.runtime.image,
    },
  ];
}

/**
 * TLS and host-name rules: DNS-01 needs a provider, and Azure DNS an identity (AKS clusters create
 * cert-manager's; elsewhere config names one); model names must not take a reserved host name.
 */
export function validateTrafficRules(
  settings: Pick<Settings, "tls" | "models"> & Partial<Pick<Settings, "clusters">>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const clusters = settings.clusters ?? [];
  const overridden = (c: (typeof clusters)[number]) => c.substrate === "onprem" && c.tlsIssuer !== undefined;
  // Each issuer with the clusters that use it: the stack's, and each on-prem cluster's own.
  const issuers: [(string | number)[], Settings["tls"]["issuer"], typeof clusters][] = [
    [["tls", "issuer"], settings.tls.issuer, clusters.filter((c) => !overridden(c))],
  ];
  clusters.forEach((c, i) => {
    if (c.substrate === "onprem" && c.tlsIssuer) issuers.push([["clusters", i, "tlsIssuer"], c.tlsIssuer, [c]]);
  });
  for (const [path, issuer, users] of issuers) {
    if (issuer.kind === "acme" && issuer.solver === "dns01" && issuer.dns01?.provider === "azureDns") {
      const withoutIdentity = users.find((c) => c.substrate !== "aks");
      if (issuer.dns01.managedIdentityClientId === undefined && withoutIdentity)
        issues.push({
          path: [...path, "dns01", "managedIdentityClientId"],
          message: `is required for cluster '${withoutIdentity.name}' (${withoutIdentity.substrate}): only AKS clusters create cert-manager's Azure DNS identity`,
        });
    }
    if (issuer.kind === "acme" && issuer.solver === "dns01" && issuer.dns01 === undefined)
      issues.push({
        path: [...path, "dns01"],
        message: "is required when solver is 'dns01': name the DNS provider (route53 or azureDns) that answers the challenge",
      });
    if (issuer.kind === "acme" && issuer.solver === "http01" && issuer.dns01 !== undefined)
      issues.push({
        path: [...path, "dns01"],
        message: "is only used with solver 'dns01' (solver is 'http01'): remove it or switch the solver",
        value: issuer.dns01.provider,
      });
  }
  settings.models.forEach((m, i) => {
    if (RESERVED_HOSTS.includes(m.name))
      issues.push({
        path: ["models", i, "name"],
        message: `is reserved: ${m.name}.<domain> is a platform host name (reserved: ${RESERVED_HOSTS.join(", ")})`,
        value: m.name,
      });
  });
  return issues;
}

/**
 * A model placed on a `local` cluster (CPU only) must ask for no GPU: its pods would otherwise wait forever
 * for a GPU node. Placement is `models[i].clusters`, or every cluster when unset.
 */
export function validateGpuPlacement(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const cpuOnly = settings.clusters.filter((c) => c.substrate === "local").map((c) => c.name);
  const issues: ConfigIssue[] = [];
  settings.models.forEach((m, i) => {
    const on = cpuOnly.filter((c) => m.clusters === undefined || m.clusters.includes(c));
    if (m.gpus > 0 && on.length > 0)
      issues.push({
        path: ["models", i, "gpus"],
        message: `must be 0 on CPU-only cluster${on.length === 1 ? "" : "s"} ${on.join(", ")} (substrate local has no GPUs)`,
        value: m.gpus,
      });
  });
  return issues;
}

/** What a node offers pods: capacity less the kubelet's reservations and the hard eviction threshold. */
export interface Allocatable {
  cpuMilli: number;
  memoryMiB: number;
  gpus: number;
  /** The machine's capacity, for the message. */
  capacity: string;
  /** How the reservation was worked out, for the message. */
  note: string;
}

const capacityOf = (s: MachineShape) => `${s.vcpu} vCPU, ${s.memoryMiB / 1024}Gi`;

/**
 * EKS AL2023 AMI (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go): kube-reserved CPU is 6% of the
 * first core, 1% of the second, 0.5% of the third and fourth and 0.25% of the rest; memory 11Mi per pod + 255Mi;
 * eviction at memory.available < 100Mi.
 */
export function eksAllocatable(shape: MachineShape): Allocatable {
  const total = shape.vcpu * 1000;
  const bands: [number, number, number][] = [
    [0, 1000, 600],
    [1000, 2000, 100],
    [2000, 4000, 50],
    [4000, Infinity, 25],
  ];
  const cpuReserved = bands.reduce(
    (sum, [lo, hi, pct]) => sum + (total <= lo ? 0 : Math.floor(((Math.min(total, hi) - lo) * pct) / 10000)),
    0,
  );
  const maxPods = shape.maxPods ?? 110;
  const memReserved = 11 * maxPods + 255;
  return {
    cpuMilli: total - cpuReserved,
    memoryMiB: shape.memoryMiB - memReserved - 100,
    gpus: shape.gpus,
    capacity: capacityOf(shape),
    note: `EKS AMI reserves ${cpuReserved}m CPU and ${memReserved}Mi for ${maxPods} pods, plus the 100Mi eviction threshold`,
  };
}

/** AKS kube-reserved CPU by core count (node resource reservations); between rows the larger row is taken. */
const AKS_CPU_RESERVED: readonly [number, number][] = [
  [1, 60],
  [2, 100],
  [4, 140],
  [8, 180],
  [16, 260],
  [32, 420],
  [64, 740],
];

/**
 * AKS 1.29+ (https://learn.microsoft.com/azure/aks/node-resource-reservations): CPU from the table above; memory
 * the lesser of 20MB per pod + 50MB and 25% of the VM's memory (MB read as MiB, the larger), plus the 100Mi
 * eviction threshold. Pods per node: the Azure CNI overlay default.
 */
export function aksAllocatable(shape: MachineShape, maxPods = AKS_MAX_PODS): Allocatable {
  // Past 64 cores the documented table stops; its last row is the best published figure.
  const cpuReserved = (AKS_CPU_RESERVED.find(([cores]) => shape.vcpu <= cores) ??
    AKS_CPU_RESERVED[AKS_CPU_RESERVED.length - 1])[1];
  const memReserved = Math.min(20 * maxPods + 50, Math.floor(shape.memoryMiB / 4));
  return {
    cpuMilli: shape.vcpu * 1000 - cpuReserved,
    memoryMiB: shape.memoryMiB - memReserved - 100,
    gpus: shape.gpus,
    capacity: capacityOf(shape),
    note: `AKS reserves ${cpuReserved}m CPU and ${memReserved}Mi for ${maxPods} pods, plus the 100Mi eviction threshold`,
  };
}

/** Kubernetes CPU quantity ("500m", "4", "1.5") in millicores. */
export function cpuMillicores(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}

/** Kubernetes memory quantity ("512Mi", "28Gi") in MiB. */
export function memoryMiB(q: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) return NaN;
  const factor = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 }[m[2] as "Ki" | "Mi" | "Gi" | "Ti"];
  return Number(m[1]) * factor;
}

const gib = (mib: number) => `${(mib / 1024).toFixed(1)}Gi`;

/**
 * Every model fits every machine type of every GPU pool it may land on, counting allocatable resources. The
 * cluster autoscaler builds a scale-from-zero node from the pool's first type and a pool may launch any of its
 * types: a type that cannot hold one replica leaves the pod pending forever.
 */
export function validateModelFitsPools(settings: Pick<Settings, "clusters" | "models">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  settings.models.forEach((m, mi) => {
    if (m.gpus === 0) return;
    const need = { cpu: cpuMillicores(m.resources.cpu), mem: memoryMiB(m.resources.memory) };
    settings.clusters.forEach((c, ci) => {
      if (m.clusters !== undefined && !m.clusters.includes(c.name)) return;
      const machines: { key: string; type: string; alloc: Allocatable }[] = [];
      if (c.substrate === "eks")
        c.gpuPools.forEach((p, j) =>
          p.instanceTypes.forEach((t, k) => {
            const shape = EC2_GPU_INSTANCE_SHAPES[t];
            if (shape)
              machines.push({ key: `clusters[${ci}].gpuPools[${j}].instanceTypes[${k}]`, type: t, alloc: eksAllocatable(shape) });
          }),
        );
      if (c.substrate === "aks")
        c.gpuPools.forEach((p, j) => {
          const shape = AZURE_GPU_VM_SHAPES[p.vmSize];
          if (shape)
            machines.push({ key: `clusters[${ci}].gpuPools[${j}].vmSize`, type: p.vmSize, alloc: aksAllocatable(shape) });
        });
      for (const { key, type, alloc } of machines) {
        const where = `${key} (${type})`;
        if (m.gpus > alloc.gpus)
          issues.push({
            path: ["models", mi, "gpus"],
            message: `needs ${m.gpus} GPUs per replica but ${where} has ${alloc.gpus}`,
            value: m.gpus,
          });
        if (need.cpu > alloc.cpuMilli)
          issues.push({
            path: ["models", mi, "resources", "cpu"],
            message: `does not fit ${where}: ${need.cpu}m requested, ${alloc.cpuMilli}m allocatable of ${alloc.capacity} (${alloc.note})`,
            value: m.resources.cpu,
          });
        if (need.mem > alloc.memoryMiB)
          issues.push({
            path: ["models", mi, "resources", "memory"],
            message: `does not fit ${where}: ${gib(need.mem)} requested, ${gib(alloc.memoryMiB)} allocatable of ${alloc.capacity} (${alloc.note}); the autoscaler would never scale this pool up for it`,
            value: m.resources.memory,
          });
      }
    });
  });
  return issues;
}

/**
 * A model's capacity target states its peak one way (requests/s or generated tokens/s, not both), is only set
 * on GPU models (the throughput table has no CPU rows), and asks for a time to first token no looser than the
 * SLO the alerts page on: a stack sized for a looser objective would page on-call at every peak.
 */
export function validateCapacityTargets(settings: Pick<Settings, "models" | "observability">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const slo = settings.observability.slo.ttftP95Seconds;
  settings.models.forEach((m, i) => {
    const t: CapacityTarget | undefined = m.target;
    if (!t) return;
    const path = ["models", i, "target"];
    if ((t.requestsPerSecond === undefined) === (t.tokensPerSecond === undefined))
      issues.push({
        path,
        message: `must set exactly one of requestsPerSecond and tokensPerSecond (${t.requestsPerSecond === undefined ? "neither is" : "both are"} set)`,
      });
    if (m.gpus === 0)
      issues.push({
        path: ["models", i, "gpus"],
        message: "must be >= 1 for a model with a capacity target (the throughput table has GPU rows only)",
        value: 0,
      });
    if (t.ttftP95Seconds > slo)
      issues.push({
        path: [...path, "ttftP95Seconds"],
        message: `must be <= observability.slo.ttftP95Seconds (${slo}): capacity sized for a looser objective pages on-call at every peak`,
        value: t.ttftP95Seconds,
      });
  });
  return issues;
}

/** Every cross-field rule, in the order their messages are reported. */
/**
 * DNS failover (components/traffic/failover.ts): with `dns`, every cluster states its role; the roles form a
 * chain Route 53 can hold; each cluster can be reached by Route 53's health checkers; the derived host names
 * are valid single labels under the domain.
 */
export function validateDnsFailover(settings: Pick<Settings, "clusters" | "models" | "domain" | "dns">): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { dns } = settings;
  const roleOf = (c: ClusterSettings) => ("failover" in c ? c.failover : undefined);
  settings.clusters.forEach((c, i) => {
    const f = roleOf(c);
    const at = ["clusters", i, "failover"];
    if (dns === undefined) {
      if (f)
        issues.push({ path: at, message: "needs dns (the Route 53 zone the failover records live in): set dns or remove it" });
      return;
    }
    if (c.substrate === "aks" || c.substrate === "local") {
      issues.push({
        path: ["dns"],
        message: `DNS failover is built for eks and onprem clusters in Route 53; cluster '${c.name}' is ${c.substrate} (AKS stacks stay single-cluster): remove dns`,
      });
      return;
    }
    if (f === undefined) {
      issues.push({ path: at, message: "is required with dns: give the cluster's role (primary, secondary, tertiary or none)" });
      return;
    }
    if (c.name === STANDBY)
      issues.push({
        path: ["clusters", i, "name"],
        message: `'${STANDBY}' names the failover chain's standby records`,
        value: c.name,
      });
    if (c.substrate === "onprem" && f.role !== "none" && f.publicAddress === undefined)
      issues.push({
        path: [...at, "publicAddress"],
        message: `is required for role ${f.role}: Route 53's health checkers and failed-over clients reach an on-prem gateway only at a public address`,
      });
    if (c.substrate === "eks" && f.publicAddress !== undefined)
      issues.push({
        path: [...at, "publicAddress"],
        message: "is for on-prem clusters: an EKS cluster's records point at its load balancer (external-dns publishes them)",
        value: f.publicAddress,
      });
    if (c.substrate === "eks" && f.role !== "none" && c.loadBalancer.scheme === "internal")
      issues.push({
        path: [...at, "role"],
        message: `needs an internet-facing load balancer (clusters[${i}].loadBalancer.scheme is internal): Route 53's health checkers cannot reach it`,
        value: f.role,
      });
  });
  if (dns === undefined) return issues;
  const withRole = (role: string) => settings.clusters.flatMap((c, i) => (roleOf(c)?.role === role ? [{ c, i }] : []));
  for (const role of ["primary", "secondary", "tertiary"]) {
    const holders = withRole(role);
    for (const { i } of holders.slice(1))
      issues.push({
        path: ["clusters", i, "failover", "role"],
        message: `only one cluster can be ${role} (also '${holders[0].c.name}')`,
        value: role,
      });
  }
  const [primary] = withRole("primary");
  const [secondary] = withRole("secondary");
  if (primary && !secondary)
    issues.push({
      path: ["clusters", primary.i, "failover", "role"],
      message:
        "primary needs a secondary cluster in the same stack: the primary's fallback record aliases the standby name, which Route 53 only accepts once the secondary's record exists",
      value: "primary",
    });
  const served = (m: Settings["models"][number], name: string) => m.clusters === undefined || m.clusters.includes(name);
  settings.models.forEach((m, mi) => {
    if (primary && secondary && served(m, primary.c.name) && !served(m, secondary.c.name))
      issues.push({
        path: ["models", mi, "clusters"],
        message: `model '${m.name}' is on the primary cluster '${primary.c.name}' but not on the secondary '${secondary.c.name}': failover would have nowhere to go`,
      });
  });
  const inChain = settings.clusters.filter((c) => (roleOf(c)?.role ?? "none") !== "none");
  settings.models.forEach((m, mi) => {
    if (m.replicas.min === 0 && inChain.some((c) => served(m, c.name)))
      issues.push({
        path: ["models", mi, "replicas", "min"],
        message: `must be >= 1 on clusters in the DNS failover chain: at zero replicas /readyz fails and Route 53 would fail '${m.name}' over`,
        value: 0,
      });
  });
  const labels = [...RESERVED_HOSTS, ...settings.models.map((m) => m.name)];
  for (const { c, i } of ["primary", "secondary", "tertiary"].flatMap(withRole))
    for (const label of labels) {
      // Standby labels (<= 40 + 9 characters) always fit; health hosts join two names of up to 40.
      const host = healthHost(label, c.name, settings.domain);
      const first = host.slice(0, host.indexOf("."));
      if (first.length > 63)
        issues.push({
          path: ["clusters", i, "name"],
          message: `makes the health host ${host}, whose first label has ${first.length} characters (DNS allows 63): shorten the cluster or model name`,
          value: c.name,
        });
    }
  return issues;
}

export function validateSettings(settings: Settings, configKeys: ReadonlyMap<string, boolean>): ConfigIssue[] {
  return [
    ...validateBounds(settings),
    ...validateUniqueNames(settings),
    ...validateModelPlacement(settings),
    ...validateEnvironmentRules(settings),
    ...validateTrafficRules(settings),
    ...validateGpuPlacement(settings),
    ...validateSecretReferences(settings, configKeys),
    ...validateAlerting(settings),
    ...validateSloTargets(settings),
    ...validateCloudRegions(settings),
    ...validateGpuMachineTypes(settings),
    ...validateNetworkOverlaps(settings),
    ...validateDisasterRecovery(settings),
    ...validateModelStores(settings),
    ...validateModelPins(settings),
    ...validateImageLocality(settings),
    ...validateModelFitsPools(settings),
    ...validateCapacityTargets(settings),
    ...validateDnsFailover(settings),
  ];
}

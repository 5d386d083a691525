/**
 * Invariants of the Kubernetes layer: traffic from outside only through TLS listeners (TLS 1.2 or newer),
 * a default-deny network policy wherever inference runs, and highly available workloads where the
 * environment must survive a node drain.
 */
import { RUNTIME_LABELS } from "../../components/kubernetes-layer";
import { SERVING_TIER_LABEL } from "../../components/security/namespaces";
import { startupWorstCaseSeconds } from "../../components/serving/llm-service";
import { HIGHLY_AVAILABLE_ENVIRONMENTS } from "../config/validators";
import { asArray, asObj, containersOf, get, id, ofType, type Obj } from "./inspect";
import { EXTERNAL_SERVICE_TYPES, exposedServiceViolations, GATEWAY, gatewayListenerViolations } from "./rules";
import type { PlannedResource, Policy, Violation } from "./types";

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
const CLIENT_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject";
/** The component that holds everything of one cluster: objects are only compared within one. */
const CLUSTER_SCOPE = "llm:platform:KubernetesLayer";

const TLS_VERSIONS_OK = new Set(["1.2", "1.3"]);

/** Paths inside chart values that would create a LoadBalancer/NodePort Service (`...service.type`). */
function exposedServiceValues(value: unknown, path: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => exposedServiceValues(v, [...path, String(i)]));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value as Obj).flatMap(([k, v]) => {
    if (k === "type" && typeof v === "string" && EXTERNAL_SERVICE_TYPES.has(v) && /service/i.test(path[path.length - 1] ?? ""))
      return [[...path, k].join(".")];
    return exposedServiceValues(v, [...path, k]);
  });
}

const targets = (policy: PlannedResource, kind: string, name: unknown) =>
  asArray(get(policy.inputs, "spec", "targetRefs")).some((t) => get(t, "kind") === kind && get(t, "name") === name);

export const externalTrafficThroughTls: Policy = {
  name: "external-traffic-through-tls",
  description:
    "Every Service reachable from outside goes through a TLS listener: no LoadBalancer/NodePort Services or chart values, Gateway listeners HTTPS (plain HTTP only redirects), TLS 1.2 minimum.",
  check(resources) {
    const out: Violation[] = [];
    out.push(...exposedServiceViolations(resources));
    for (const r of ofType(resources, HELM_RELEASE))
      for (const p of exposedServiceValues(get(r.inputs, "values")))
        out.push({ resource: id(r), message: `chart value ${p} exposes a Service outside the TLS gateway` });
    out.push(...gatewayListenerViolations(resources));
    const policies = ofType(resources, CLIENT_TRAFFIC_POLICY);
    for (const gw of ofType(resources, GATEWAY)) {
      const name = get(gw.inputs, "metadata", "name");
      const tlsListeners = asArray(get(gw.inputs, "spec", "listeners")).filter((l) => get(l, "protocol") === "HTTPS");
      if (tlsListeners.length === 0) {
        out.push({ resource: id(gw), message: "has no HTTPS listener" });
        continue;
      }
      const minVersions = policies
        .filter((p) => targets(p, "Gateway", name))
        .map((p) => get(p.inputs, "spec", "tls", "minVersion"));
      if (!minVersions.some((v) => typeof v === "string" && TLS_VERSIONS_OK.has(v)))
        out.push({ resource: id(gw), message: "no ClientTrafficPolicy sets tls.minVersion 1.2 or 1.3 on its listeners" });
    }
    return out;
  },
};

/** `type::name` of the nearest ancestor of the given type, or null. */
function scopeOf(r: PlannedResource, byKey: ReadonlyMap<string, PlannedResource>): string | null {
  let parent = r.parent;
  while (parent !== null) {
    if (parent.startsWith(`${CLUSTER_SCOPE}::`)) return parent;
    parent = byKey.get(parent)?.parent ?? null;
  }
  return null;
}

/** Keys resources by cluster (their KubernetesLayer ancestor) and namespace, so rules compare within one. */
export function scoped(resources: readonly PlannedResource[]) {
  const byKey = new Map(resources.map((r) => [id(r), r] as const));
  return (r: PlannedResource) =>
    `${scopeOf(r, byKey) ?? "-"}|${String(get(r.inputs, "metadata", "namespace") ?? get(r.inputs, "metadata", "name"))}`;
}

const isDefaultDeny = (np: PlannedResource) => {
  const spec = asObj(get(np.inputs, "spec"));
  const types = asArray(spec.policyTypes);
  return (
    Object.keys(asObj(get(spec, "podSelector"))).length === 0 &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    asArray(spec.ingress).length === 0 &&
    asArray(spec.egress).length === 0
  );
};

export const servingDefaultDeny: Policy = {
  name: "serving-namespace-default-deny",
  description:
    "Every namespace that runs inference (serving tier or runtime Deployments) has a default-deny ingress and egress NetworkPolicy.",
  check(resources) {
    const key = scoped(resources);
    const denied = new Set(ofType(resources, NETWORK_POLICY).filter(isDefaultDeny).map(key));
    const serving = new Map<string, PlannedResource>();
    for (const ns of ofType(resources, NAMESPACE))
      if (get(ns.inputs, "metadata", "labels", SERVING_TIER_LABEL) === "serving") serving.set(key(ns), ns);
    for (const d of ofType(resources, DEPLOYMENT))
      if (
        get(d.inputs, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") ===
          RUNTIME_LABELS["app.kubernetes.io/name"] &&
        !serving.has(key(d))
      )
        serving.set(key(d), d);
    const out: Violation[] = [];
    for (const [k, r] of serving)
      if (!denied.has(k))
        out.push({
          resource: id(r),
          message: `namespace '${k.split("|")[1]}' runs inference without a default-deny NetworkPolicy`,
        });
    return out;
  },
};

const selects = (selector: unknown, labels: unknown) => {
  const match = Object.entries(asObj(get(selector, "matchLabels")));
  return match.length > 0 && match.every(([k, v]) => get(labels, k) === v);
};

export const highlyAvailableWorkloads: Policy = {
  name: "highly-available-workloads",
  description: `In ${HIGHLY_AVAILABLE_ENVIRONMENTS.join(" and ")}, every Deployment has a PodDisruptionBudget and at least 2 replicas (or a scaler whose minimum is at least 2).`,
  check(resources, ctx) {
    if (!(HIGHLY_AVAILABLE_ENVIRONMENTS as readonly string[]).includes(ctx.environment)) return [];
    const key = scoped(resources);
    const pdbs = ofType(resources, PDB);
    const scalers = ofType(resources, SCALED_OBJECT);
    const out: Violation[] = [];
    for (const d of ofType(resources, DEPLOYMENT)) {
      const labels = get(d.inputs, "spec", "template", "metadata", "labels");
      if (!pdbs.some((p) => key(p) === key(d) && selects(get(p.inputs, "spec", "selector"), labels)))
        out.push({ resource: id(d), message: "has no PodDisruptionBudget selecting its pods" });
      const name = get(d.inputs, "metadata", "name");
      const scaler = scalers.find(
        (s) =>
          key(s) === key(d) &&
          get(s.inputs, "spec", "scaleTargetRef", "name") === name &&
          (get(s.inputs, "spec", "scaleTargetRef", "kind") ?? "Deployment") === "Deployment",
      );
      const replicas = get(d.inputs, "spec", "replicas");
      const min = scaler ? get(scaler.inputs, "spec", "minReplicaCount") : undefined;
      if (scaler ? !(typeof min === "number" && min >= 2) : !(typeof replicas === "number" && replicas >= 2))
        out.push({
          resource: id(d),
          message: scaler
            ? `its scaler's minReplicaCount is ${String(min)}; must be >= 2`
            : `runs ${String(replicas ?? 1)} replica(s) without a scaler; must be >= 2`,
        });
    }
    return out;
  },
};

/** Pulumi's wait for a Deployment to become ready when the program sets no `customTimeouts`. */
export const PULUMI_DEFAULT_WAIT_SECONDS = 600;

/** Seconds in a Go duration string as Pulumi's `customTimeouts` takes it (`55m`, `1h30m`, `90s`); NaN if not one. */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return Number.NaN;
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"], 0);
}

export const rolloutWaitsForStartup: Policy = {
  name: "rollout-waits-for-startup",
  description:
    "Every Deployment with a startup probe has customTimeouts (create and update) longer than the worst case that probe allows, so `pulumi up` does not fail a slow but healthy first start.",
  check(resources) {
    const out: Violation[] = [];
    for (const d of ofType(resources, DEPLOYMENT)) {
      const pod = asObj(get(d.inputs, "spec", "template", "spec"));
      const worst = Math.max(
        0,
        ...[...containersOf(pod)].map((c) => {
          const probe = get(c, "startupProbe");
          return probe ? startupWorstCaseSeconds(asObj(probe)) : 0;
        }),
      );
      if (worst === 0) continue;
      for (const op of ["create", "update"] as const) {
        const given = d.customTimeouts?.[op];
        const seconds = given === undefined ? PULUMI_DEFAULT_WAIT_SECONDS : durationSeconds(given);
        if (!(seconds > worst))
          out.push({
            resource: id(d),
            message: `customTimeouts.${op} is ${given ?? "unset (Pulumi waits 10m)"}, not longer than the ${worst}s its startup probe allows`,
          });
      }
    }
    return out;
  },
};

export const KUBERNETES_POLICIES: readonly Policy[] = [
  externalTrafficThroughTls,
  servingDefaultDeny,
  highlyAvailableWorkloads,
  rolloutWaitsForStartup,
];

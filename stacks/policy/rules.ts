/** The named invariants every environment's plan must satisfy. Each is a plain object, tested directly. */
import { asArray, asObj, containersOf, get, id, isSecret, ofType, podSpecs, reveal } from "./inspect";
import type { PlannedResource, Policy, Violation } from "./types";

export const workloadResources: Policy = {
  name: "workload-resources",
  description: "Every container of every workload sets CPU and memory requests and limits.",
  check(resources) {
    const out: Violation[] = [];
    for (const { resource, pod } of podSpecs(resources))
      for (const c of containersOf(pod))
        for (const kind of ["requests", "limits"] as const)
          for (const res of ["cpu", "memory"] as const)
            if (get(c, "resources", kind, res) === undefined)
              out.push({ resource: id(resource), message: `container '${String(c.name)}' has no ${res} ${kind.slice(0, -1)}` });
    return out;
  },
};

export const nonRootContainers: Policy = {
  name: "non-root-containers",
  description: "Every container runs as a non-root user without privilege escalation.",
  check(resources) {
    const out: Violation[] = [];
    for (const { resource, pod } of podSpecs(resources)) {
      const podNonRoot = get(pod, "securityContext", "runAsNonRoot") === true;
      const podUser = get(pod, "securityContext", "runAsUser");
      for (const c of containersOf(pod)) {
        const nonRoot = get(c, "securityContext", "runAsNonRoot") ?? (podNonRoot ? true : undefined);
        const user = get(c, "securityContext", "runAsUser") ?? podUser;
        if (nonRoot !== true)
          out.push({ resource: id(resource), message: `container '${String(c.name)}' does not set runAsNonRoot` });
        if (user === 0) out.push({ resource: id(resource), message: `container '${String(c.name)}' runs as UID 0` });
        if (get(c, "securityContext", "allowPrivilegeEscalation") !== false)
          out.push({ resource: id(resource), message: `container '${String(c.name)}' allows privilege escalation` });
      }
    }
    return out;
  },
};

/** Keys whose values are credentials wherever they appear (chart values, provider inputs). */
const CREDENTIAL_KEY = /^(password|adminPassword|.*Password|token|apiKeys?|kubeconfig|clientSecret|secretAccessKey)$/i;

function findPlainCredentials(value: unknown, path: string[], out: string[]): void {
  if (isSecret(value)) return;
  if (Array.isArray(value)) return value.forEach((v, i) => findPlainCredentials(v, [...path, String(i)], out));
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (CREDENTIAL_KEY.test(k) && typeof v === "string" && v !== "") out.push([...path, k].join("."));
      else findPlainCredentials(v, [...path, k], out);
    }
  }
}

export const secretsAreSecret: Policy = {
  name: "secrets-are-pulumi-secrets",
  description: "Secret data, kubeconfigs and credential-like values are Pulumi secrets, never plain text in state.",
  check(resources) {
    const out: Violation[] = [];
    for (const r of ofType(resources, "kubernetes:core/v1:Secret"))
      for (const field of ["data", "stringData"]) {
        const v = r.inputs[field];
        if (v === undefined || isSecret(v)) continue;
        for (const [k, x] of Object.entries(asObj(v)))
          if (!isSecret(x)) out.push({ resource: id(r), message: `${field}.${k} is not a Pulumi secret` });
      }
    for (const r of resources) {
      const paths: string[] = [];
      findPlainCredentials(r.inputs, [], paths);
      for (const p of paths) out.push({ resource: id(r), message: `${p} holds a credential in plain text` });
    }
    return out;
  },
};

export const GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
export const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";

/** A route that only redirects to HTTPS, the one thing a plain-HTTP listener may carry. */
function isHttpsRedirect(route: unknown): boolean {
  const rules = asArray(get(route, "spec", "rules"));
  return (
    rules.length > 0 &&
    rules.every((rule) => {
      const filters = asArray(get(rule, "filters"));
      return (
        asArray(get(rule, "backendRefs")).length === 0 &&
        filters.some((f) => get(f, "type") === "RequestRedirect" && get(f, "requestRedirect", "scheme") === "https")
      );
    })
  );
}

/**
 * Listener problems of every Gateway: HTTPS/TLS listeners without a certificate, and routes that serve
 * traffic (rather than only redirect to HTTPS) on a plain listener.
 */
/** Service types that are reachable from outside the cluster without passing the TLS gateway. */
export const EXTERNAL_SERVICE_TYPES: ReadonlySet<string> = new Set(["LoadBalancer", "NodePort"]);

/** Services that expose pods directly (LoadBalancer, NodePort) instead of through the TLS gateway. */
export function exposedServiceViolations(resources: readonly PlannedResource[]): Violation[] {
  return ofType(resources, "kubernetes:core/v1:Service").flatMap((r) => {
    const type = get(r.inputs, "spec", "type");
    return typeof type === "string" && EXTERNAL_SERVICE_TYPES.has(type)
      ? [{ resource: id(r), message: `Service of type ${type} bypasses the TLS gateway` }]
      : [];
  });
}

export function gatewayListenerViolations(
  resources: readonly PlannedResource[],
  gateways = ofType(resources, GATEWAY),
): Violation[] {
  const out: Violation[] = [];
  const routes = ofType(resources, HTTP_ROUTE);
  for (const gw of gateways) {
    const gwName = get(gw.inputs, "metadata", "name");
    for (const l of asArray(get(gw.inputs, "spec", "listeners")).map(asObj)) {
      const protocol = reveal(l.protocol);
      if (protocol === "HTTPS" || protocol === "TLS") {
        if (asArray(get(l, "tls", "certificateRefs")).length === 0)
          out.push({ resource: id(gw), message: `listener '${String(l.name)}' has no certificate` });
        continue;
      }
      const attached = routes.filter((route) =>
        asArray(get(route.inputs, "spec", "parentRefs")).some(
          (p) => get(p, "name") === gwName && (get(p, "sectionName") === undefined || get(p, "sectionName") === l.name),
        ),
      );
      for (const route of attached.filter((r) => !isHttpsRedirect(r.inputs)))
        out.push({ resource: id(route), message: `serves traffic on plain ${String(protocol)} listener '${String(l.name)}'` });
    }
  }
  return out;
}

export const tlsOutsideLocal: Policy = {
  name: "tls-outside-local",
  description:
    "Outside local, nothing is exposed without TLS: no LoadBalancer/NodePort Services, TLS on every Ingress, and Gateway listeners are HTTPS (plain HTTP only to redirect).",
  check(resources, ctx) {
    if (ctx.environment === "local") return [];
    const out: Violation[] = [];
    out.push(...exposedServiceViolations(resources));
    for (const r of ofType(resources, "kubernetes:networking.k8s.io/v1:Ingress"))
      if (asArray(get(r.inputs, "spec", "tls")).length === 0) out.push({ resource: id(r), message: "Ingress without tls" });
    out.push(...gatewayListenerViolations(resources));
    return out;
  },
};

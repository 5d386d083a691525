/**
 * TLS on the hops behind the gateway: outside `local`, nothing reaches the runtime in plain text. The runtime
 * listens on HTTPS with a certificate, the gateway verifies it (a BackendTLSPolicy with a CA and a hostname
 * on every runtime Service a route sends traffic to), its probes speak HTTPS, and Prometheus scrapes it over
 * verified TLS. A model held at zero replicas by the KEDA HTTP add-on adds two hops (gateway -> interceptor ->
 * runtime): the interceptor must run its TLS server without skipping verification, and the gateway must verify
 * it, or the held path is plain HTTP (and fails against an HTTPS-only runtime).
 */
import { INTERCEPTOR } from "../../components/autoscaling/http-add-on";
import { CHARTS } from "../../components/charts";
import { RUNTIME_LABELS } from "../../components/kubernetes-layer";
import { asArray, containersOf, get, id, ofType, podSpecs, reveal } from "./inspect";
import { HTTP_ROUTE } from "./rules";
import { HELM_RELEASE, scoped } from "./rules-kubernetes";
import type { PlannedResource, Policy, Violation } from "./types";

const SERVICE = "kubernetes:core/v1:Service";
const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
/** Served by gateway-helm v1.7.4's Gateway API v1.4.1 CRDs (v1 is the storage version; v1alpha3 still served). */
export const BACKEND_TLS_POLICY_TYPES = [
  "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy",
  "kubernetes:gateway.networking.k8s.io/v1alpha3:BackendTLSPolicy",
];
const HTTP_SCALED_OBJECT = "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject";

const isRuntime = (labels: unknown) => get(labels, "app.kubernetes.io/name") === RUNTIME_LABELS["app.kubernetes.io/name"];

/** The value after `flag` in a container's args (`--flag value`), or undefined. */
function argValue(args: unknown[], flag: string): unknown {
  const i = args.findIndex((a) => reveal(a) === flag);
  return i >= 0 ? reveal(args[i + 1]) : undefined;
}

/** What is wrong with one runtime container's listener: plain HTTP, no certificate, probes over HTTP. */
export function runtimeContainerTlsProblems(container: unknown): string[] {
  const args = asArray(get(container, "args"));
  const urls = argValue(args, "--urls");
  if (urls === undefined) return [];
  const out: string[] = [];
  const name = String(get(container, "name"));
  if (
    !String(urls)
      .split(";")
      .every((u) => u.startsWith("https://"))
  )
    out.push(`container '${name}' listens on ${String(urls)}, not https://`);
  for (const flag of ["--tls-cert-file", "--tls-key-file"])
    if (typeof argValue(args, flag) !== "string") out.push(`container '${name}' has no ${flag}`);
  for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"])
    if (get(container, probe, "httpGet") !== undefined && get(container, probe, "httpGet", "scheme") !== "HTTPS")
      out.push(`container '${name}' ${probe} is not HTTPS`);
  return out;
}

/** Services a route of the same cluster and namespace sends traffic to, by `scope|namespace|name`. */
function routedServices(resources: readonly PlannedResource[], key: (r: PlannedResource) => string): Set<string> {
  const out = new Set<string>();
  for (const route of ofType(resources, HTTP_ROUTE))
    for (const rule of asArray(get(route.inputs, "spec", "rules")))
      for (const ref of asArray(get(rule, "backendRefs")))
        if ((get(ref, "kind") ?? "Service") === "Service" && get(ref, "namespace") === undefined)
          out.add(`${key(route)}|${String(get(ref, "name"))}`);
  return out;
}

/** The scope part of a `scoped` key (`scope|namespace`). */
const scopeOfKey = (k: string) => k.slice(0, k.lastIndexOf("|"));

/** Interceptor Services a route sends traffic to (always in another namespace), by `scope|namespace|name`. */
function routedInterceptors(
  resources: readonly PlannedResource[],
  key: (r: PlannedResource) => string,
): Map<string, PlannedResource> {
  const out = new Map<string, PlannedResource>();
  for (const route of ofType(resources, HTTP_ROUTE))
    for (const rule of asArray(get(route.inputs, "spec", "rules")))
      for (const ref of asArray(get(rule, "backendRefs")))
        if ((get(ref, "kind") ?? "Service") === "Service" && get(ref, "name") === INTERCEPTOR.service)
          out.set(
            `${scopeOfKey(key(route))}|${String(get(ref, "namespace") ?? get(route.inputs, "metadata", "namespace"))}|${INTERCEPTOR.service}`,
            route,
          );
  return out;
}

/** Why the HTTP add-on's interceptor would proxy to the runtime without verified TLS, from its chart values. */
export function interceptorTlsProblems(values: unknown): string[] {
  const tls = get(values, "interceptor", "tls");
  if (get(tls, "enabled") !== true)
    return ["interceptor.tls.enabled is not true: the interceptor proxies to the runtime over plain HTTP"];
  if (get(tls, "skipVerify") === true || get(tls, "skip_verify") === true)
    return ["interceptor.tls.skipVerify is true: the interceptor does not verify the runtime"];
  return [];
}

/** A BackendTLSPolicy that verifies: a CA (or the system roots) and a hostname. */
function verifies(policy: PlannedResource): boolean {
  const v = get(policy.inputs, "spec", "validation");
  const hasCa = asArray(get(v, "caCertificateRefs")).length > 0 || get(v, "wellKnownCACertificates") === "System";
  return hasCa && typeof get(v, "hostname") === "string";
}

export const runtimeHopsTls: Policy = {
  name: "runtime-hops-tls",
  description:
    "Outside local, every hop to the runtime is TLS: it serves HTTPS with a certificate (probes HTTPS too), the gateway verifies it with a BackendTLSPolicy, and Prometheus scrapes it over verified TLS.",
  check(resources, ctx) {
    if (ctx.environment === "local") return [];
    const out: Violation[] = [];
    const key = scoped(resources);

    for (const { resource, pod } of podSpecs(resources))
      if (isRuntime(get(resource.inputs, "spec", "template", "metadata", "labels")))
        for (const c of containersOf(pod))
          for (const message of runtimeContainerTlsProblems(c)) out.push({ resource: id(resource), message });

    const routed = routedServices(resources, key);
    const verified = new Set<string>();
    for (const p of BACKEND_TLS_POLICY_TYPES.flatMap((t) => ofType(resources, t)).filter(verifies))
      for (const t of asArray(get(p.inputs, "spec", "targetRefs")))
        if (get(t, "kind") === "Service" && (get(t, "group") ?? "") === "") verified.add(`${key(p)}|${String(get(t, "name"))}`);
    for (const svc of ofType(resources, SERVICE)) {
      if (!isRuntime(get(svc.inputs, "metadata", "labels"))) continue;
      const k = `${key(svc)}|${String(get(svc.inputs, "metadata", "name"))}`;
      if (routed.has(k) && !verified.has(k))
        out.push({
          resource: id(svc),
          message: "the gateway reaches it without TLS: no BackendTLSPolicy with a CA and hostname targets it",
        });
    }

    // The held path: the add-on's release in the same cluster must proxy over verified TLS, and the gateway must
    // verify the interceptor.
    const held = ofType(resources, HTTP_SCALED_OBJECT);
    if (held.length > 0) {
      const releases = ofType(resources, HELM_RELEASE).filter((r) => get(r.inputs, "chart") === CHARTS.kedaHttpAddOn.chart);
      for (const hso of held) {
        const release = releases.find((r) => scopeOfKey(key(r)) === scopeOfKey(key(hso)));
        const problems = release
          ? interceptorTlsProblems(get(release.inputs, "values"))
          : ["no keda-add-ons-http release in its cluster"];
        for (const p of problems) out.push({ resource: id(hso), message: `the held path is not TLS: ${p}` });
      }
    }
    for (const [k, route] of routedInterceptors(resources, key))
      if (!verified.has(k))
        out.push({
          resource: id(route),
          message: `the gateway reaches the interceptor (${INTERCEPTOR.service}) without TLS: no BackendTLSPolicy with a CA and hostname targets it`,
        });

    for (const sm of ofType(resources, SERVICE_MONITOR)) {
      if (!isRuntime(get(sm.inputs, "spec", "selector", "matchLabels"))) continue;
      for (const e of asArray(get(sm.inputs, "spec", "endpoints"))) {
        const port = String(get(e, "port"));
        if (String(get(e, "scheme") ?? "http").toLowerCase() !== "https")
          out.push({ resource: id(sm), message: `endpoint '${port}' scrapes the runtime over plain HTTP` });
        else if (get(e, "tlsConfig", "ca") === undefined || typeof get(e, "tlsConfig", "serverName") !== "string")
          out.push({ resource: id(sm), message: `endpoint '${port}' does not verify the runtime (tlsConfig.ca and serverName)` });
        if (get(e, "tlsConfig", "insecureSkipVerify") === true)
          out.push({ resource: id(sm), message: `endpoint '${port}' sets tlsConfig.insecureSkipVerify` });
      }
    }
    return out;
  },
};

/**
 * Kubernetes object schema guard: every `kubernetes:<group>/<version>:<Kind>` resource in a plan is validated
 * with the kubernetes-models packages (generated from the Kubernetes OpenAPI spec and the projects' own CRD
 * Go types; versions in fixtures/kubernetes-models-versions.json). No schema is written here.
 */

/** API group -> the package that ships its models (ESM; loaded with dynamic import). */
const PACKAGES: Record<string, string> = {
  core: "kubernetes-models",
  apps: "kubernetes-models",
  policy: "kubernetes-models",
  "networking.k8s.io": "kubernetes-models",
  "scheduling.k8s.io": "kubernetes-models",
  "storage.k8s.io": "kubernetes-models",
  "rbac.authorization.k8s.io": "kubernetes-models",
  batch: "kubernetes-models",
  autoscaling: "kubernetes-models",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "gateway.envoyproxy.io": "@kubernetes-models/envoy-gateway",
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

/**
 * Groups no kubernetes-models package ships: validated against the CRD's own openAPIV3Schema, stored as a dated
 * fixture (fixtures/crds/<group>-<version>-<Kind>.json) taken at the version the pinned chart installs.
 */
export const CRD_FIXTURES: readonly string[] = ["http.keda.sh-v1alpha1-HTTPScaledObject"];

/**
 * A CRD schema as the API server applies it, plus what pruning would otherwise hide: an object that lists its
 * properties accepts no others (the API server drops unknown fields silently, so a typo would be lost).
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (
    out.type === "object" &&
    out.properties &&
    out.additionalProperties === undefined &&
    !out["x-kubernetes-preserve-unknown-fields"]
  )
    out.additionalProperties = false;
  return out;
}

async function crdModelFor(group: string, version: string, kind: string): Promise<ModelClass | undefined> {
  const file = `${group}-${version}-${kind}`;
  if (!CRD_FIXTURES.includes(file)) return undefined;
  const [{ default: Ajv }, { readFileSync }, path] = await Promise.all([import("ajv"), import("node:fs"), import("node:path")]);
  const fixture = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "crds", `${file}.json`), "utf8")) as {
    schema: object;
  };
  const schema = closed(fixture.schema) as Record<string, unknown>;
  // metadata is the API server's ObjectMeta, not part of the CRD's schema.
  (schema.properties as Record<string, unknown>).metadata = { type: "object" };
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  return class {
    constructor(private readonly data: unknown) {}
    validate() {
      if (!validate(this.data)) throw Object.assign(new Error("invalid"), { errors: validate.errors });
    }
  };
}

/** Kubernetes-provider resources that are not API objects, each with why no object schema applies. */
export const NO_SCHEMA_ALLOWED: Record<string, string> = {
  // A Helm release is Pulumi's wrapper around `helm install`; its values are checked by the Helm values guard.
  "kubernetes:helm.sh/v3:Release": "not a Kubernetes object (Helm release; values checked against the chart)",
};

export interface SchemaProblem {
  resource: string;
  message: string;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** `kubernetes:apps/v1:Deployment` -> { group, version, kind, apiVersion }. */
export function parseToken(type: string): { group: string; version: string; kind: string; apiVersion: string } | undefined {
  const m = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(type);
  if (!m) return undefined;
  const [, group, version, kind] = m;
  return { group, version, kind, apiVersion: group === "core" ? version : `${group}/${version}` };
}

async function modelFor(group: string, version: string, kind: string): Promise<ModelClass | undefined> {
  const pkg = PACKAGES[group];
  if (!pkg) return undefined;
  const sub = pkg === "kubernetes-models" && group === "core" ? "v1" : `${group}/${version}`;
  try {
    const mod = (await import(`${pkg}/${sub}`)) as Record<string, unknown>;
    return mod[kind] as ModelClass | undefined;
  } catch {
    return undefined;
  }
}

/**
 * The plan JSON masks secrets as "[secret]" (always a string field here: Secret data/stringData, a kubeconfig);
 * substitute a plain string of the same type so the schema sees a value, and base64 where the field is `data`.
 */
export function unmask(value: unknown, key = ""): unknown {
  if (value === "[secret]") return key === "data" ? "cGxhY2Vob2xkZXI=" : "placeholder";
  if (Array.isArray(value)) return value.map((v) => unmask(v));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A Secret's whole `data`/`stringData` map is masked as one string: put back a one-entry map of strings
      // (base64 for `data`, which the schema types as `format: byte`).
      if (v === "[secret]" && (k === "data" || k === "stringData"))
        out[k] = { placeholder: k === "data" ? "cGxhY2Vob2xkZXI=" : "placeholder" };
      else out[k] = key === "data" && v === "[secret]" ? "cGxhY2Vob2xkZXI=" : unmask(v, k);
    }
    return out;
  }
  return value;
}

/** Validates one planned resource; returns problems naming `type::name` and the field path. */
export async function validateResource(r: { type: string; name: string; inputs: unknown }): Promise<SchemaProblem[]> {
  const resource = `${r.type}::${r.name}`;
  if (!r.type.startsWith("kubernetes:") || r.type in NO_SCHEMA_ALLOWED) return [];
  const t = parseToken(r.type);
  const Model = t && ((await modelFor(t.group, t.version, t.kind)) ?? (await crdModelFor(t.group, t.version, t.kind)));
  if (!t || !Model) return [{ resource, message: `no schema for ${r.type} in the kubernetes-models packages` }];
  const inputs = unmask(r.inputs) as Record<string, unknown>;
  // Pulumi fills apiVersion/kind from the type token; metadata.name is auto-named by the provider when unset.
  const meta = { name: `${r.name}-auto`, ...(inputs.metadata as Record<string, unknown> | undefined) };
  const obj = { ...inputs, apiVersion: t.apiVersion, kind: t.kind, metadata: meta };
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath?: string; message?: string; params?: unknown }[] }).errors;
    if (!errors) return [{ resource, message: String(e) }];
    return errors.map((x) => ({
      resource,
      message: `${x.instancePath || "/"}: ${x.message ?? "invalid"} ${JSON.stringify(x.params ?? {})}`,
    }));
  }
}

export async function validatePlan(
  resources: readonly { type: string; name: string; inputs: unknown }[],
): Promise<SchemaProblem[]> {
  const out: SchemaProblem[] = [];
  for (const r of resources) out.push(...(await validateResource(r)));
  return out;
}

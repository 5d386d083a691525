/**
 * Helm values guard: the values a release sets, checked against the pinned chart's own reference data (a
 * fixture per chart under fixtures/charts/, written by refresh-chart-fixture.ts from the chart's source at
 * the pinned tag). With a values.schema.json the chart's schema decides (as `helm install` would); otherwise
 * every key path we set must exist in the chart's default values with the same type, except the free-form
 * maps listed per chart in helm-values-rules.ts.
 */
import Ajv from "ajv";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export interface ChartFixture {
  chart: string;
  version: string;
  appVersion: string;
  repository: string;
  path: string;
  tag: string;
  commit: string;
  source: string;
  retrieved: string;
  dependencies: { name: string; version: string; condition?: string }[];
  /** Dotted `.Values` paths the chart's templates read (keys some charts document only as comments). */
  templateReads: string[];
  values: Record<string, unknown>;
  schema?: object;
}

/** A subtree the chart passes through without a fixed shape; `path` is dotted (a dotted key quoted), `*` matches one key. */
export interface FreeForm {
  path: string;
  why: string;
}

export interface ChartRule {
  /** File name (without .json) under fixtures/charts/. */
  fixture: string;
  freeForm: FreeForm[];
  /** Values key of a subchart -> that subchart's rule (its fixture must be the version the parent pins). */
  subcharts?: Record<string, ChartRule>;
}

export const FIXTURES_DIR = path.join(__dirname, "fixtures", "charts");

const cache = new Map<string, ChartFixture>();
export function loadFixture(name: string): ChartFixture {
  let f = cache.get(name);
  if (!f) {
    f = JSON.parse(readFileSync(path.join(FIXTURES_DIR, `${name}.json`), "utf8")) as ChartFixture;
    cache.set(name, f);
  }
  return f;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : isMap(v) ? "map" : typeof v);
/** Helm treats a chart version with or without the leading "v" alike in dependency pins. */
export const sameVersion = (a: string, b: string) => a.replace(/^v/, "") === b.replace(/^v/, "");

/** Helm's coalescing for maps: ours wins, maps merge key by key, lists and scalars replace. */
export function mergeValues(defaults: unknown, ours: unknown): unknown {
  if (!isMap(defaults) || !isMap(ours)) return ours === undefined ? defaults : ours;
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(ours)) out[k] = mergeValues(defaults[k], v);
  return out;
}

function matches(pattern: string, keyPath: string[]): boolean {
  // Segments split on dots; a key holding a dot is written quoted, as messages print it ("grafana.ini").
  const p = (pattern.match(/"[^"]*"|[^.]+/g) ?? []).map((seg) => seg.replace(/^"(.*)"$/, "$1"));
  return p.length === keyPath.length && p.every((seg, i) => seg === "*" || seg === keyPath[i]);
}

/** Reports each free-form pattern the walk relied on, so an allowance nobody needs any more is noticed. */
export type UsageSink = (rule: ChartRule, pattern: string) => void;

interface Walk {
  label: string;
  /** Where this chart's values sit in the release's values (a subchart's key), for messages only. */
  prefix: string[];
  rule: ChartRule;
  reads: readonly string[];
  used: UsageSink;
  problems: string[];
}

/** Key paths print as Helm's --set spells them; keys holding a dot are quoted. */
const show = (keyPath: string[]) => keyPath.map((k) => (/[.\s]/.test(k) ? `"${k}"` : k)).join(".");

function walkDefaults(w: Walk, ours: unknown, def: unknown, keyPath: string[]): void {
  const free = w.rule.freeForm.find((f) => matches(f.path, keyPath));
  if (def === undefined && !free) {
    // No default: still the chart's key when a template reads it (exactly, or below it for a map we set).
    const here = keyPath.join(".");
    const exact = w.reads.includes(here);
    const below = w.reads.some((r) => r.startsWith(`${here}.`));
    if (isMap(ours) && below) {
      for (const [k, v] of Object.entries(ours)) walkDefaults(w, v, undefined, [...keyPath, k]);
      return;
    }
    if (exact) return;
  }
  if (def === undefined) {
    w.problems.push(`${w.label}: values.${show([...w.prefix, ...keyPath])} is not a key of the chart's default values`);
    return;
  }
  // A key the chart declares as null (or ~) has no default to take a type from: any value is the chart's intent.
  if (def === null) {
    if (free) w.used(w.rule, free.path);
    return;
  }
  if (kind(ours) !== kind(def)) {
    w.problems.push(
      `${w.label}: values.${show([...w.prefix, ...keyPath])} is a ${kind(ours)}, the chart's default is a ${kind(def)}`,
    );
    return;
  }
  if (free) {
    w.used(w.rule, free.path);
    return;
  }
  if (isMap(ours) && isMap(def)) {
    for (const [k, v] of Object.entries(ours)) walkDefaults(w, v, def[k], [...keyPath, k]);
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ReturnType<Ajv["compile"]>>();

function checkSchema(w: Walk, fixture: ChartFixture, ours: Record<string, unknown>): void {
  let validate = validators.get(fixture.chart);
  if (!validate) {
    validate = ajv.compile(fixture.schema as object);
    validators.set(fixture.chart, validate);
  }
  if (validate(mergeValues(fixture.values, ours))) return;
  for (const e of validate.errors ?? []) {
    const keyPath = e.instancePath.split("/").filter(Boolean);
    const extra = (e.params as { additionalProperty?: string }).additionalProperty;
    if (extra !== undefined) keyPath.push(extra);
    const where = keyPath.length ? `values.${show(keyPath)}` : "values";
    w.problems.push(`${w.label}: ${where} ${e.message ?? "fails the chart's values.schema.json"} (values.schema.json)`);
  }
}

/**
 * Checks one release's values. `label` names the release (type::name); the chart@version of the fixture is
 * added to each message. Returns the problems, one line each.
 */
export function checkRelease(label: string, rule: ChartRule, values: Record<string, unknown>, used: UsageSink): string[] {
  const fixture = loadFixture(rule.fixture);
  const w: Walk = {
    label: `${label} (${fixture.chart}@${fixture.version})`,
    prefix: [],
    rule,
    reads: fixture.templateReads,
    used,
    problems: [],
  };
  const subcharts = rule.subcharts ?? {};
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (!(k in subcharts)) own[k] = v;

  if (fixture.schema) checkSchema(w, fixture, own);
  else for (const [k, v] of Object.entries(own)) walkDefaults(w, v, fixture.values[k], [k]);

  for (const [key, subRule] of Object.entries(subcharts)) {
    if (values[key] === undefined) continue;
    const sub = loadFixture(subRule.fixture);
    // The subchart sees its own defaults overlaid with what the parent's values.yaml sets under its key.
    const defaults = mergeValues(sub.values, fixture.values[key]);
    const sw: Walk = {
      label: `${w.label} subchart ${sub.chart}@${sub.version}`,
      prefix: [key],
      rule: subRule,
      reads: sub.templateReads,
      used,
      problems: w.problems,
    };
    if (!isMap(values[key])) {
      sw.problems.push(`${sw.label}: values.${key} is a ${kind(values[key])}, a subchart's values are a map`);
      continue;
    }
    for (const [k, v] of Object.entries(values[key])) walkDefaults(sw, v, (defaults as Record<string, unknown>)[k], [k]);
  }
  return w.problems;
}

/** The fixture of each subchart must be the version its parent's Chart.yaml pins. */
export function subchartVersionProblems(rule: ChartRule): string[] {
  const parent = loadFixture(rule.fixture);
  const problems: string[] = [];
  for (const [key, sub] of Object.entries(rule.subcharts ?? {})) {
    const f = loadFixture(sub.fixture);
    const dep = parent.dependencies.find((d) => d.name === f.chart);
    if (!dep) problems.push(`${parent.chart}@${parent.version}: no dependency named ${f.chart} (values key ${key})`);
    else if (!sameVersion(dep.version, f.version)) {
      problems.push(
        `${parent.chart}@${parent.version} pins ${f.chart} ${dep.version}, the fixture ${sub.fixture}.json holds ${f.version}: refresh it`,
      );
    }
  }
  return problems;
}

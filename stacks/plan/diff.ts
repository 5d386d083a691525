/**
 * Compares two offline plans (`plan -- <stack> --json`): which resources a change adds, removes or changes,
 * and for a changed resource which input paths differ. Resources are keyed by `type::name`, as Pulumi keys
 * them within a stack. Secret values are masked in plan JSON, so a change between two masked values cannot be
 * seen: the diff counts those inputs and says so instead of claiming "no change".
 */
import { formatPath } from "../config/issues";
import { maskSecrets } from "../policy/inspect";

/** How `toDocument` masks a secret; the only secret representation a plan document may carry. */
export const MASK = "[secret]";

/** The part of a plan document the diff reads; other fields (a cost estimate, say) are ignored. */
export interface PlanResourceLike {
  type: string;
  name: string;
  parent: string | null;
  inputs: unknown;
}
export interface PlanDocumentLike {
  stack: string;
  resources: PlanResourceLike[];
  policies?: { name: string; passed: boolean }[];
  /** The cost estimate (`cost`) and capacity plan (`capacity`, stacks/capacity), where the plan carries them. */
  cost?: unknown;
  capacity?: unknown;
}

interface CostTotals {
  monthlyMin: number;
  monthlyMax: number;
}

/** What a reviewer compares of one model's capacity on one cluster. */
export interface CapacityFigures {
  model: string;
  cluster: string;
  replicasAtPeak: number | null;
  replicasMax: number;
  nodesAtPeak: number | null;
  monthlyAtPeak: number | null;
  usdPerMillionTokens: number | null;
  problem: string | null;
}

/** Cost and capacity before and after: unchanged entries are kept, so the comment always shows the figures. */
export interface CapacityDiff {
  cost: { before: CostTotals | null; after: CostTotals | null };
  stackMonthlyAtPeak: { before: number | null; after: number | null };
  models: { model: string; cluster: string; before: CapacityFigures | null; after: CapacityFigures | null }[];
}

export interface ResourceRef {
  type: string;
  name: string;
}

export interface InputChange {
  /** Input path such as `spec.template.spec.containers[0].image`; `(parent)` when the parent changed. */
  path: string;
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

export interface ChangedResource extends ResourceRef {
  changes: InputChange[];
}

export interface PolicyChange {
  name: string;
  before: "pass" | "fail" | "absent";
  after: "pass" | "fail" | "absent";
}

export interface PlanDiff {
  stack: string;
  /** Stack of the earlier plan; differs from `stack` only when two stacks are compared on purpose. */
  against: string;
  added: ResourceRef[];
  removed: ResourceRef[];
  changed: ChangedResource[];
  unchanged: number;
  /** Resources present in both plans with masked (secret) inputs on both sides: those values were not compared. */
  maskedUnchecked: { resource: string; paths: string[] }[];
  policies: PolicyChange[];
  /** Policies that fail in the newer plan, changed or not: the summary line names them. */
  failing: string[];
  /** The cost estimate and capacity plan of both plans side by side. */
  capacity: CapacityDiff;
}

const key = (r: ResourceRef) => `${r.type}::${r.name}`;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** One path step: `.name` for identifier keys, `["app.kubernetes.io/name"]` otherwise, `[0]` for indexes. */
function appendPath(path: string, step: string | number): string {
  if (typeof step === "number") return `${path}[${step}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(step)) return path === "" ? step : `${path}.${step}`;
  return `${path}[${JSON.stringify(step)}]`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Differences between two input trees, down to the leaves: objects by key, arrays by index (Kubernetes
 * containers, ports and env are ordered lists, so an index is what a reviewer reads). A subtree that only
 * one side has is reported once, at its root.
 */
export function diffInputs(before: unknown, after: unknown, path = ""): InputChange[] {
  if (deepEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const p = appendPath(path, k);
      if (!Object.hasOwn(after, k)) return [{ path: p, kind: "removed" as const, before: before[k] }];
      if (!Object.hasOwn(before, k)) return [{ path: p, kind: "added" as const, after: after[k] }];
      return diffInputs(before[k], after[k], p);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: InputChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const p = appendPath(path, i);
      if (i >= after.length) out.push({ path: p, kind: "removed", before: before[i] });
      else if (i >= before.length) out.push({ path: p, kind: "added", after: after[i] });
      else out.push(...diffInputs(before[i], after[i], p));
    }
    return out;
  }
  return [{ path: path === "" ? "(inputs)" : path, kind: "changed", before, after }];
}

/** Paths whose value is masked in both trees: a secret that may or may not have changed. */
export function maskedPaths(before: unknown, after: unknown, path = ""): string[] {
  if (before === MASK && after === MASK) return [path === "" ? "(inputs)" : path];
  if (isObject(before) && isObject(after))
    return Object.keys(before)
      .filter((k) => Object.hasOwn(after, k))
      .sort()
      .flatMap((k) => maskedPaths(before[k], after[k], appendPath(path, k)));
  if (Array.isArray(before) && Array.isArray(after))
    return before.slice(0, after.length).flatMap((x, i) => maskedPaths(x, after[i], appendPath(path, i)));
  return [];
}

function policyState(doc: PlanDocumentLike, name: string): PolicyChange["before"] {
  const p = (doc.policies ?? []).find((x) => x.name === name);
  return p === undefined ? "absent" : p.passed ? "pass" : "fail";
}

const byKey = (a: ResourceRef, b: ResourceRef) => key(a).localeCompare(key(b));

/** The diff from `before` (the earlier plan, e.g. the base branch) to `after` (this change). */
export function diffPlans(before: PlanDocumentLike, after: PlanDocumentLike): PlanDiff {
  // Masked again on the way in, so a document that still carries Pulumi's secret wrappers leaks nothing.
  const index = (doc: PlanDocumentLike) =>
    new Map(doc.resources.map((r) => [key(r), { ...r, inputs: maskSecrets(r.inputs, MASK) }] as const));
  const old = index(before);
  const now = index(after);

  const added = [...now.values()].filter((r) => !old.has(key(r))).map(({ type, name }) => ({ type, name }));
  const removed = [...old.values()].filter((r) => !now.has(key(r))).map(({ type, name }) => ({ type, name }));
  const changed: ChangedResource[] = [];
  const maskedUnchecked: PlanDiff["maskedUnchecked"] = [];
  let unchanged = 0;
  for (const [k, b] of old) {
    const a = now.get(k);
    if (!a) continue;
    const changes = diffInputs(b.inputs, a.inputs);
    // A new parent is a new URN for Pulumi: a replacement unless the resource carries an alias.
    if ((b.parent ?? null) !== (a.parent ?? null))
      changes.unshift({ path: "(parent)", kind: "changed", before: b.parent, after: a.parent });
    if (changes.length > 0) changed.push({ type: a.type, name: a.name, changes });
    else unchanged++;
    const masked = maskedPaths(b.inputs, a.inputs);
    if (masked.length > 0) maskedUnchecked.push({ resource: k, paths: masked });
  }

  const policyNames = [...new Set([...(before.policies ?? []), ...(after.policies ?? [])].map((p) => p.name))];
  const policies = policyNames
    .map((name) => ({ name, before: policyState(before, name), after: policyState(after, name) }))
    .filter((p) => p.before !== p.after);

  const [cb, ca] = [costAndCapacityOf(before.cost, before.capacity), costAndCapacityOf(after.cost, after.capacity)];
  const figures = (c: typeof cb) => new Map((c.capacity?.models ?? []).map((m) => [`${m.model}@${m.cluster}`, m]));
  const [capBefore, capAfter] = [figures(cb), figures(ca)];
  const capacity: CapacityDiff = {
    cost: { before: cb.cost ?? null, after: ca.cost ?? null },
    stackMonthlyAtPeak: { before: cb.capacity?.stackMonthlyAtPeak ?? null, after: ca.capacity?.stackMonthlyAtPeak ?? null },
    models: [...new Set([...capAfter.keys(), ...capBefore.keys()])].map((k) => {
      const m = (capAfter.get(k) ?? capBefore.get(k)) as CapacityFigures;
      return { model: m.model, cluster: m.cluster, before: capBefore.get(k) ?? null, after: capAfter.get(k) ?? null };
    }),
  };

  return {
    stack: after.stack,
    against: before.stack,
    added: added.sort(byKey),
    removed: removed.sort(byKey),
    changed: changed.sort(byKey),
    unchanged,
    maskedUnchecked: maskedUnchecked.sort((x, y) => x.resource.localeCompare(y.resource)),
    policies,
    failing: (after.policies ?? [])
      .filter((p) => !p.passed)
      .map((p) => p.name)
      .sort(),
    capacity,
  };
}

const dollars = (n: number | null | undefined) =>
  n === null || n === undefined ? "n/a" : `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const change = (before: string, after: string) => (before === after ? after : `${before} -> ${after}`);

/** One model's figures, or its change: `replicas at peak 5 -> 7 (max 8), nodes 5 -> 7, $8,183.59 -> $11,457.03/month, ...`. */
function capacityLine(b: CapacityFigures | null, a: CapacityFigures | null): string {
  if (a !== null && a.replicasAtPeak === null && (b === null || b.replicasAtPeak === null)) return a.problem ?? "not sized";
  const show = (f: CapacityFigures | null, pick: (f: CapacityFigures) => string) => (f === null ? "(none)" : pick(f));
  const parts = [
    `replicas at peak ${change(
      show(b, (f) => String(f.replicasAtPeak ?? "n/a")),
      show(a, (f) => String(f.replicasAtPeak ?? "n/a")),
    )}` +
      ` (max ${change(
        show(b, (f) => String(f.replicasMax)),
        show(a, (f) => String(f.replicasMax)),
      )})`,
    `nodes ${change(
      show(b, (f) => String(f.nodesAtPeak ?? "n/a")),
      show(a, (f) => String(f.nodesAtPeak ?? "n/a")),
    )}`,
    `${change(
      show(b, (f) => dollars(f.monthlyAtPeak)),
      show(a, (f) => dollars(f.monthlyAtPeak)),
    )}/month`,
    `${change(
      show(b, (f) => dollars(f.usdPerMillionTokens)),
      show(a, (f) => dollars(f.usdPerMillionTokens)),
    )} per million tokens`,
  ];
  const problem = a?.problem ?? null;
  return `${parts.join(", ")}${problem ? `; ${problem}` : ""}`;
}

/** The cost and capacity section of a diff: what the change does to the bill and to each model's peak. */
export function renderCapacityDiff(c: CapacityDiff): string[] {
  const out: string[] = [];
  const range = (x: CostTotals | null) => (x ? `${dollars(x.monthlyMin)} .. ${dollars(x.monthlyMax)}` : "n/a");
  if (c.cost.before || c.cost.after)
    out.push(`  monthly cost at min .. max scale: ${change(range(c.cost.before), range(c.cost.after))}`);
  if (c.stackMonthlyAtPeak.before !== null || c.stackMonthlyAtPeak.after !== null)
    out.push(
      `  monthly cost at the targets' peak: ${change(dollars(c.stackMonthlyAtPeak.before), dollars(c.stackMonthlyAtPeak.after))}`,
    );
  for (const m of c.models) out.push(`  ${m.model}@${m.cluster}: ${capacityLine(m.before, m.after)}`);
  return out;
}

/** One line for the comment's table: the change in cost, or the figures when nothing changed. */
export function capacitySummary(c: CapacityDiff): string {
  const range = (x: CostTotals | null) => (x ? `${dollars(x.monthlyMin)}..${dollars(x.monthlyMax)}` : "n/a");
  const parts: string[] = [];
  if (c.cost.before || c.cost.after) parts.push(`${change(range(c.cost.before), range(c.cost.after))}/month`);
  const replicas = c.models.map((m) => {
    const [b, a] = [m.before?.replicasAtPeak ?? null, m.after?.replicasAtPeak ?? null];
    return `${m.model}@${m.cluster} ${change(String(b ?? "n/a"), String(a ?? "n/a"))} at peak`;
  });
  return [...parts, ...replicas].join("; ") || "-";
}

/**
 * `plan prod: 3 to add, 1 to change, 0 to remove`, plus the other stack when two stacks were compared and the
 * policies that fail in the newer plan (`; 1 policy failing: pdb-in-prod`).
 */
export function summaryLine(diff: PlanDiff): string {
  const against = diff.against === diff.stack ? "" : ` (compared with a plan of ${diff.against})`;
  const failing =
    diff.failing.length === 0
      ? ""
      : `; ${diff.failing.length} ${diff.failing.length === 1 ? "policy" : "policies"} failing: ${diff.failing.join(", ")}`;
  return `plan ${diff.stack}: ${diff.added.length} to add, ${diff.changed.length} to change, ${diff.removed.length} to remove${against}${failing}`;
}

/** A value for one line of text: masked secrets stay masked, long values are cut. */
export function showValue(value: unknown, max = 80): string {
  if (value === undefined) return "(none)";
  const text = JSON.stringify(maskSecrets(value, MASK)) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function renderChange(c: InputChange): string {
  switch (c.kind) {
    case "added":
      return `      + ${c.path}: ${showValue(c.after)}`;
    case "removed":
      return `      - ${c.path}: ${showValue(c.before)}`;
    case "changed":
      return `      ~ ${c.path}: ${showValue(c.before)} -> ${showValue(c.after)}`;
  }
}

/** The diff for people: resources by change, input paths under each changed one, the summary line last. */
export function renderDiffText(diff: PlanDiff): string {
  const lines: string[] = [];
  for (const r of diff.added) lines.push(`  + ${r.type}  ${r.name}`);
  for (const r of diff.removed) lines.push(`  - ${r.type}  ${r.name}`);
  for (const r of diff.changed) {
    lines.push(`  ~ ${r.type}  ${r.name}`);
    lines.push(...r.changes.map(renderChange));
  }
  if (lines.length === 0) lines.push("  (no resource changes)");
  const out = [`Changes to stack ${diff.stack} against the earlier plan of ${diff.against}:`, "", ...lines];
  if (diff.policies.length > 0) {
    out.push("", "Policy results that changed:");
    out.push(...diff.policies.map((p) => `  ${p.name}: ${p.before} -> ${p.after}`));
  }
  const capacity = renderCapacityDiff(diff.capacity);
  if (capacity.length > 0) out.push("", "Cost and capacity:", ...capacity);
  if (diff.maskedUnchecked.length > 0) {
    const paths = diff.maskedUnchecked.reduce((n, m) => n + m.paths.length, 0);
    out.push(
      "",
      `Not compared: ${paths} secret input${paths === 1 ? "" : "s"} on ${diff.maskedUnchecked.length} resource${
        diff.maskedUnchecked.length === 1 ? "" : "s"
      } (masked in plan JSON; a change to a secret value alone does not show here):`,
      ...diff.maskedUnchecked.map((m) => `  ${m.resource}: ${m.paths.join(", ")}`),
    );
  }
  out.push("", summaryLine(diff));
  return out.join("\n");
}

/** Reads a plan document from `--json` output, naming the source when it is not one. */
export function parsePlanDocument(text: string, source: string): PlanDocumentLike {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PlanDocumentError(`${source}: not JSON (${(e as Error).message}); expected the output of plan -- <stack> --json`);
  }
  const problems: string[] = [];
  if (!isObject(doc)) problems.push("(root) must be an object");
  else {
    if (typeof doc.stack !== "string") problems.push("stack must be a string");
    if (!Array.isArray(doc.resources)) problems.push("resources must be a list");
    else
      doc.resources.forEach((r, i) => {
        if (!isObject(r) || typeof r.type !== "string" || typeof r.name !== "string")
          problems.push(`${formatPath(["resources", i])} must have a string type and name`);
      });
    if (doc.policies !== undefined && !Array.isArray(doc.policies)) problems.push("policies must be a list");
  }
  if (problems.length > 0)
    throw new PlanDocumentError(
      `${source}: not a plan document (${problems.slice(0, 3).join("; ")}); expected plan --json output`,
    );
  const d = doc as {
    stack: string;
    resources: Record<string, unknown>[];
    policies?: { name: string; passed: boolean }[];
    cost?: unknown;
    capacity?: unknown;
  };
  return {
    stack: d.stack,
    resources: d.resources.map((r) => ({
      type: r.type as string,
      name: r.name as string,
      parent: typeof r.parent === "string" ? r.parent : null,
      inputs: r.inputs ?? {},
    })),
    policies: d.policies,
    cost: d.cost,
    capacity: d.capacity,
  };
}

const numOrNull = (v: unknown) => (typeof v === "number" ? v : null);

/** The cost totals and capacity figures of a plan document; an older plan without them gives neither. */
function costAndCapacityOf(
  cost: unknown,
  capacity: unknown,
): { cost?: CostTotals; capacity?: { stackMonthlyAtPeak: number | null; models: CapacityFigures[] } } {
  const out: ReturnType<typeof costAndCapacityOf> = {};
  if (isObject(cost) && typeof cost.monthlyMin === "number" && typeof cost.monthlyMax === "number")
    out.cost = { monthlyMin: cost.monthlyMin, monthlyMax: cost.monthlyMax };
  if (isObject(capacity) && Array.isArray(capacity.models))
    out.capacity = {
      stackMonthlyAtPeak: numOrNull(capacity.stackMonthlyAtPeak),
      models: capacity.models.filter(isObject).map((m) => {
        const sizing = isObject(m.sizing) ? m.sizing : {};
        const replicas = isObject(m.replicas) ? m.replicas : {};
        return {
          model: String(m.model),
          cluster: String(m.cluster),
          replicasAtPeak: numOrNull(sizing.atPeak),
          replicasMax: numOrNull(replicas.max) ?? 0,
          nodesAtPeak: numOrNull(m.nodesAtPeak),
          monthlyAtPeak: numOrNull(m.monthlyAtPeak),
          usdPerMillionTokens: numOrNull(m.usdPerMillionTokens),
          problem: typeof m.problem === "string" ? m.problem : null,
        };
      }),
    };
  return out;
}

export class PlanDocumentError extends Error {
  override name = "PlanDocumentError";
}

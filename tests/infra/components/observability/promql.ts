/**
 * PromQL for tests: expressions parsed by the Prometheus project's own grammar (`@prometheus-io/lezer-promql`,
 * in strict mode, so a syntax error throws), and a small evaluator over synthetic series for the subset the
 * SLO rules use. No maintained PromQL evaluator is published on npm; this one follows Prometheus' semantics
 * for what it supports (rate's extrapolation, the 5-minute lookback, vector matching without the metric
 * name, filtering comparisons) and throws on anything else, so a rule that outgrows it fails loudly.
 */
import { parser } from "@prometheus-io/lezer-promql";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];
const strict = parser.configure({ strict: true });

/** Parses with Prometheus' grammar; throws with the offending position on a syntax error. */
export function parsePromql(expr: string): SyntaxNode {
  return strict.parse(expr).topNode;
}

export type Labels = Record<string, string>;
export interface Series {
  labels: Labels;
  /** Sorted by time; t in milliseconds. */
  samples: { t: number; v: number }[];
}
export interface Sample {
  labels: Labels;
  v: number;
}
type Value = number | Sample[] | { range: number; series: Series[] };

const LOOKBACK_MS = 5 * 60_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function durationMs(d: string): number {
  let total = 0;
  const re = /(\d+)(ms|s|m|h|d|w)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(d))) {
    total += Number(m[1]) * UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== d.length || total === 0) throw new Error(`not a duration: ${d}`);
  return total;
}

const signature = (l: Labels, on?: string[], ignoring: string[] = []) =>
  JSON.stringify(
    Object.keys(l)
      .filter((k) => k !== "__name__" && (on ? on.includes(k) : !ignoring.includes(k)))
      .sort()
      .map((k) => [k, l[k]]),
  );
const withoutName = (l: Labels): Labels => Object.fromEntries(Object.entries(l).filter(([k]) => k !== "__name__"));

export class PromqlEvaluator {
  constructor(
    private readonly src: string,
    private readonly db: Series[],
    private readonly t: number,
  ) {}

  private text(n: SyntaxNode) {
    return this.src.slice(n.from, n.to);
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  private unsupported(n: SyntaxNode): never {
    throw new Error(`evaluator does not support ${n.name}: ${this.text(n)}`);
  }

  eval(n: SyntaxNode): Value {
    switch (n.name) {
      case "PromQL":
      case "ParenExpr":
        return this.eval(this.children(n).find((c) => c.name !== "(" && c.name !== ")")!);
      case "NumberDurationLiteral":
        return Number(this.text(n));
      case "VectorSelector":
        return this.instant(this.select(n));
      case "MatrixSelector": {
        const [sel, dur] = this.children(n);
        return { range: durationMs(this.text(dur)), series: this.select(sel) };
      }
      case "FunctionCall":
        return this.call(n);
      case "AggregateExpr":
        return this.aggregate(n);
      case "BinaryExpr":
        return this.binary(n);
      default:
        return this.unsupported(n);
    }
  }

  private select(n: SyntaxNode): Series[] {
    const matchers: ((l: Labels) => boolean)[] = [];
    for (const c of this.children(n)) {
      if (c.name === "Identifier") {
        const name = this.text(c);
        matchers.push((l) => l.__name__ === name);
      } else if (c.name === "LabelMatchers") {
        for (const m of this.children(c).filter((x) => x.name === "UnquotedLabelMatcher")) {
          const [label, op, value] = this.children(m);
          const key = this.text(label);
          const want = JSON.parse(this.text(value)) as string;
          const re = new RegExp(`^(?:${want})$`);
          const opText = this.text(op);
          const test = {
            "=": (v: string) => v === want,
            "!=": (v: string) => v !== want,
            "=~": (v: string) => re.test(v),
            "!~": (v: string) => !re.test(v),
          }[opText];
          if (!test) this.unsupported(op);
          matchers.push((l) => test(l[key] ?? ""));
        }
      } else this.unsupported(c);
    }
    return this.db.filter((s) => matchers.every((m) => m(s.labels)));
  }

  private instant(series: Series[]): Sample[] {
    const out: Sample[] = [];
    for (const s of series) {
      const last = [...s.samples].reverse().find((p) => p.t <= this.t && p.t > this.t - LOOKBACK_MS);
      if (last) out.push({ labels: s.labels, v: last.v });
    }
    return out;
  }

  private call(n: SyntaxNode): Value {
    const [ident, body] = this.children(n);
    const name = this.text(ident);
    const args = this.children(body).filter((c) => !["(", ")", ","].includes(c.name));
    if (name === "vector") {
      const v = this.eval(args[0]);
      if (typeof v !== "number") throw new Error("vector() takes a scalar");
      return [{ labels: {}, v }];
    }
    if (name !== "rate") return this.unsupported(n);
    const m = this.eval(args[0]);
    if (typeof m === "number" || Array.isArray(m)) throw new Error("rate() takes a range vector");
    const out: Sample[] = [];
    for (const s of m.series) {
      const v = extrapolatedRate(s.samples, this.t - m.range, this.t);
      if (v !== undefined) out.push({ labels: withoutName(s.labels), v });
    }
    return out;
  }

  private aggregate(n: SyntaxNode): Sample[] {
    const parts = this.children(n);
    const op = this.text(parts.find((c) => c.name === "AggregateOp")!);
    if (op !== "sum") this.unsupported(n);
    const modifier = parts.find((c) => c.name === "AggregateModifier");
    if (!modifier || this.text(modifier.firstChild!) !== "by") this.unsupported(n);
    const by = this.labelList(modifier.getChild("GroupingLabels")!);
    const body = parts.find((c) => c.name === "FunctionCallBody")!;
    const inner = this.eval(this.children(body).find((c) => c.name !== "(" && c.name !== ")")!);
    if (!Array.isArray(inner)) throw new Error("sum takes an instant vector");
    const groups = new Map<string, Sample>();
    for (const s of inner) {
      const labels = Object.fromEntries(by.filter((k) => s.labels[k] !== undefined).map((k) => [k, s.labels[k]]));
      const key = signature(labels);
      const g = groups.get(key);
      if (g) g.v += s.v;
      else groups.set(key, { labels, v: s.v });
    }
    return [...groups.values()];
  }

  private labelList(n: SyntaxNode): string[] {
    return this.children(n)
      .filter((c) => c.name === "LabelName")
      .map((c) => this.text(c));
  }

  private binary(n: SyntaxNode): Value {
    const parts = this.children(n);
    const [lhsNode, opNode] = parts;
    const rhsNode = parts[parts.length - 1];
    const op = this.text(opNode);
    const returnBool = parts.some((c) => c.name === "BoolModifier");
    const matching = parts.find((c) => c.name === "MatchingModifierClause");
    let on: string[] | undefined;
    let ignoring: string[] = [];
    if (matching) {
      if (matching.getChild("GroupLeft") || matching.getChild("GroupRight")) this.unsupported(matching);
      const labels = this.labelList(matching.getChild("GroupingLabels")!);
      if (matching.getChild("On")) on = labels;
      else ignoring = labels;
    }
    const lhs = this.eval(lhsNode);
    const rhs = this.eval(rhsNode);
    const arith: Record<string, (a: number, b: number) => number> = {
      "+": (a, b) => a + b,
      "-": (a, b) => a - b,
      "*": (a, b) => a * b,
      "/": (a, b) => a / b,
    };
    const cmp: Record<string, (a: number, b: number) => boolean> = {
      ">": (a, b) => a > b,
      "<": (a, b) => a < b,
      ">=": (a, b) => a >= b,
      "<=": (a, b) => a <= b,
      "==": (a, b) => a === b,
      "!=": (a, b) => a !== b,
    };
    if (typeof lhs === "number" && typeof rhs === "number") {
      if (arith[op]) return arith[op](lhs, rhs);
      if (cmp[op] && returnBool) return cmp[op](lhs, rhs) ? 1 : 0;
      return this.unsupported(n);
    }
    if (!Array.isArray(lhs) && typeof lhs !== "number") throw new Error("range vector in a binary expression");
    if (!Array.isArray(rhs) && typeof rhs !== "number") throw new Error("range vector in a binary expression");
    if (op === "and" || op === "or" || op === "unless") {
      if (!Array.isArray(lhs) || !Array.isArray(rhs)) throw new Error(`${op} needs vectors on both sides`);
      const rightSigs = new Set(rhs.map((s) => signature(s.labels, on, ignoring)));
      if (op === "and") return lhs.filter((s) => rightSigs.has(signature(s.labels, on, ignoring)));
      if (op === "unless") return lhs.filter((s) => !rightSigs.has(signature(s.labels, on, ignoring)));
      const leftSigs = new Set(lhs.map((s) => signature(s.labels, on, ignoring)));
      return [...lhs, ...rhs.filter((s) => !leftSigs.has(signature(s.labels, on, ignoring)))];
    }
    // Pairs of (left value, right value, labels of the left or the vector side).
    const pairs: { a: number; b: number; labels: Labels }[] = [];
    if (typeof rhs === "number") for (const s of lhs as Sample[]) pairs.push({ a: s.v, b: rhs, labels: s.labels });
    else if (typeof lhs === "number") for (const s of rhs) pairs.push({ a: lhs, b: s.v, labels: s.labels });
    else {
      const right = new Map<string, Sample>();
      for (const s of rhs) {
        const sig = signature(s.labels, on, ignoring);
        if (right.has(sig)) throw new Error(`many-to-one match on the right of ${op}: ${sig}`);
        right.set(sig, s);
      }
      for (const s of lhs) {
        const r = right.get(signature(s.labels, on, ignoring));
        if (r) pairs.push({ a: s.v, b: r.v, labels: on ? Object.fromEntries(on.map((k) => [k, s.labels[k]])) : s.labels });
      }
    }
    if (arith[op]) return pairs.map((p) => ({ labels: withoutName(p.labels), v: arith[op](p.a, p.b) }));
    if (cmp[op]) {
      if (returnBool) return pairs.map((p) => ({ labels: withoutName(p.labels), v: cmp[op](p.a, p.b) ? 1 : 0 }));
      // A filter keeps the vector side's sample as it is.
      const vectorOnLeft = typeof lhs !== "number";
      return pairs.filter((p) => cmp[op](p.a, p.b)).map((p) => ({ labels: p.labels, v: vectorOnLeft ? p.a : p.b }));
    }
    return this.unsupported(opNode);
  }
}

/**
 * Prometheus' `rate` (promql/functions.go, extrapolatedRate): the increase between the first and last sample in
 * (start, end], counter resets added back, extrapolated towards the window's edges by at most half a sample
 * interval (and never below zero), divided by the window.
 */
export function extrapolatedRate(samples: { t: number; v: number }[], start: number, end: number): number | undefined {
  const inWindow = samples.filter((p) => p.t > start && p.t <= end);
  if (inWindow.length < 2) return undefined;
  const first = inWindow[0];
  const last = inWindow[inWindow.length - 1];
  let result = last.v - first.v;
  for (let i = 1; i < inWindow.length; i++) if (inWindow[i].v < inWindow[i - 1].v) result += inWindow[i - 1].v;
  let toStart = (first.t - start) / 1000;
  const toEnd = (end - last.t) / 1000;
  const sampled = (last.t - first.t) / 1000;
  const average = sampled / (inWindow.length - 1);
  if (result > 0 && first.v >= 0) toStart = Math.min(toStart, sampled * (first.v / result));
  const threshold = average * 1.1;
  let interval = sampled;
  interval += toStart >= threshold ? average / 2 : toStart;
  interval += toEnd >= threshold ? average / 2 : toEnd;
  return (result * (interval / sampled)) / ((end - start) / 1000);
}

export function evaluate(expr: string, db: Series[], t: number): Value {
  return new PromqlEvaluator(expr, db, t).eval(parsePromql(expr));
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}

/**
 * Evaluates rule groups the way Prometheus does, in order at every step (a recording rule's result is visible
 * to the rules after it at the same time), and returns the alerts firing at each step: active for at least
 * their `for`. Recorded series are appended to `db`.
 */
export function runRules(rules: Rule[], db: Series[], times: number[]): Map<number, Sample[]> {
  const activeSince = new Map<string, number>();
  const firing = new Map<number, Sample[]>();
  for (const t of times) {
    const now: Sample[] = [];
    const seen = new Set<string>();
    for (const r of rules) {
      const v = evaluate(r.expr, db, t);
      const vector = typeof v === "number" ? [{ labels: {}, v }] : Array.isArray(v) ? v : [];
      if (r.record) {
        for (const s of vector) {
          const labels = { ...withoutName(s.labels), __name__: r.record };
          const key = JSON.stringify(Object.entries(labels).sort());
          let series = db.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === key);
          if (!series) db.push((series = { labels, samples: [] }));
          series.samples.push({ t, v: s.v });
        }
      } else if (r.alert) {
        for (const s of vector) {
          const labels = { ...withoutName(s.labels), ...r.labels, alertname: r.alert };
          const key = JSON.stringify(Object.entries(labels).sort());
          seen.add(key);
          if (!activeSince.has(key)) activeSince.set(key, t);
          if (t - activeSince.get(key)! >= (r.for ? durationMs(r.for) : 0)) now.push({ labels, v: s.v });
        }
      }
    }
    for (const k of [...activeSince.keys()]) if (!seen.has(k)) activeSince.delete(k);
    firing.set(t, now);
  }
  return firing;
}

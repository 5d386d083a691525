/**
 * The two serving SLOs as error budgets, alerted on by burn rate (the SRE workbook's multiwindow,
 * multi-burn-rate alerts, "Alerting on SLOs", recommendation 6):
 * - availability: the share of requests that fail (outcome `error` or `rejected`) stays within `slo.errorRatio`;
 * - time to first token: 95% of requests see their first token within `slo.ttftP95Seconds` (the p95 target
 *   read as an objective), so 5% may be slower.
 * Each SLO gets one recording rule per window (its error ratio) and one alert per window pair: the page pairs
 * 1h/5m and 6h/30m, and the ticket pair 3d/6h. Both windows of a pair must burn: the long one proves the burn is
 * significant, the short one that it is still going on, so an alert resolves minutes after the burn stops.
 */
import type { AlertRule, RecordingRule } from "./alerts";

/** The period the error budget is counted over. */
export const SLO_PERIOD_HOURS = 30 * 24;

/** Objective of the time-to-first-token SLO: the quantile in `slo.ttftP95Seconds`. */
export const TTFT_OBJECTIVE = 0.95;

export interface BurnWindow {
  /** Label value on the alert, e.g. `1h/5m`. */
  pair: string;
  long: string;
  short: string;
  /** Share of the period's budget that, spent within `long`, alerts. */
  budgetShare: number;
  severity: "critical" | "warning";
}

/** The workbook's table: 2% of a 30-day budget in 1 h or 5% in 6 h page; 10% in 3 days opens a ticket. */
export const BURN_WINDOWS: readonly BurnWindow[] = [
  { pair: "1h/5m", long: "1h", short: "5m", budgetShare: 0.02, severity: "critical" },
  { pair: "6h/30m", long: "6h", short: "30m", budgetShare: 0.05, severity: "critical" },
  { pair: "3d/6h", long: "3d", short: "6h", budgetShare: 0.1, severity: "warning" },
];

const HOURS: Record<string, number> = { m: 1 / 60, h: 1, d: 24 };
/** Hours in a Prometheus duration of one unit (`5m`, `6h`, `3d`). */
export function durationHours(d: string): number {
  const m = /^(\d+)([mhd])$/.exec(d);
  if (!m) throw new Error(`duration '${d}': expected <n>m, <n>h or <n>d`);
  return Number(m[1]) * HOURS[m[2]];
}

/** How many times faster than "exactly on budget" the budget burns when `share` of it goes in `window`. */
export function burnRate(w: Pick<BurnWindow, "budgetShare" | "long">): number {
  return Number(((w.budgetShare * SLO_PERIOD_HOURS) / durationHours(w.long)).toFixed(6));
}

/** Every window a recording rule is kept for, shortest first. */
export const SLO_WINDOWS: readonly string[] = [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))].sort(
  (a, b) => durationHours(a) - durationHours(b),
);

/**
 * Upper bounds of the runtime's time-to-first-token histogram (runtime/Observability/RuntimeMetrics.cs:
 * `Histogram.ExponentialBuckets(0.001, 2, 16)`; a test reads it from there). The `le` label values are these
 * numbers as the runtime prints them (shortest round-trip form, like JavaScript's).
 */
export const TTFT_BUCKETS_SECONDS: readonly number[] = Array.from({ length: 16 }, (_, i) => 0.001 * 2 ** i);

export type SloName = "availability" | "ttft";
export const SLO_NAMES: readonly SloName[] = ["availability", "ttft"];
export const errorRatioRecord = (slo: SloName, window: string) => `llm:slo_${slo}:error_ratio_rate${window}`;
/** The SLO's error budget as a series (`vector(...)`), for dashboards. */
export const errorBudgetRecord = (slo: SloName) => `llm:slo_${slo}:error_budget`;

export const BURN_ALERTS = { availability: "LlmAvailabilityBudgetBurn", ttft: "LlmTimeToFirstTokenBudgetBurn" } as const;

export interface SloTargets {
  ttftP95Seconds: number;
  errorRatio: number;
}

/** Budgets per SLO: the failed share allowed. */
export function errorBudgets(t: SloTargets): Record<SloName, number> {
  return { availability: t.errorRatio, ttft: Number((1 - TTFT_OBJECTIVE).toFixed(6)) };
}

/** Targets the burn-rate alerts cannot serve: the key, what is allowed, and the value. */
export function sloTargetIssues(t: SloTargets): { key: keyof SloTargets; message: string; value: number }[] {
  const out: { key: keyof SloTargets; message: string; value: number }[] = [];
  const fastest = Math.max(...BURN_WINDOWS.map(burnRate));
  // At a budget this large the fastest pair's threshold is above 100% errors and could never fire.
  if (t.errorRatio > 0 && t.errorRatio * fastest >= 1)
    out.push({
      key: "errorRatio",
      message: `must be below ${(1 / fastest).toFixed(4)} (1 / the ${fastest}x burn rate of the fastest alert)`,
      value: t.errorRatio,
    });
  const largest = TTFT_BUCKETS_SECONDS[TTFT_BUCKETS_SECONDS.length - 1];
  if (t.ttftP95Seconds > largest)
    out.push({
      key: "ttftP95Seconds",
      message: `must be <= ${largest} (the runtime's largest finite time-to-first-token bucket)`,
      value: t.ttftP95Seconds,
    });
  return out;
}

export function validateSloTargets(t: SloTargets): string[] {
  return sloTargetIssues(t).map((i) => `slo.${i.key} ${i.message}, got ${i.value}`);
}

const BY = "namespace, model";
const sumRate = (selector: string, window: string) => `sum by (${BY}) (rate(${selector}[${window}]))`;

/**
 * Requests whose first token came within `target` seconds, per second over `window`: the bucket at or below
 * the target, plus the share of the next bucket up to the target (linear within a bucket, the assumption
 * `histogram_quantile` makes, so this SLO and the p95 on the dashboard agree).
 */
export function ttftGoodRate(target: number, window: string): string {
  const bucket = (le: number) => sumRate(`llm_time_to_first_token_seconds_bucket{le="${le}"}`, window);
  const upper = TTFT_BUCKETS_SECONDS.find((b) => b >= target);
  if (upper === undefined) throw new Error(`ttft target ${target}s is above the largest bucket`);
  if (upper === target) return bucket(upper);
  const lower = [...TTFT_BUCKETS_SECONDS].reverse().find((b) => b < target);
  if (lower === undefined) return `(${bucket(upper)} * ${target / upper})`;
  const share = Number(((target - lower) / (upper - lower)).toPrecision(12));
  return `(${bucket(lower)} + (${bucket(upper)} - ${bucket(lower)}) * ${share})`;
}

/** Error ratio of an SLO over `window`, per namespace and model (no traffic: no sample, so no alert). */
export function errorRatioExpr(slo: SloName, t: SloTargets, window: string, failedOutcomes: readonly string[]): string {
  if (slo === "availability")
    return `${sumRate(`llm_requests_total{outcome=~"${failedOutcomes.join("|")}"}`, window)} / ${sumRate("llm_requests_total", window)}`;
  return `1 - ${ttftGoodRate(t.ttftP95Seconds, window)} / ${sumRate("llm_time_to_first_token_seconds_count", window)}`;
}

export function sloRecordingRules(t: SloTargets, failedOutcomes: readonly string[]): RecordingRule[] {
  const problems = validateSloTargets(t);
  if (problems.length > 0) throw new Error(`SLO recording rules: ${problems.join("; ")}`);
  const budgets = errorBudgets(t);
  return SLO_NAMES.flatMap((slo) => [
    ...SLO_WINDOWS.map((w) => ({ record: errorRatioRecord(slo, w), expr: errorRatioExpr(slo, t, w, failedOutcomes) })),
    { record: errorBudgetRecord(slo), expr: `vector(${budgets[slo]})` },
  ]);
}

const SUMMARY: Record<SloName, string> = {
  availability: "{{ $labels.model }} is failing requests fast enough to spend its error budget",
  ttft: "{{ $labels.model }} is answering slowly (time to first token) fast enough to spend its error budget",
};

export function burnRateAlerts(t: SloTargets, runbookUrl: (alert: string) => string): AlertRule[] {
  const problems = validateSloTargets(t);
  if (problems.length > 0) throw new Error(`SLO burn-rate alerts: ${problems.join("; ")}`);
  const budgets = errorBudgets(t);
  return SLO_NAMES.flatMap((slo) =>
    BURN_WINDOWS.map((w) => {
      const threshold = `(${burnRate(w)} * ${budgets[slo]})`;
      const what =
        slo === "availability" ? "of requests failed" : `of requests waited longer than ${t.ttftP95Seconds}s for a first token`;
      return {
        alert: BURN_ALERTS[slo],
        expr: `${errorRatioRecord(slo, w.long)} > ${threshold} and ${errorRatioRecord(slo, w.short)} > ${threshold}`,
        labels: { severity: w.severity, slo, window: w.pair },
        annotations: {
          summary: SUMMARY[slo],
          description:
            `{{ $value | humanizePercentage }} ${what} over the last ${w.long} (and still over the last ${w.short}) ` +
            `for model {{ $labels.model }} in {{ $labels.namespace }}: ${burnRate(w)}x the rate that spends the ` +
            `${Number((budgets[slo] * 100).toPrecision(12))}% budget in ${SLO_PERIOD_HOURS / 24} days; at this rate ${w.budgetShare * 100}% of ` +
            `the budget goes every ${w.long}.`,
          runbook_url: runbookUrl(BURN_ALERTS[slo]),
        },
      };
    }),
  );
}

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { FAILED_OUTCOMES, recordingRules, sloRules, validateSlo } from "../../../../components/observability/alerts";
import {
  BURN_ALERTS,
  BURN_WINDOWS,
  burnRate,
  errorRatioRecord,
  SLO_WINDOWS,
  TTFT_BUCKETS_SECONDS,
  ttftGoodRate,
} from "../../../../components/observability/slo";
import { loadDashboards } from "../../../../components/observability/dashboards";
import { REPO_ROOT } from "../../helpers";
import { evaluate, extrapolatedRate, parsePromql, runRules, type Sample, type Series } from "./promql";

const prod = { ttftP95Seconds: 1.5, errorRatio: 0.005 };
const rules = sloRules(prod, "https://runbooks.example");

test("every rule expression and every dashboard query parses with Prometheus' own grammar", () => {
  const all = [...recordingRules(), ...rules];
  for (const r of all) assert.doesNotThrow(() => parsePromql(r.expr), `${"record" in r ? r.record : r.alert}: ${r.expr}`);
  // The parser is strict: a broken expression throws rather than yielding an error node.
  assert.throws(() => parsePromql("sum by (model (rate(x[5m]))"));
  assert.throws(() => parsePromql("rate(x[5m]) >"));
  for (const d of loadDashboards()) {
    const dash = JSON.parse(d.json) as { panels: { targets?: { expr: string }[] }[] };
    for (const t of dash.panels.flatMap((p) => p.targets ?? [])) {
      // Grafana's template variables are not PromQL: give them values first.
      const q = t.expr.replaceAll("$__rate_interval", "1m").replaceAll("$namespace", "llm").replaceAll("$model", ".+");
      assert.doesNotThrow(() => parsePromql(q), `${d.name}: ${t.expr}`);
    }
  }
});

test("burn rates follow from the budget share and the 30-day period (the workbook's 14.4, 6 and 1)", () => {
  assert.deepEqual(
    BURN_WINDOWS.map((w) => [w.pair, burnRate(w), w.severity]),
    [
      ["1h/5m", 14.4, "critical"],
      ["6h/30m", 6, "critical"],
      ["3d/6h", 1, "warning"],
    ],
  );
  assert.deepEqual(SLO_WINDOWS, ["5m", "30m", "1h", "6h", "3d"]);
  // One recording rule per SLO and window, and the budgets.
  const records = rules.filter((r) => "record" in r).map((r) => (r as { record: string }).record);
  for (const slo of ["availability", "ttft"] as const)
    for (const w of SLO_WINDOWS) assert.ok(records.includes(errorRatioRecord(slo, w)), errorRatioRecord(slo, w));
});

test("the time-to-first-token buckets are the runtime's (RuntimeMetrics.cs)", () => {
  const source = readFileSync(path.join(REPO_ROOT, "runtime", "Observability", "RuntimeMetrics.cs"), "utf8");
  const m = /"llm_time_to_first_token_seconds"[\s\S]*?ExponentialBuckets\(([\d.]+), ([\d.]+), (\d+)\)/.exec(source);
  assert.ok(m, "RuntimeMetrics.cs no longer declares the TTFT buckets with ExponentialBuckets");
  const [start, factor, count] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.deepEqual(
    TTFT_BUCKETS_SECONDS,
    Array.from({ length: count }, (_, i) => start * factor ** i),
  );
  // The `le` values the rules match are the numbers' shortest form, as .NET prints them.
  assert.match(ttftGoodRate(1.5, "5m"), /le="1\.024".*le="2\.048"/);
  assert.match(
    ttftGoodRate(2.048, "5m"),
    /^sum by \(namespace, model\) \(rate\(llm_time_to_first_token_seconds_bucket\{le="2\.048"\}\[5m\]\)\)$/,
  );
});

test("rejects SLO targets the burn-rate alerts cannot serve", () => {
  assert.match(validateSlo({ ttftP95Seconds: 1, errorRatio: 0.1 }).join(), /slo.errorRatio must be below 0\.0694/);
  assert.match(validateSlo({ ttftP95Seconds: 60, errorRatio: 0.01 }).join(), /slo.ttftP95Seconds must be <= 32\.768/);
  assert.deepEqual(validateSlo(prod), []);
  assert.throws(() => sloRules({ ttftP95Seconds: 60, errorRatio: 0.01 }, "x"), /slo.ttftP95Seconds/);
});

test("the evaluator's rate is Prometheus' extrapolated rate", () => {
  // A counter growing 1/s sampled every 15 s: rate 1 whatever the window's alignment.
  const samples = Array.from({ length: 41 }, (_, i) => ({ t: i * 15_000, v: 100 + i * 15 }));
  assert.ok(Math.abs(extrapolatedRate(samples, 300_000, 600_000)! - 1) < 1e-9);
  // A reset (restart) is added back, not counted as a negative increase.
  const reset = samples.map((s, i) => (i > 20 ? { ...s, v: (i - 20) * 15 } : s));
  assert.ok(Math.abs(extrapolatedRate(reset, 150_000, 450_000)! - 1) < 1e-9);
  // Fewer than two samples: no result.
  assert.equal(extrapolatedRate(samples, 0, 10_000), undefined);
});

// Synthetic traffic, scraped every 15 s like the runtime's ServiceMonitor: `rps` requests per second, of which
// `bad(t)` (a share) fail (availability) or take 3 s to their first token (TTFT); the rest answer in 0.5 s.
const SCRAPE_MS = 15_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const series = (name: string, labels: Record<string, string> = {}): Series => ({
  labels: { __name__: name, namespace: "llm-serving", model: "m1", pod: "m1-0", ...labels },
  samples: [],
});

function traffic(hours: number, bad: (t: number) => number, rps = 10): Series[] {
  const total = series("llm_requests_total", { outcome: "ok" });
  const errors = series("llm_requests_total", { outcome: "error" });
  const fast = [
    series("llm_time_to_first_token_seconds_bucket", { le: "1.024" }),
    series("llm_time_to_first_token_seconds_bucket", { le: "2.048" }),
  ];
  const count = series("llm_time_to_first_token_seconds_count");
  let [ok, err, good, all] = [0, 0, 0, 0];
  for (let t = 0; t <= hours * HOUR; t += SCRAPE_MS) {
    const n = (rps * SCRAPE_MS) / 1000;
    const b = n * bad(t);
    ok += n - b;
    err += b;
    good += n - b;
    all += n;
    total.samples.push({ t, v: ok });
    errors.samples.push({ t, v: err });
    for (const f of fast) f.samples.push({ t, v: good });
    count.samples.push({ t, v: all });
  }
  return [total, errors, ...fast, count];
}

/** The burn-rate alerts firing at time t, as `slo window` strings. */
function firingAt(db: Series[], t: number): string[] {
  const slo = rules.filter(
    (r) =>
      ("record" in r && r.record.startsWith("llm:slo_")) ||
      ("alert" in r && Object.values(BURN_ALERTS).includes(r.alert as never)),
  );
  const alerts = runRules(slo, db, [t]).get(t) as Sample[];
  return alerts.map((a) => `${a.labels.slo} ${a.labels.window}`).sort();
}

const budget = prod.errorRatio;
const ttftBudget = 0.05;

// Every scenario starts after three days at half the budget, so the 3-day window sees a real history.
const BASE = 72 * HOUR;
const after = (hours: number, bad: (t: number) => number) => traffic(72 + hours, bad);
const at = (hours: number) => BASE + hours * HOUR;

test("below budget nothing fires", () => {
  assert.deepEqual(
    firingAt(
      after(2, () => budget / 2),
      at(2),
    ),
    [],
  );
});

test("a fast burn (an outage) pages on the 1h/5m pair within minutes, and stops once the outage ends", () => {
  const start = at(1);
  const outage = (from: number, to: number) => (t: number) => (t >= from && t < to ? 1 : budget / 2);
  // Eight minutes of 100% errors: the 1h window sees 13% failed (> 14.4 x 0.5% = 7.2%), the 6h window 2.5% (< 6 x 0.5%).
  const db = after(2, outage(start, start + 8 * MIN));
  assert.deepEqual(firingAt(db, start + 8 * MIN), ["availability 1h/5m"]);
  // 14.4 x 0.5% of an hour is 4.3 minutes of total outage: not yet at 3, paged by 6.
  const ongoing = after(2, outage(start, at(2)));
  assert.deepEqual(firingAt(ongoing, start + 3 * MIN), []);
  assert.deepEqual(firingAt(ongoing, start + 6 * MIN), ["availability 1h/5m"]);
  // Seven minutes after it ended the short window is clean: resolved, though the hour still holds the errors.
  assert.deepEqual(firingAt(db, start + 15 * MIN), []);
});

test("a slow burn pages on the 6h/30m pair only", () => {
  // 8x the budget (4% errors) from hour 1: below 14.4x, so the fast pair never fires; after 4.4 h the 6h window
  // is above 6x. By then the 3-day window is over the budget too, and the ticket pair fires alongside.
  const db = after(7, (t) => (t >= at(1) ? 8 * budget : budget / 2));
  assert.deepEqual(firingAt(db, at(3)), []);
  assert.deepEqual(firingAt(db, at(6.5)), ["availability 3d/6h", "availability 6h/30m"]);
});

test("a sustained small burn opens a ticket on the 3d/6h pair and pages nobody", () => {
  assert.deepEqual(
    firingAt(
      traffic(74, () => 2 * budget),
      74 * HOUR,
    ),
    ["availability 3d/6h"],
  );
});

test("time to first token: fast and slow burns of slow first tokens page on their own pairs", () => {
  // The generator fails the same requests it slows, so look at the TTFT SLO only.
  const ttft = (db: Series[], t: number) => firingAt(db, t).filter((a) => a.startsWith("ttft"));
  // Fast: 50 minutes where every first token takes 3 s (the hour: 84% slow, above 14.4 x 5% = 72%).
  const fast = after(2, (t) => (t >= at(1) ? 1 : ttftBudget / 2));
  assert.deepEqual(ttft(fast, at(1) + 50 * MIN), ["ttft 1h/5m"]);
  // Slow: 40% slow first tokens (8x) for five hours; the 1h window never reaches 72%.
  const slow = after(6, (t) => (t >= at(1) ? 8 * ttftBudget : ttftBudget / 2));
  assert.deepEqual(
    ttft(slow, at(6)).filter((a) => !a.endsWith("3d/6h")),
    ["ttft 6h/30m"],
  );
});

test("time to first token between buckets counts as good in proportion, like histogram_quantile", () => {
  // Every request's first token falls between 1.024 s and 2.048 s: with a 1.5 s target, 46.5% count as good.
  const db = traffic(1, () => 1);
  for (const s of db)
    if (s.labels.le === "2.048")
      s.samples = db.find((x) => x.labels.__name__ === "llm_time_to_first_token_seconds_count")!.samples;
  const expr = rules.find((r) => "record" in r && r.record === errorRatioRecord("ttft", "30m"))!.expr;
  const [v] = evaluate(expr, db, HOUR) as Sample[];
  assert.ok(Math.abs(v.v - (1 - (1.5 - 1.024) / 1.024)) < 1e-9, String(v.v));
});

test("the availability ratio counts exactly the failed outcomes", () => {
  const expr = rules.find((r) => "record" in r && r.record === errorRatioRecord("availability", "5m"))!.expr;
  for (const o of FAILED_OUTCOMES) assert.ok(expr.includes(o));
  const db = traffic(1, () => 0.25);
  const [v] = evaluate(expr, db, HOUR) as Sample[];
  assert.ok(Math.abs(v.v - 0.25) < 1e-9, String(v.v));
});

test("recorded ratios keep namespace and model, and the dashboard charts the budget and burn of both SLOs", () => {
  for (const r of rules)
    if ("record" in r && r.record.includes(":error_ratio_rate")) assert.match(r.expr, /sum by \(namespace, model\)/, r.record);
  const dash = JSON.parse(loadDashboards().find((d) => d.name === "llm-serving")!.json) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const panel = (title: string) =>
    dash.panels
      .find((p) => p.title === title)!
      .targets.map((t) => t.expr)
      .join("\n");
  const records = new Set(rules.filter((r) => "record" in r).map((r) => (r as { record: string }).record));
  for (const title of ["Error budget remaining (30 days)", "Error budget burn rate (1h)"])
    for (const slo of ["availability", "ttft"] as const) {
      const exprs = panel(title);
      assert.ok(exprs.includes(errorRatioRecord(slo, "1h")), `${title}: ${slo}`);
      assert.ok(exprs.includes(`scalar(llm:slo_${slo}:error_budget)`), `${title}: ${slo} budget`);
    }
  for (const name of panel("Error budget remaining (30 days)").match(/llm:slo_[a-z]+:[a-z_0-9]+/g) ?? [])
    assert.ok(records.has(name), `the dashboard reads ${name}, which no rule records`);
});

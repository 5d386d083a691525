/** validateCapacityTargets: one way to state the peak, GPU models only, no looser TTFT than the alerts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatIssue } from "../../../../stacks/config/issues";
import { settingsSchema, type Settings } from "../../../../stacks/config/schema";
import { validateCapacityTargets } from "../../../../stacks/config/validators";
import { baseInput, withValue } from "./fixtures";

const TARGET = {
  modelClass: "8b-int4",
  promptTokens: 600,
  completionTokens: 250,
  ttftP95Seconds: 1,
  interTokenLatencySeconds: 0.05,
};
const withTarget = (target: Record<string, unknown>, extra: Record<string, unknown> = {}): Settings => {
  let input = withValue(baseInput(), "models[0].target", target);
  for (const [k, v] of Object.entries(extra)) input = withValue(input, k, v);
  return settingsSchema.parse(input);
};
const messages = (s: Settings) => validateCapacityTargets(s).map(formatIssue);

test("accepts a target stated as requests/s or as tokens/s, with any TTFT up to the SLO (property)", () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.double({ min: 0.01, max: 1000, noNaN: true }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      (byRequests, rate, share) => {
        const t = {
          ...TARGET,
          ttftP95Seconds: 2 * share,
          ...(byRequests ? { requestsPerSecond: rate } : { tokensPerSecond: rate }),
        };
        return messages(withTarget(t)).length === 0;
      },
    ),
  );
});

test("rejects both or neither way of stating the peak", () => {
  assert.deepEqual(messages(withTarget({ ...TARGET, requestsPerSecond: 1, tokensPerSecond: 250 })), [
    "models[0].target: must set exactly one of requestsPerSecond and tokensPerSecond (both are set)",
  ]);
  assert.deepEqual(messages(withTarget(TARGET)), [
    "models[0].target: must set exactly one of requestsPerSecond and tokensPerSecond (neither is set)",
  ]);
});

test("rejects a TTFT objective looser than the SLO the alerts page on (property)", () => {
  fc.assert(
    fc.property(fc.double({ min: 0.1, max: 10, noNaN: true }), fc.double({ min: 1.001, max: 10, noNaN: true }), (slo, factor) => {
      const ttft = slo * factor;
      fc.pre(ttft <= 120);
      const out = messages(
        withTarget({ ...TARGET, requestsPerSecond: 1, ttftP95Seconds: ttft }, { "observability.slo": { ttftP95Seconds: slo } }),
      );
      return (
        out.length === 1 &&
        out[0] ===
          `models[0].target.ttftP95Seconds: must be <= observability.slo.ttftP95Seconds (${slo}): capacity sized for a looser objective pages on-call at every peak, got ${ttft}`
      );
    }),
  );
});

test("rejects a target on a CPU model", () => {
  assert.deepEqual(messages(withTarget({ ...TARGET, requestsPerSecond: 1 }, { "models[0].gpus": 0 })), [
    "models[0].gpus: must be >= 1 for a model with a capacity target (the throughput table has GPU rows only), got 0",
  ]);
});

test("the schema names an unknown model class and the allowed ones", () => {
  const r = settingsSchema.safeParse(
    withValue(baseInput(), "models[0].target", { ...TARGET, modelClass: "13b", requestsPerSecond: 1 }),
  );
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0].path, ["models", 0, "target", "modelClass"]);
});

import fc from "fast-check";
import assert from "node:assert/strict";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import {
  diffInputs,
  diffPlans,
  parsePlanDocument,
  renderDiffText,
  summaryLine,
  type PlanDocumentLike,
} from "../../../../stacks/plan/diff";

// Pulumi's secret wrapper as the mocks record it (sdk/nodejs/runtime/rpc.ts).
const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

const doc = (stack: string, resources: PlanDocumentLike["resources"], policies: PlanDocumentLike["policies"] = []) => ({
  stack,
  resources,
  policies,
});
const res = (type: string, name: string, inputs: unknown, parent: string | null = null) => ({ type, name, parent, inputs });

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant("[secret]"),
    fc.array(tie("value"), { maxLength: 3 }),
    // Plain objects, as JSON.parse makes them (keys such as "__proto__" included).
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

const planArb = fc
  .uniqueArray(fc.record({ type: fc.constantFrom("k:a", "k:b", "k:c"), name: fc.constantFrom("x", "y", "z"), inputs: json }), {
    selector: (r) => `${r.type}::${r.name}`,
    maxLength: 6,
  })
  .map((rs) =>
    doc(
      "s",
      rs.map((r) => res(r.type, r.name, r.inputs)),
    ),
  );

test("a plan compared with itself has no changes", () => {
  fc.assert(
    fc.property(planArb, (p) => {
      const d = diffPlans(p, p);
      assert.deepEqual([d.added, d.removed, d.changed], [[], [], []]);
      assert.equal(d.unchanged, p.resources.length);
    }),
  );
});

test("swapping the plans swaps added and removed and keeps the changed set", () => {
  fc.assert(
    fc.property(planArb, planArb, (a, b) => {
      const ab = diffPlans(a, b);
      const ba = diffPlans(b, a);
      assert.deepEqual(ab.added, ba.removed);
      assert.deepEqual(ab.removed, ba.added);
      assert.deepEqual(
        ab.changed.map((c) => [c.type, c.name, c.changes.map((x) => x.path)]),
        ba.changed.map((c) => [c.type, c.name, c.changes.map((x) => x.path)]),
      );
      assert.equal(ab.added.length + ab.changed.length + ab.unchanged, b.resources.length);
    }),
  );
});

test("input trees differ exactly when the diff lists a path", () => {
  fc.assert(
    fc.property(json, json, (a, b) => {
      assert.equal(diffInputs(a, b).length === 0, isDeepStrictEqual(a, b));
      assert.deepEqual(diffInputs(a, structuredClone(a)), []);
    }),
  );
});

test("a key named __proto__ is an input like any other", () => {
  const before = JSON.parse('{"__proto__": {"a": 1}}') as unknown;
  assert.deepEqual(diffInputs(before, {}), [{ path: "__proto__", kind: "removed", before: { a: 1 } }]);
});

test("names input paths the way a Kubernetes reviewer reads them", () => {
  const before = { spec: { containers: [{ image: "a:1" }] }, metadata: { labels: { "app.kubernetes.io/name": "x" } } };
  const after = {
    spec: { containers: [{ image: "a:2" }, { image: "b:1" }] },
    metadata: { labels: { "app.kubernetes.io/name": "y" } },
  };
  assert.deepEqual(diffInputs(before, after), [
    { path: 'metadata.labels["app.kubernetes.io/name"]', kind: "changed", before: "x", after: "y" },
    { path: "spec.containers[0].image", kind: "changed", before: "a:1", after: "a:2" },
    { path: "spec.containers[1]", kind: "added", after: { image: "b:1" } },
  ]);
});

test("reports a new parent, which Pulumi treats as a new resource unless aliased", () => {
  const d = diffPlans(doc("s", [res("k:a", "x", {}, "p::one")]), doc("s", [res("k:a", "x", {}, "p::two")]));
  assert.deepEqual(d.changed[0].changes, [{ path: "(parent)", kind: "changed", before: "p::one", after: "p::two" }]);
});

test("never prints a secret value, even from a document that still carries Pulumi's secret wrappers", () => {
  const before = doc("s", [res("k:a", "x", { token: secret("hunter2"), plain: "a" })]);
  const after = doc("s", [
    res("k:a", "x", { token: secret("correct-horse"), plain: "b" }),
    res("k:b", "y", { p: secret("s3cr3t") }),
  ]);
  const d = diffPlans(before, after);
  const text = `${renderDiffText(d)}\n${JSON.stringify(d)}`;
  for (const s of ["hunter2", "correct-horse", "s3cr3t"]) assert.ok(!text.includes(s), `${s} leaked`);
  assert.deepEqual(d.maskedUnchecked, [{ resource: "k:a::x", paths: ["token"] }]);
  assert.match(renderDiffText(d), /Not compared: 1 secret input on 1 resource .*\n {2}k:a::x: token/);
});

test("a value that turns secret shows as a change to [secret]", () => {
  const d = diffPlans(doc("s", [res("k:a", "x", { v: "plain" })]), doc("s", [res("k:a", "x", { v: secret("plain") })]));
  assert.deepEqual(d.changed[0].changes, [{ path: "v", kind: "changed", before: "plain", after: "[secret]" }]);
});

test("lists policies whose result changed", () => {
  const d = diffPlans(
    doc(
      "s",
      [],
      [
        { name: "tls", passed: true },
        { name: "pdb", passed: true },
      ],
    ),
    doc(
      "s",
      [],
      [
        { name: "tls", passed: false },
        { name: "pdb", passed: true },
        { name: "new", passed: true },
      ],
    ),
  );
  assert.deepEqual(d.policies, [
    { name: "tls", before: "pass", after: "fail" },
    { name: "new", before: "absent", after: "pass" },
  ]);
});

test("the summary counts each kind and names the other stack only when stacks differ", () => {
  const a = doc("prod", [res("k:a", "x", { v: 1 }), res("k:a", "gone", {})]);
  const b = doc("prod", [res("k:a", "x", { v: 2 }), res("k:a", "new1", {}), res("k:a", "new2", {})]);
  assert.equal(summaryLine(diffPlans(a, b)), "plan prod: 2 to add, 1 to change, 1 to remove");
  assert.equal(
    summaryLine(diffPlans({ ...a, stack: "staging" }, b)),
    "plan prod: 2 to add, 1 to change, 1 to remove (compared with a plan of staging)",
  );
  assert.equal(renderDiffText(diffPlans(b, b)).split("\n").at(-1), "plan prod: 0 to add, 0 to change, 0 to remove");
});

test("the summary names every policy failing in the newer plan, changed or not, and only those", () => {
  const before = doc(
    "prod",
    [],
    [
      { name: "tls", passed: false },
      { name: "pdb", passed: false },
      { name: "keys", passed: true },
    ],
  );
  const after = doc(
    "prod",
    [],
    [
      { name: "tls", passed: false },
      { name: "pdb", passed: true },
      { name: "keys", passed: false },
    ],
  );
  const d = diffPlans(before, after);
  assert.deepEqual(d.failing, ["keys", "tls"]);
  assert.equal(summaryLine(d), "plan prod: 0 to add, 0 to change, 0 to remove; 2 policies failing: keys, tls");
  assert.equal(
    summaryLine(diffPlans(after, before)),
    "plan prod: 0 to add, 0 to change, 0 to remove; 2 policies failing: pdb, tls",
  );
  assert.equal(
    summaryLine(diffPlans(before, doc("prod", [], [{ name: "tls", passed: false }]))),
    "plan prod: 0 to add, 0 to change, 0 to remove; 1 policy failing: tls",
  );
});

test("reads plan documents with fields it does not know, and rejects what is not a plan", () => {
  const parsed = parsePlanDocument(
    JSON.stringify({ stack: "dev", resources: [{ type: "k:a", name: "x", parent: null, inputs: {} }], cost: { monthly: 12 } }),
    "base.json",
  );
  assert.deepEqual(parsed.resources, [{ type: "k:a", name: "x", parent: null, inputs: {} }]);
  assert.throws(() => parsePlanDocument("{", "base.json"), /base\.json: not JSON/);
  assert.throws(
    () => parsePlanDocument(JSON.stringify({ stack: "dev", resources: [{ name: "x" }] }), "base.json"),
    /base\.json: not a plan document \(resources\[0\] must have a string type and name\)/,
  );
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import {
  COMMENT_BUDGET,
  COMMENT_MARKER,
  previewStack,
  renderComment,
  resultOf,
  stacksIn,
  truncate,
  type StackPreview,
} from "../../../../stacks/plan/preview";
import { ENVIRONMENTS } from "../../../../stacks/config/schema";
import { REPO_ROOT } from "../../helpers";

const dir = mkdtempSync(path.join(tmpdir(), "plan-preview-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const ok = (stack: string, diff = `  ~ k:a  x\n\nplan ${stack}: 0 to add, 1 to change, 0 to remove\n`): StackPreview => ({
  stack,
  code: 0,
  diff,
  error: "",
});

test("the comment starts with its marker, so the next push edits it instead of adding another", () => {
  const md = renderComment([ok("dev")], { base: "a".repeat(40), head: "b".repeat(40) });
  assert.equal(md.split("\n")[0], COMMENT_MARKER);
  assert.match(md, /Plan of `bbbbbbbbbbbb` against the base branch \(`aaaaaaaaaaaa`\)/);
});

test("has one table row per stack with its one-line summary, policy failure or plan error", () => {
  const md = renderComment(
    [
      ok("dev"),
      { stack: "prod", code: 2, diff: "plan prod: 1 to add, 0 to change, 0 to remove\n", error: "" },
      { stack: "dr", code: 1, diff: "", error: "Invalid configuration for stack 'dr' (1 problem):\n  - domain: is required\n" },
    ],
    { base: "base", head: "head" },
  );
  assert.match(md, /\| dev \| plan dev: 0 to add, 1 to change, 0 to remove \|/);
  assert.match(md, /\| prod \| :warning: policy failed; plan prod: 1 to add, 0 to change, 0 to remove \|/);
  assert.match(md, /\| dr \| :x: plan failed: {3}- domain: is required \|/);
});

test("plan output cannot close the code fence it is shown in", () => {
  const md = renderComment([ok("dev", '~ x: "````" -> "y"\nplan dev: 0 to add, 1 to change, 0 to remove')], {
    base: "b",
    head: "h",
  });
  assert.match(md, /^`````diff$/m);
});

test("stays under GitHub's comment limit however long the diffs are", () => {
  const huge = `${Array.from({ length: 20_000 }, (_, i) => `  + k:a  r${i}`).join("\n")}\nplan s: 20000 to add, 0 to change, 0 to remove`;
  const md = renderComment(
    ["a", "b", "c", "d", "e", "f"].map((s) => ok(s, huge)),
    { base: "b", head: "h" },
  );
  assert.ok(md.length < 65_536, `comment is ${md.length} characters`);
  assert.match(md, /\.\.\. \d+ more lines: see the workflow run's plan artifact/);
  // The summary row survives truncation: it comes from the full diff.
  assert.match(md, /\| f \| plan s: 20000 to add, 0 to change, 0 to remove \|/);
  assert.equal(truncate("short", COMMENT_BUDGET), "short");
});

test("finds every stack file of a checkout: one per environment here", () => {
  assert.deepEqual(stacksIn(REPO_ROOT), [...ENVIRONMENTS].sort());
});

test("a stack the base branch cannot plan is diffed against an empty plan, and the comment says why", async () => {
  const emptyBase = path.join(dir, "empty-base");
  mkdirSync(path.join(emptyBase, "stacks"), { recursive: true });
  const out = path.join(dir, "out-empty");
  mkdirSync(out);
  const p = await previewStack("local", emptyBase, REPO_ROOT, out);
  assert.equal(p.code, 0, p.error);
  assert.match(p.baseNote ?? "", /^No plan of `local` on the base branch \(.*\): every resource shows as added\.$/);
  assert.match(resultOf(p), /^plan local: [1-9][0-9]* to add, 0 to change, 0 to remove$/);
});

test("the runner writes the comment and each stack's diff, exit 0 when every plan passes", async () => {
  const out = path.join(dir, "out-cli");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "stacks/plan/preview.ts", "--base", REPO_ROOT, "--out", out, "--head-sha", "c0ffee", "local"],
    { cwd: REPO_ROOT },
  );
  assert.equal(stdout, "local: plan local: 0 to add, 0 to change, 0 to remove\n");
  assert.ok(existsSync(path.join(out, "local.diff.txt")));
  const md = readFileSync(path.join(out, "comment.md"), "utf8");
  assert.match(md, /\| local \| plan local: 0 to add, 0 to change, 0 to remove \|/);
});

/** Pulumi.yaml: what the Pulumi CLI reads before running the program. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers";

interface ProjectFile {
  name: string;
  runtime: { name: string; options: Record<string, unknown> };
  main: string;
  stackConfigDir: string;
  config: Record<string, { type: string; description?: string; secret?: boolean }>;
}

const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;

test("runs the TypeScript program in stacks/ with stack files in stacks/", () => {
  assert.equal(project.runtime.name, "nodejs");
  assert.ok(existsSync(path.join(REPO_ROOT, project.main)), project.main);
  assert.equal(project.stackConfigDir, "stacks");
});

test("declares its config keys with Pulumi's project types and a description", () => {
  for (const [key, decl] of Object.entries(project.config)) {
    assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key}: type ${decl.type}`);
    assert.ok(decl.description && decl.description.length > 10, `${key}: description`);
  }
});

test("every stack file sets every declared key (Pulumi refuses to run otherwise)", () => {
  for (const file of readdirSync(path.join(REPO_ROOT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) {
    const config = (parse(readFileSync(path.join(REPO_ROOT, "stacks", file), "utf8")) as { config: Record<string, unknown> })
      .config;
    for (const [key, decl] of Object.entries(project.config)) {
      const value = config[`${project.name}:${key}`];
      assert.ok(value !== undefined, `${file}: ${key}`);
      if (decl.secret)
        assert.ok(typeof value === "object" && value !== null && "secure" in value, `${file}: ${key} must be secure`);
    }
  }
});

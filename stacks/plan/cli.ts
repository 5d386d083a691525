/**
 * Offline plan: `npm run --silent plan -- <stack> [--json] [--config-file <file>] [--diff <earlier-plan.json>]`.
 * Runs the program under Pulumi's mocks with the stack's config file (`stacks/Pulumi.<stack>.yaml`, or
 * `--config-file`): no CLI, no cloud, no cluster. With `--diff`, prints what changed against an earlier
 * `--json` plan instead of the full plan, ending with a one-line summary. Exit codes: 0 plan made and every
 * policy passed, or a diff made (its summary line names the policies that fail in the newer plan); 1 invalid
 * config, unreadable earlier plan or the program failed; 2 a policy failed (the plan is still printed);
 * 64 bad usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/issues";
import { exitWhenFlushed } from "./exit";
import { diffPlans, parsePlanDocument, PlanDocumentError, renderDiffText, summaryLine } from "./diff";
import { renderText, toDocument } from "./render";
import { runPlan } from "./run";
import { readStackConfigFile, readStackConfigFrom, StackFileError } from "./stack-file";

const USAGE =
  "usage: npm run --silent plan -- <stack> [--json] [--config-file <Pulumi.<stack>.yaml>] [--diff <earlier-plan.json>]";

/** Reads the earlier plan before the program runs, so a bad path fails fast. */
function readEarlierPlan(file: string) {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PlanDocumentError(`--diff: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parsePlanDocument(text, file);
}

function fail(message: string, code: number): number {
  process.stderr.write(`${message}\n`);
  return code;
}

async function cli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        // Plan a stack file from elsewhere (a crafted variant, another branch's copy) under this repo's program.
        "config-file": { type: "string" },
        diff: { type: "string" },
      },
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n${USAGE}`, 64);
  }
  const [stack, ...extra] = parsed.positionals;
  if (!stack || extra.length > 0) return fail(USAGE, 64);

  const earlier = parsed.values.diff === undefined ? undefined : readEarlierPlan(parsed.values.diff);
  const configFile = parsed.values["config-file"];
  const plan = await runPlan(configFile ? readStackConfigFrom(stack, configFile) : readStackConfigFile(stack));
  if (earlier) {
    const diff = diffPlans(earlier, toDocument(plan));
    const out = parsed.values.json ? JSON.stringify({ ...diff, summary: summaryLine(diff) }, null, 2) : renderDiffText(diff);
    process.stdout.write(`${out}\n`);
    // A diff reports; it does not judge. Its summary line names failing policies, and the plan without --diff,
    // which pulumi-up.yml runs before every `pulumi up`, still exits 2 for them.
    return 0;
  }
  process.stdout.write(parsed.values.json ? `${JSON.stringify(toDocument(plan), null, 2)}\n` : `${renderText(plan)}\n`);
  return plan.policies.every((p) => p.passed) ? 0 : 2;
}

cli(process.argv.slice(2)).then(exitWhenFlushed, (e: unknown) => {
  // Config problems are the user's to fix: the message alone, no stack trace.
  if (e instanceof ConfigError || e instanceof StackFileError || e instanceof PlanDocumentError)
    exitWhenFlushed(fail(e.message, 1));
  else exitWhenFlushed(fail(`plan failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1));
});

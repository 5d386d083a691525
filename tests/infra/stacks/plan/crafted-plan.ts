/**
 * Test fixture, not a test: prints the `--json` plan document of a crafted stack file, run in its own process
 * because Pulumi config is process-wide. Usage: node --import tsx crafted-plan.ts <root> <stack>, where
 * <root> holds Pulumi.yaml and stacks/Pulumi.<stack>.yaml.
 */
import { toDocument } from "../../../../stacks/plan/render";
import { runPlan } from "../../../../stacks/plan/run";
import { readStackConfigFile } from "../../../../stacks/plan/stack-file";

const [root, stack] = process.argv.slice(2);
runPlan(readStackConfigFile(stack, root)).then(
  (plan) => process.stdout.write(`${JSON.stringify(toDocument(plan))}\n`),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

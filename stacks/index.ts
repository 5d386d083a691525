// `pulumi up` entry point (Pulumi.yaml: main). Everything lives in program.ts so the offline plan runs the same code.
import { main } from "./program";

export = main();

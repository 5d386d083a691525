// Entry point Pulumi's policy-pack runner requires. The rules are TypeScript shared with the program and the
// offline plan: tsx's require hook loads them, as `--import tsx` does for the program (Pulumi.yaml).
require("tsx/cjs");
require("./index.ts");

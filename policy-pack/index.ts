/** The policy pack: every rule of stacks/policy that can be judged on resolved values, mandatory. */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, packPolicies } from "./policies";

new PolicyPack(PACK_NAME, { enforcementLevel: "mandatory", policies: packPolicies() });

/**
 * The modelfleet CrossGuard pack: `pulumi preview --policy-pack policies`. Constructing PolicyPack starts the
 * analyzer gRPC server, so this module is the entry point only; the policies live in policies.ts (importable from
 * tests without serving). Loaded by main.cjs; see docs/policies.md.
 */
import { PolicyPack } from "@pulumi/policy";
import { packEnvironment, policies } from "./policies.js";

const { environment, from } = packEnvironment(process.env);

new PolicyPack("modelfleet", {
  description: `modelfleet policies (environment ${environment}, from ${from}): no hardcoded secrets, no wildcard CORS, GPU workload checks.`,
  policies,
});

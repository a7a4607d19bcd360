#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the sources Pulumi loads and the sources the CLI runs are the same files.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);

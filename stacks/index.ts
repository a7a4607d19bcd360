/**
 * The Pulumi program (`main` in Pulumi.yaml): the running stack's `Pulumi.<stack>.yaml` → components.
 * `pulumi preview --stack production --policy-pack policies` shows every object as its own resource.
 */
import { defineStack } from "./program.js";
import { loadPulumiStackConfig, loadStackSecrets } from "./pulumi-config.js";

const config = loadPulumiStackConfig();
const stack = defineStack(config, loadStackSecrets(config));

/** Model name → `{model}-{environment}.{namespace}.svc.cluster.local:8000`. */
export const endpoints = stack.endpoints;
export const environment = config.environment;
export const namespace = config.namespace;
/** Offline stacks: every image (pin, digest, site reference) and model file the site needs — what a bundle carries. */
export const offlineImages = stack.offline?.images;

import { hasFlag } from "../../../config/engines/flags.js";
import { contractForImage, NEWEST_CONTRACT } from "../../../config/engines/registry.js";
import { shown } from "../../display.js";
import type { PathSegment } from "../../field-path.js";
import { asString, commandTokens, engineContainers, isInferenceWorkload, isRecord, type CommandToken, type ContainerRef } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";
import { annotation, envEntry, expandEnvReference, isOffline, isTruthyEnv, MODEL_DELIVERY_ANNOTATION, OFFLINE_LABEL } from "./model-metadata.js";

/**
 * llama.cpp options that fetch weights at start (common/arg.cpp): a URL, a Hugging Face repository (model, draft,
 * vocoder) or a Docker Hub model, with their environment twins.
 */
const LLAMA_DOWNLOAD_FLAGS = ["--model-url", "-mu", "--hf-repo", "-hf", "-hfr", "--hf-repo-draft", "-hfd", "-hfrd", "--hf-repo-v", "-hfrv", "--docker-repo", "-dr"];
const LLAMA_DOWNLOAD_ENV = ["LLAMA_ARG_MODEL_URL", "LLAMA_ARG_HF_REPO", "LLAMA_ARG_HFD_REPO", "LLAMA_ARG_HF_REPO_V", "LLAMA_ARG_DOCKER_REPO"];
/** llama.cpp's env twin of --offline (config/engines/llamacpp-b11206.ts). */
const LLAMA_OFFLINE_ENV = "LLAMA_OFFLINE";

const STORE_FIX = "Fix: deliver the weights through the model store (modelfleet:modelStore.mode perModel or shared, the default) or an image volume, so the engine reads them from /models";

/**
 * no-download-at-start: an engine reads its weights from a local path (the model store, an image volume or the
 * user's claim) and never fetches them when it starts. In an offline stack (label modelfleet.dev/offline: "true")
 * a download cannot work at all, so the pod never starts; in production every restart, reschedule and replica would
 * fetch the weights again and make the Hub's availability ours. Both are reported in every environment. Online
 * development and staging stacks may still download at start (`modelStore.mode: off`) and are not reported.
 */
export const noDownloadAtStart = defineRule({
  id: "no-download-at-start",
  description: "Engines load their weights from a local path and never download them at start (offline stacks and production).",
  severity: "high",
  enforcement: { development: "mandatory", staging: "mandatory", production: "mandatory" },
  waivable: true,
  remediation: "Use the model store (modelStore.mode perModel or shared) or an image volume: the engine gets a local model path, HF_HUB_OFFLINE=1 (vLLM) or --offline (llama.cpp).",
  checkObject: (object, context) => {
    if (!isInferenceWorkload(object)) return [];
    const offline = isOffline(object);
    if (!offline && context.environment !== "production") return [];
    const why = offline
      ? `this is an offline stack (label ${OFFLINE_LABEL}: "true"), where no model hub is reachable, so the pod never starts`
      : `${context.environment} must not fetch weights at start: every restart, reschedule and replica would download them again`;
    const findings: Finding[] = [];
    const add = (path: readonly PathSegment[], what: string, fix: string): void => {
      findings.push({ object, path, message: `${what}; ${why}. ${fix}.` });
    };
    if (annotation(object, MODEL_DELIVERY_ANNOTATION) === "download") {
      add(["metadata", "annotations", MODEL_DELIVERY_ANNOTATION], `${MODEL_DELIVERY_ANNOTATION} is "download": the engine downloads the weights when it starts (modelStore.mode off)`, `${STORE_FIX} (allowed: store, imageVolume, pvc)`);
    }
    for (const { ref, engine } of engineContainers(object)) {
      if (engine === "vllm") vllmDownloads(ref, add);
      else llamaCppDownloads(ref, add);
    }
    return findings;
  },
});

type Add = (path: readonly PathSegment[], what: string, fix: string) => void;

/** The value after a flag (`--flag value` or `--flag=value`), with where it is written. */
function flagValue(tokens: readonly CommandToken[], flag: string): CommandToken | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const { token, path } = tokens[i]!;
    if (token === flag) return tokens[i + 1] ?? { token: "", path };
    if (token.startsWith(`${flag}=`)) return { token: token.slice(flag.length + 1), path };
  }
  return undefined;
}

/**
 * vLLM's model: `--model <m>`, else the first argument after `serve`. Undefined when there is none (vLLM then serves
 * its built-in default model, from the Hub).
 */
function vllmModel(tokens: readonly CommandToken[]): CommandToken | undefined {
  const flagged = flagValue(tokens, "--model");
  if (flagged) return flagged;
  const serve = tokens.findIndex((t) => t.token === "serve");
  const next = serve < 0 ? undefined : tokens[serve + 1];
  return next && !next.token.startsWith("-") ? next : undefined;
}

function vllmDownloads(ref: ContainerRef, add: Add): void {
  const tokens = commandTokens(ref);
  const container = `container ${shown(ref.name)}`;
  const model = vllmModel(tokens);
  const local = "allowed: an absolute path in the container, e.g. /models/<owner>--<name>/<revision> from the model store";
  if (model === undefined) {
    add([...ref.path, "args"], `${container} runs vLLM with no model argument, so vLLM serves its built-in default model, downloaded from the Hub at start`, `${STORE_FIX}; ${local}`);
  } else {
    const value = expandEnvReference(ref, model.token);
    if (value === undefined || !value.startsWith("/")) {
      const what = value === undefined ? `model argument ${shown(model.token)} names an env var with no literal value, so where the weights come from cannot be told` : `model argument ${shown(value)} is not a local path: vLLM downloads it from the Hub at start`;
      add(model.path, `${container}: ${what}`, `${STORE_FIX}; ${local}`);
    }
  }
  const draft = speculativeModel(tokens);
  if (draft && !draft.model.startsWith("/")) {
    add(draft.path, `${container} --speculative-config names draft model ${shown(draft.model)}, which vLLM downloads from the Hub at start`, `${STORE_FIX} (the draft is stored as a second item); allowed: an absolute path`);
  }
  const offline = envEntry(ref, "HF_HUB_OFFLINE");
  if (!offline || !isTruthyEnv(offline.entry["value"])) {
    const path = offline ? [...ref.path, "env", offline.index, "value"] : [...ref.path, "env"];
    const got = !offline ? "no HF_HUB_OFFLINE" : offline.entry["value"] === undefined ? "HF_HUB_OFFLINE without a literal value" : `HF_HUB_OFFLINE=${shown(offline.entry["value"])}`;
    add(path, `${container} has ${got}, so vLLM may still call the Hub at start (tokenizer, config, missing files)`, `Fix: set env HF_HUB_OFFLINE: "1" (modelfleet's builders do for store and image-volume delivery)`);
  }
}

/** The `model` of `--speculative-config <json>`, when it names one. */
function speculativeModel(tokens: readonly CommandToken[]): { model: string; path: readonly PathSegment[] } | undefined {
  const config = flagValue(tokens, "--speculative-config");
  if (!config) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(config.token);
  } catch {
    return undefined; // the engine-contract check reports malformed JSON
  }
  const model = isRecord(parsed) ? asString(parsed["model"]) : undefined;
  return model === undefined ? undefined : { model, path: config.path };
}

function llamaCppDownloads(ref: ContainerRef, add: Add): void {
  const tokens = commandTokens(ref);
  const container = `container ${shown(ref.name)}`;
  for (const { token, path } of tokens) {
    const flag = LLAMA_DOWNLOAD_FLAGS.find((f) => token === f || token.startsWith(`${f}=`));
    if (flag) add(path, `${container} passes ${flag}: llama-server downloads the weights when it starts`, `${STORE_FIX}; pass -m <local .gguf path> instead`);
  }
  for (const name of LLAMA_DOWNLOAD_ENV) {
    const entry = envEntry(ref, name);
    if (entry) add([...ref.path, "env", entry.index], `${container} sets ${name}: llama-server downloads the weights when it starts`, `${STORE_FIX}; pass -m <local .gguf path> instead`);
  }
  const found = contractForImage("llamacpp", asString(ref.container["image"]) ?? "");
  const contract = "contract" in found ? found.contract : NEWEST_CONTRACT.llamacpp;
  if (!hasFlag(contract, "--offline")) return;
  const offline = tokens.some((t) => t.token === "--offline") || isTruthyEnv(envEntry(ref, LLAMA_OFFLINE_ENV)?.entry["value"]);
  if (!offline) {
    add([...ref.path, "args"], `${container} runs llama-server ${contract.version} without --offline, so it may still reach the network for the model`, "Fix: pass --offline (modelfleet's builders do for store and image-volume delivery)");
  }
}

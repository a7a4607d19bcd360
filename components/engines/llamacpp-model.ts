import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedLlamaCppModel } from "../../config/types.js";
import { ModelComponent, type ModelArgs } from "./model-component.js";

/** Arguments of a llama.cpp model: the resolved model from the stack config, its stack context and secrets. */
export type LlamaCppModelArgs = ModelArgs<ResolvedLlamaCppModel>;

/** A GGUF model served by llama.cpp's llama-server, with the same objects around it as a vLLM model. */
export class LlamaCppModel extends ModelComponent<ResolvedLlamaCppModel> {
  constructor(name: string, args: LlamaCppModelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelfleet:inference:LlamaCppModel", name, args, opts);
  }
}

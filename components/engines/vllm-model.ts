import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedVllmModel } from "../../config/types.js";
import { ModelComponent, type ModelArgs } from "./model-component.js";

/** Arguments of a vLLM model: the resolved model from the stack config, its stack context and secrets. */
export type VllmModelArgs = ModelArgs<ResolvedVllmModel>;

/** A model served by vLLM: Deployment, Service, settings, network policy and, per environment, PDB and ServiceMonitor. */
export class VllmModel extends ModelComponent<ResolvedVllmModel> {
  constructor(name: string, args: VllmModelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelfleet:inference:VllmModel", name, args, opts);
  }
}

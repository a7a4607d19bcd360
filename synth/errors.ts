/** Why synth wrote nothing. `config`: the stack file is wrong; `schema`/`policy`: what it would produce is wrong. */
export class SynthError extends Error {
  override readonly name = "SynthError";
  constructor(
    readonly kind: "config" | "schema" | "policy" | "io",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why synth wrote nothing. `usage`: a --stack or --out value is refused; `config`: the stack file is wrong;
 * `schema`/`policy`: what it would produce is wrong; `ownership`: the output folder holds files synth did not write
 * (or that were changed since); `io`: the file system failed or another synth is writing the same folder.
 */
export class SynthError extends Error {
  override readonly name = "SynthError";
  constructor(
    readonly kind: "usage" | "config" | "schema" | "policy" | "ownership" | "io",
    message: string,
  ) {
    super(message);
  }
}

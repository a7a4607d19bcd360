/** Why a bundle operation stopped. `input`: bad arguments or a missing tool; `integrity`: verification failed. */
export class BundleError extends Error {
  override readonly name = "BundleError";
  constructor(
    readonly kind: "input" | "integrity" | "space" | "tool" | "image" | "database",
    message: string,
  ) {
    super(message);
  }
}

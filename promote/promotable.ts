import type { z } from "zod";
import { stackConfigSchema } from "../config/schema.js";

/**
 * Which keys `modelfleet promote` copies, read from the schema's `.meta({ promotable: true })` marks, so the split
 * between promotable and environment-specific keys is declared once, next to the keys themselves.
 */

function isPromotable(field: z.ZodType): boolean {
  return (field.meta() as { promotable?: boolean } | undefined)?.promotable === true;
}

function objectShape(field: z.ZodType): Record<string, z.ZodType> {
  let node = field;
  for (;;) {
    const def = node.def as { type: string; innerType?: z.ZodType; element?: z.ZodType; shape?: Record<string, z.ZodType> };
    if ((def.type === "optional" || def.type === "default") && def.innerType) node = def.innerType;
    else if (def.type === "array" && def.element) node = def.element;
    else if (def.type === "object" && def.shape) return def.shape;
    else throw new Error(`not an object schema: ${def.type}`);
  }
}

/** Top-level `modelfleet:` keys that are promoted whole (e.g. `images`). */
export const PROMOTABLE_STACK_KEYS: readonly string[] = Object.entries(stackConfigSchema.shape)
  .filter(([, field]) => isPromotable(field as z.ZodType))
  .map(([key]) => key)
  .sort();

/** Keys of a model entry that are promoted (source, engine settings, …); the rest stays per environment. */
export const PROMOTABLE_MODEL_KEYS: readonly string[] = Object.entries(objectShape(stackConfigSchema.shape.models))
  .filter(([, field]) => isPromotable(field))
  .map(([key]) => key);

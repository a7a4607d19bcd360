import type { K8sObject } from "../components/shared/k8s-object.js";
import { isCredentialLike } from "./display.js";
import { redacted } from "./secret-patterns.js";

/** Comma- or space-separated rule ids the object is waived from. */
export const WAIVE_ANNOTATION = "modelfleet.dev/waive";
/** Why; required, so a waiver is a reviewed decision, and reported next to every waived violation. */
export const WAIVE_REASON_ANNOTATION = "modelfleet.dev/waive-reason";

export type WaiverStatus =
  | { readonly status: "none" }
  | { readonly status: "waived"; readonly reason: string }
  | { readonly status: "invalid"; readonly problem: string };

/** Whether the object's annotations waive `ruleId`. */
export function waiverStatus(object: K8sObject, ruleId: string, waivable: boolean): WaiverStatus {
  const annotations = object.metadata?.annotations;
  const waive = annotations?.[WAIVE_ANNOTATION];
  if (typeof waive !== "string") return { status: "none" };
  const ids = waive.split(/[\s,]+/).filter((id) => id !== "");
  if (!ids.includes(ruleId)) return { status: "none" };
  if (!waivable) {
    return {
      status: "invalid",
      problem: `${WAIVE_ANNOTATION} lists "${ruleId}", which cannot be waived; fix the object instead`,
    };
  }
  const reason = annotations?.[WAIVE_REASON_ANNOTATION];
  if (typeof reason !== "string" || reason.trim() === "") {
    return {
      status: "invalid",
      problem: `waiver ignored: ${WAIVE_ANNOTATION} lists "${ruleId}" but ${WAIVE_REASON_ANNOTATION} is missing or empty; add the reason`,
    };
  }
  // Reported next to every waived violation: one line, and never a credential pasted into the annotation.
  const text = reason.trim().replace(/\s+/g, " ");
  return { status: "waived", reason: isCredentialLike(text) ? redacted(text) : text };
}

/**
 * A Kubernetes object as plain JSON: what the builders return, what synth writes, what the policies read and what
 * the Pulumi wrappers register. Builders produce these; nothing downstream needs cdk8s.
 */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: K8sMetadata;
  readonly [field: string]: unknown;
}

export interface K8sMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** `kind/namespace/name`, the way operators and policy reports name an object. */
export function objectRef(obj: Pick<K8sObject, "kind" | "metadata">): string {
  return `${obj.kind}/${obj.metadata.namespace ?? "-"}/${obj.metadata.name}`;
}

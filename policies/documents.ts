import type { K8sObject } from "../components/shared/k8s-object.js";

/**
 * Documents that are not Kubernetes objects still go through the content rules (no-hardcoded-secrets,
 * no-wildcard-cors) as pseudo-objects, so one rule implementation covers manifests, stack files and Helm values:
 * - `PulumiStackConfig/-/<stack>`: a `Pulumi.<stack>.yaml` file;
 * - `YamlDocument/-/<file>[#n]`: any other YAML document without apiVersion/kind (values.yaml, Chart.yaml…).
 * The document itself is under `content`; findings' paths are relative to the document, not to the pseudo-object.
 */
export const STACK_CONFIG_KIND = "PulumiStackConfig";
export const YAML_DOCUMENT_KIND = "YamlDocument";
const API_VERSION = "policies.modelfleet.dev/v1";

export function stackConfigObject(stack: string, content: unknown): K8sObject {
  return { apiVersion: API_VERSION, kind: STACK_CONFIG_KIND, metadata: { name: stack }, content };
}

export function yamlDocumentObject(name: string, content: unknown): K8sObject {
  return { apiVersion: API_VERSION, kind: YAML_DOCUMENT_KIND, metadata: { name }, content };
}

export function isPseudoDocument(object: K8sObject): boolean {
  return object.kind === STACK_CONFIG_KIND || object.kind === YAML_DOCUMENT_KIND;
}

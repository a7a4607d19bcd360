import type { Rule } from "../types.js";
import { noHardcodedSecrets } from "./no-hardcoded-secrets.js";
import { noWildcardCors } from "./no-wildcard-cors.js";
import { autoscaledHasPdb } from "./model/autoscaled-has-pdb.js";
import { autoscalerMetricExported } from "./model/autoscaler-metric-exported.js";
import { modelSourcePinned } from "./model/model-source-pinned.js";
import { noDownloadAtStart } from "./model/no-download-at-start.js";
import { gpuResources } from "./workload/gpu-resources.js";
import { imageDigest } from "./workload/image-digest.js";
import { networkPolicyCoverage } from "./workload/network-policy-coverage.js";
import { pdbCoverage } from "./workload/pdb-coverage.js";
import { podSecurity } from "./workload/pod-security.js";
import { probes } from "./workload/probes.js";

/** Every rule, in the order reports and the CrossGuard pack list them. */
export const RULES: readonly Rule[] = [
  noHardcodedSecrets,
  noWildcardCors,
  imageDigest,
  gpuResources,
  probes,
  podSecurity,
  networkPolicyCoverage,
  pdbCoverage,
  modelSourcePinned,
  noDownloadAtStart,
  autoscalerMetricExported,
  autoscaledHasPdb,
];

export {
  noHardcodedSecrets,
  noWildcardCors,
  gpuResources,
  imageDigest,
  networkPolicyCoverage,
  pdbCoverage,
  podSecurity,
  probes,
  modelSourcePinned,
  noDownloadAtStart,
  autoscalerMetricExported,
  autoscaledHasPdb,
};

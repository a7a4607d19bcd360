import type * as K from "cdk8s-plus-28";
import { kplus } from "./cdk8s.js";

/**
 * One security posture for every engine and helper container: the restricted Pod Security Standard. The engine
 * images default to root; they run fine as any uid once HOME, /tmp and the caches are writable mounts, which the
 * builders always add.
 */
export const RUN_AS_USER = 1000;

export const POD_SECURITY: K.PodSecurityContextProps = {
  ensureNonRoot: true,
  user: RUN_AS_USER,
  group: RUN_AS_USER,
  fsGroup: RUN_AS_USER,
  // Model volumes hold hundreds of GB; chown them only when the root's group is wrong, not on every start.
  fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
};

export const CONTAINER_SECURITY: K.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  user: RUN_AS_USER,
  group: RUN_AS_USER,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};

/** The same posture as plain JSON, for objects built with cdk8s `ApiObject` (Jobs, StatefulSet). */
export function podSecurityJson(uid: number): Record<string, unknown> {
  return { fsGroup: uid, fsGroupChangePolicy: "OnRootMismatch", runAsGroup: uid, runAsNonRoot: true, runAsUser: uid, seccompProfile: { type: "RuntimeDefault" } };
}

export function containerSecurityJson(uid: number): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: uid,
    runAsNonRoot: true,
    runAsUser: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

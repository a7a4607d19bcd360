import { shown } from "../../display.js";
import { asArray, asRecord, containersOf, isRecord, podTemplate } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";

/**
 * pod-security: non-root, no privilege escalation, not privileged, no host namespaces, and hostPath volumes only
 * when the stack allows them (`allowHostPath`, e.g. a node-local model cache).
 */
export const podSecurity = defineRule({
  id: "pod-security",
  description: "Pods run as non-root without privilege escalation, privileged mode, host namespaces or (unless allowed) hostPath volumes.",
  severity: "high",
  enforcement: { development: "advisory", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Set securityContext runAsNonRoot: true (and a non-zero runAsUser), allowPrivilegeEscalation: false, drop privileged and host namespaces, and use a PVC instead of hostPath.",
  checkObject: (object, context) => {
    const template = podTemplate(object);
    if (!template) return [];
    const findings: Finding[] = [];
    const { spec, specPath } = template;
    for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
      if (spec[field] === true) {
        findings.push({ object, path: [...specPath, field], message: `pod sets ${field}: true, sharing the node's ${field.slice(4)} namespace. Fix: remove ${field} (allowed: false or unset).` });
      }
    }
    if (!context.options.allowHostPath) {
      asArray(spec["volumes"]).forEach((volume, index) => {
        if (!isRecord(volume) || volume["hostPath"] === undefined) return;
        const hostPath = asRecord(volume["hostPath"])?.["path"];
        findings.push({
          object,
          path: [...specPath, "volumes", index, "hostPath"],
          message: `volume ${shown(volume["name"])} mounts hostPath ${shown(hostPath)} from the node. Fix: use a PersistentVolumeClaim or emptyDir, or allow hostPath for this stack (--policy-pack-config pod-security.allowHostPath: true; docs/policies.md).`,
        });
      });
    }
    const podContext = asRecord(spec["securityContext"]);
    for (const ref of containersOf(template)) {
      const sc = asRecord(ref.container["securityContext"]);
      const scPath = [...ref.path, "securityContext"];
      if (sc?.["privileged"] === true) {
        findings.push({ object, path: [...scPath, "privileged"], message: `container ${shown(ref.name)} is privileged (full access to the node). Fix: remove privileged; GPUs are granted by the device plugin through limits nvidia.com/gpu.` });
      }
      if (sc?.["allowPrivilegeEscalation"] !== false) {
        findings.push({
          object,
          path: [...scPath, "allowPrivilegeEscalation"],
          message: `container ${shown(ref.name)} does not set allowPrivilegeEscalation: false (it is ${sc?.["allowPrivilegeEscalation"] === undefined ? "unset, which allows it" : shown(sc["allowPrivilegeEscalation"])}). Fix: set securityContext.allowPrivilegeEscalation: false.`,
        });
      }
      const runAsUser = sc?.["runAsUser"] ?? podContext?.["runAsUser"];
      const runAsNonRoot = sc?.["runAsNonRoot"] ?? podContext?.["runAsNonRoot"];
      if (runAsUser === 0) {
        findings.push({
          object,
          path: sc?.["runAsUser"] !== undefined ? [...scPath, "runAsUser"] : [...specPath, "securityContext", "runAsUser"],
          message: `container ${shown(ref.name)} runs as root (runAsUser: 0). Fix: run as a non-zero UID (e.g. 1000) with runAsNonRoot: true.`,
        });
      } else if (runAsNonRoot !== true && !(typeof runAsUser === "number" && runAsUser > 0)) {
        findings.push({
          object,
          path: [...scPath, "runAsNonRoot"],
          message: `container ${shown(ref.name)} may run as root (neither runAsNonRoot: true nor a non-zero runAsUser, on the container or the pod). Fix: set securityContext.runAsNonRoot: true and runAsUser: <non-zero UID>.`,
        });
      }
    }
    return findings;
  },
});

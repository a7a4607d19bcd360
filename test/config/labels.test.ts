/** Label maps in a stack config (gpu.nodeSelector, router/monitoring podLabels) follow Kubernetes label syntax. */
import { describe, expect, it } from "vitest";
import { problemsOf, stackValues } from "../helpers/stack-values.js";

describe("label maps", () => {
  it("accept real selectors", () => {
    expect(problemsOf(stackValues("staging", { gpu: { nodeSelector: { "nvidia.com/gpu.present": "true", "node.kubernetes.io/instance-type": "g5.12xlarge", pool: "" } } }))).toEqual([]);
  });

  it.each([
    ["a value with a URL in it", { "nvidia.com/gpu.present": "https://x.example/y" }, "gpu.nodeSelector.nvidia.com/gpu.present", "must be a Kubernetes label value"],
    ["a value longer than 63", { tier: "a".repeat(64) }, "gpu.nodeSelector.tier", "at most 63 characters"],
    ["a key with a space", { "gpu present": "true" }, "gpu.nodeSelector.gpu present", "must be a Kubernetes label key"],
    ["a key with an upper-case prefix", { "NVIDIA.com/gpu": "true" }, "gpu.nodeSelector.NVIDIA.com/gpu", "must be a Kubernetes label key"],
  ])("refuse %s, naming the key", (_name, selector, path, message) => {
    const problems = problemsOf(stackValues("staging", { gpu: { nodeSelector: selector } }));
    expect(problems.map((p) => p.path)).toContain(path);
    expect(problems.find((p) => p.path === path)!.message).toContain(message);
  });

  it("never echo a credential put in a label value", () => {
    const problems = problemsOf(stackValues("staging", { router: { podLabels: { app: "postgresql://user:sEcReT-pw-123@db.internal/db" } } }));
    expect(problems.map((p) => p.path)).toEqual(["router.podLabels.app"]);
    expect(JSON.stringify(problems)).not.toContain("sEcReT-pw-123");
  });
});

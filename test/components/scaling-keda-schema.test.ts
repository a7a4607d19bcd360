import { describe, expect, it } from "vitest";
import { autoscalerObjects } from "../../components/scaling/autoscaler.js";
import { parseStackConfig } from "../../config/load.js";
import { KedaValidationError, ScaledObject, scaledObjectErrors, type KedaSchemaError } from "../../synth/schemas/keda.js";
import { stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

/** Given the ScaledObject the builder renders for an autoscaled production model. */
function generated(): Json {
  const autoscaling = { minReplicas: 2, maxReplicas: 4, targetQueueDepth: 4 };
  const config = parseStackConfig(stackValues("production", { models: [vllmModel({ replicas: undefined, autoscaling })] }), "Pulumi.production.yaml", "production");
  const [model] = config.models;
  if (!model) throw new Error("no model");
  return structuredClone(autoscalerObjects(model, config)[0]) as Json;
}

/** The object after `change`, and the problems the validator finds in it. */
function errorsAfter(change: (obj: Json) => void): KedaSchemaError[] {
  const obj = generated();
  change(obj);
  return scaledObjectErrors(obj);
}

describe("ScaledObject validator (KEDA v2.20.2 CRD + @kubernetes-models/keda)", () => {
  it("accepts what the builder renders", () => {
    expect(scaledObjectErrors(generated())).toEqual([]);
    expect(() => new ScaledObject(generated()).validate()).not.toThrow();
  });

  it("throws { errors: [{ instancePath, message }] }, the shape synth/validate.ts reads", () => {
    const obj = generated();
    obj.spec.pollingInterval = 0;
    let thrown: unknown;
    try {
      new ScaledObject(obj).validate();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KedaValidationError);
    expect((thrown as KedaValidationError).errors).toEqual([{ instancePath: "/spec/pollingInterval", message: "must be >= 1" }]);
  });

  // Each row: what the CRD (or KEDA's webhook) refuses that @kubernetes-models/keda 2.0.0 alone lets through.
  it.each<[string, (o: Json) => void, KedaSchemaError]>([
    [
      "an unknown spec key",
      (o) => (o.spec.bogus = 1),
      {
        instancePath: "/spec",
        message:
          'must NOT have additional property "bogus" (allowed: advanced, cooldownPeriod, fallback, idleReplicaCount, initialCooldownPeriod, maxReplicaCount, minReplicaCount, pollingInterval, scaleTargetRef, triggers); the KEDA v2.20 CRD has no such field',
      },
    ],
    [
      "an unknown trigger key",
      (o) => (o.spec.triggers[0].query = "sum(x)"),
      { instancePath: "/spec/triggers/0", message: expect.stringContaining('must NOT have additional property "query"') as unknown as string },
    ],
    [
      "an unknown key in the HPA behavior",
      (o) => (o.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.delay = 5),
      { instancePath: "/spec/advanced/horizontalPodAutoscalerConfig/behavior/scaleDown", message: expect.stringContaining('"delay"') as unknown as string },
    ],
    ["pollingInterval 0", (o) => (o.spec.pollingInterval = 0), { instancePath: "/spec/pollingInterval", message: "must be >= 1" }],
    ["minReplicaCount -1", (o) => (o.spec.minReplicaCount = -1), { instancePath: "/spec/minReplicaCount", message: "must be >= 0" }],
    ["maxReplicaCount 0", (o) => ((o.spec.maxReplicaCount = 0), (o.spec.minReplicaCount = 0)), { instancePath: "/spec/maxReplicaCount", message: "must be >= 1" }],
    ["cooldownPeriod -5", (o) => (o.spec.cooldownPeriod = -5), { instancePath: "/spec/cooldownPeriod", message: "must be >= 0" }],
    [
      "minReplicaCount above maxReplicaCount",
      (o) => ((o.spec.minReplicaCount = 5), (o.spec.maxReplicaCount = 1)),
      { instancePath: "/spec/minReplicaCount", message: "minReplicaCount must be less than or equal to maxReplicaCount (got 5 > 1)" },
    ],
    [
      "minReplicaCount above the default maxReplicaCount",
      (o) => ((o.spec.minReplicaCount = 101), delete o.spec.maxReplicaCount, (o.spec.fallback.replicas = 101)),
      { instancePath: "/spec/minReplicaCount", message: "minReplicaCount must be less than or equal to maxReplicaCount (got 101 > 100, the default)" },
    ],
    ["no triggers", (o) => (o.spec.triggers = []), { instancePath: "/spec/triggers", message: "must NOT have fewer than 1 items" }],
    ["a fallback without replicas", (o) => delete o.spec.fallback.replicas, { instancePath: "/spec/fallback", message: "must have required property 'replicas'" }],
    ["a fallback without failureThreshold", (o) => delete o.spec.fallback.failureThreshold, { instancePath: "/spec/fallback", message: "must have required property 'failureThreshold'" }],
    ["an empty scaleTargetRef name", (o) => (o.spec.scaleTargetRef.name = ""), { instancePath: "/spec/scaleTargetRef/name", message: "must NOT have fewer than 1 characters" }],
    [
      "a fallback with only a cpu trigger (webhook)",
      (o) => (o.spec.triggers = [{ type: "cpu", metricType: "Utilization", metadata: { value: "60" } }]),
      { instancePath: "/spec/fallback", message: "must not be set when every trigger is cpu or memory (KEDA cannot compute a fallback for them)" },
    ],
    ["a top-level unknown key", (o) => (o.extra = true), { instancePath: "", message: expect.stringContaining('"extra"') as unknown as string }],
    ["another apiVersion", (o) => (o.apiVersion = "keda.sh/v1"), { instancePath: "/apiVersion", message: 'must be "keda.sh/v1alpha1"' }],
  ])("rejects %s", (_what, change, expected) => {
    expect(errorsAfter(change)).toContainEqual(expected);
  });

  it("keeps the type checks of @kubernetes-models/keda: a numeric threshold must be a string", () => {
    expect(errorsAfter((o) => (o.spec.triggers[0].metadata.threshold = 4))).toContainEqual({ instancePath: "/spec/triggers/0/metadata/threshold", message: "must be string" });
  });

  it("reports each problem once, even when both validators see it", () => {
    const errors = errorsAfter((o) => (o.spec.triggers[0].metadata.threshold = 4));
    expect(errors.filter((e) => e.instancePath === "/spec/triggers/0/metadata/threshold")).toHaveLength(1);
  });

  it("collects every problem, not only the first", () => {
    const errors = errorsAfter((o) => ((o.spec.pollingInterval = 0), (o.spec.triggers[0].bogus = 1), delete o.spec.fallback.replicas));
    expect(errors.map((e) => e.instancePath)).toEqual(expect.arrayContaining(["/spec/pollingInterval", "/spec/triggers/0", "/spec/fallback"]));
  });

  it("accepts every fallback behavior of KEDA 2.17–2.19; scalingModifiers (2.20 only) is refused by the 2.19 types", () => {
    for (const behavior of ["static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"]) {
      expect(errorsAfter((o) => (o.spec.fallback.behavior = behavior))).toEqual([]);
    }
    expect(errorsAfter((o) => (o.spec.fallback.behavior = "scalingModifiers")).map((e) => e.instancePath)).toEqual(["/spec/fallback/behavior"]);
  });
});

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { autoscalerObjects, externalMetricName, queueDepthQuery } from "../../components/scaling/autoscaler.js";
import { engineDrain, ENDPOINT_PROPAGATION_SECONDS, STREAM_ALLOWANCE_SECONDS } from "../../components/scaling/drain.js";
import { contractForBuild, LLAMACPP_B11206, VLLM_V0_10_2, VLLM_V0_11_0 } from "../../config/engines/index.js";
import { parseStackConfig } from "../../config/load.js";
import type { ResolvedModel, StackConfig } from "../../config/types.js";
import { metricNamesIn } from "../../policies/engine-contracts.js";
import { ScaledObject } from "../../synth/schemas/keda.js";
import { llamaModel, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

const AUTOSCALING = { minReplicas: 2, maxReplicas: 5, targetQueueDepth: 4 };

/** Given a stack whose two models (vLLM, llama.cpp) are autoscaled, with `overrides` on the stack. */
function autoscaledStack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}, autoscaling: Record<string, unknown> = AUTOSCALING): StackConfig {
  const models = [vllmModel({ replicas: undefined, autoscaling }), llamaModel({ replicas: undefined, autoscaling })];
  return parseStackConfig(stackValues(env, { models, ...overrides }), `Pulumi.${env}.yaml`, env);
}

function model(config: StackConfig, engine: ResolvedModel["engine"]): ResolvedModel {
  const found = config.models.find((m) => m.engine === engine);
  if (!found) throw new Error(`no ${engine} model`);
  return found;
}

const ENGINES = ["vllm", "llamacpp"] as const;

describe("autoscalerObjects: KEDA (default)", () => {
  const config = autoscaledStack("production");

  it.each(ENGINES)("default: one ScaledObject per autoscaled %s model, valid against the KEDA v2.20 CRD", (engine) => {
    const objects = autoscalerObjects(model(config, engine), config);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      `keda.sh/v1alpha1 ScaledObject llm-production/${model(config, engine).serviceName}`,
    ]);
    expect(() => new ScaledObject(objects[0]).validate()).not.toThrow();
  });

  it.each(ENGINES)("%s: targets the Deployment within the model's bounds, with fallback and scale-down delay", (engine) => {
    const m = model(config, engine);
    const spec = (autoscalerObjects(m, config)[0] as Json).spec;
    expect(spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: m.serviceName });
    expect([spec.minReplicaCount, spec.maxReplicaCount, spec.pollingInterval]).toEqual([2, 5, 15]);
    expect(spec.fallback).toEqual({ failureThreshold: 3, replicas: 2, behavior: "currentReplicasIfHigher" });
    expect(spec.cooldownPeriod).toBeUndefined();
    const behavior = spec.advanced.horizontalPodAutoscalerConfig.behavior;
    expect(behavior.scaleDown.stabilizationWindowSeconds).toBe(600);
    // One pod per drain: the scale-down period is the pod's termination grace period.
    expect(behavior.scaleDown.policies).toEqual([{ type: "Pods", value: 1, periodSeconds: engineDrain(m, config).terminationGracePeriodSeconds }]);
    expect(behavior.scaleUp.stabilizationWindowSeconds).toBe(0);
  });

  it.each(ENGINES)("%s: the trigger reads the contract's queue metric for exactly this model's pods", (engine) => {
    const m = model(config, engine);
    const contract = contractForBuild(engine, config.images[engine]);
    const [trigger] = (autoscalerObjects(m, config)[0] as Json).spec.triggers;
    expect(trigger.type).toBe("prometheus");
    expect(trigger.metricType).toBe("AverageValue");
    expect(trigger.metadata).toEqual({
      serverAddress: "http://prometheus-operated.monitoring.svc:9090",
      query: `sum(${contract.queueMetric}{namespace="llm-production",service="${m.serviceName}"})`,
      threshold: "4",
      ignoreNullValues: "false",
    });
    expect(metricNamesIn(trigger.metadata.query)).toEqual([contract.queueMetric]);
    expect(contract.metrics.names).toContain(contract.queueMetric);
  });

  it("the queue metric names are the contracts' (vLLM waiting requests, llama.cpp deferred tasks)", () => {
    const queries = ENGINES.map((engine) => (autoscalerObjects(model(config, engine), config)[0] as Json).spec.triggers[0].metadata.query);
    expect(queries.map(metricNamesIn)).toEqual([[VLLM_V0_11_0.queueMetric], [LLAMACPP_B11206.queueMetric]]);
    expect([VLLM_V0_11_0.queueMetric, LLAMACPP_B11206.queueMetric]).toEqual(["vllm:num_requests_waiting", "llamacpp:requests_deferred"]);
  });

  it("can configure the Prometheus URL, the target and the scale-down delay", () => {
    const custom = autoscaledStack(
      "production",
      { scaling: { prometheusUrl: "http://prom.observability.svc:9090" } },
      { ...AUTOSCALING, targetQueueDepth: 2.5, scaleDownDelaySeconds: 900 },
    );
    const spec = (autoscalerObjects(model(custom, "vllm"), custom)[0] as Json).spec;
    expect(spec.triggers[0].metadata.serverAddress).toBe("http://prom.observability.svc:9090");
    expect(spec.triggers[0].metadata.threshold).toBe("2.5");
    expect(spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBe(900);
  });

  it("a model with fixed replicas gets no autoscaler", () => {
    const fixed = parseStackConfig(stackValues("production"), "Pulumi.production.yaml", "production");
    expect(fixed.models.every((m) => m.autoscaling === undefined)).toBe(true);
    expect(fixed.models.flatMap((m) => autoscalerObjects(m, fixed))).toEqual([]);
  });

  it("is deterministic: the same config gives the same bytes", () => {
    const again = autoscaledStack("production");
    for (const engine of ENGINES) {
      expect(JSON.stringify(autoscalerObjects(model(again, engine), again))).toBe(JSON.stringify(autoscalerObjects(model(config, engine), config)));
    }
  });
});

describe("autoscalerObjects: HPA on an external metric (scaling.autoscaler: hpa)", () => {
  const config = autoscaledStack("staging", { scaling: { autoscaler: "hpa" } });

  it.each(ENGINES)("%s: an autoscaling/v2 HPA valid against Kubernetes' schema", (engine) => {
    const objects = autoscalerObjects(model(config, engine), config);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual(["autoscaling/v2 HorizontalPodAutoscaler"]);
    expect(() => new HorizontalPodAutoscaler(objects[0] as never).validate()).not.toThrow();
  });

  it.each(ENGINES)("%s: external metric named from the contract, selected by service, same bounds and behaviour as KEDA's", (engine) => {
    const m = model(config, engine);
    const contract = contractForBuild(engine, config.images[engine]);
    const spec = (autoscalerObjects(m, config)[0] as Json).spec;
    expect(spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: m.serviceName });
    expect([spec.minReplicas, spec.maxReplicas]).toEqual([2, 5]);
    expect(spec.metrics).toEqual([
      {
        type: "External",
        external: {
          metric: { name: contract.queueMetric.replace(":", "_"), selector: { matchLabels: { service: m.serviceName } } },
          target: { type: "AverageValue", averageValue: "4" },
        },
      },
    ]);
    const keda = autoscalerObjects(m, { ...config, scaling: { ...config.scaling, autoscaler: "keda" } })[0] as Json;
    expect(spec.behavior).toEqual(keda.spec.advanced.horizontalPodAutoscalerConfig.behavior);
  });

  it("names the external metrics vllm_num_requests_waiting and llamacpp_requests_deferred", () => {
    expect([externalMetricName(VLLM_V0_10_2), externalMetricName(LLAMACPP_B11206)]).toEqual(["vllm_num_requests_waiting", "llamacpp_requests_deferred"]);
  });
});

describe("engineDrain", () => {
  it.each(ENGINES)("%s does not drain on SIGTERM, so the preStop covers endpoint propagation and the longest stream", (engine) => {
    const config = autoscaledStack("production", { kubernetesVersion: "1.31" });
    const contract = contractForBuild(engine, config.images[engine]);
    expect(contract.shutdown.drainsInFlight).toBe(false);
    const drain = engineDrain(model(config, engine), config);
    expect(drain.preStopSeconds).toBe(ENDPOINT_PROPAGATION_SECONDS + STREAM_ALLOWANCE_SECONDS);
    expect(drain.preStop).toEqual({ sleep: { seconds: 135 } });
    expect(drain.engineDrainSeconds).toBe(0);
    expect(drain.terminationGracePeriodSeconds).toBe(135 + contract.shutdown.exitSeconds);
  });

  it("drain numbers: vLLM 135 s preStop, 150 s grace; llama.cpp 135 s preStop, 145 s grace", () => {
    const config = autoscaledStack("production", { kubernetesVersion: "1.30" });
    expect(ENGINES.map((e) => [engineDrain(model(config, e), config).preStopSeconds, engineDrain(model(config, e), config).terminationGracePeriodSeconds])).toEqual([
      [135, 150],
      [135, 145],
    ]);
  });

  it.each([
    ["1.28", { exec: { command: ["sleep", "135"] } }],
    ["1.29", { exec: { command: ["sleep", "135"] } }],
    ["1.30", { sleep: { seconds: 135 } }],
    ["1.35", { sleep: { seconds: 135 } }],
  ])("Kubernetes %s: preStop %j", (version, preStop) => {
    const config = autoscaledStack("development", { kubernetesVersion: version });
    expect(engineDrain(model(config, "vllm"), config).preStop).toEqual(preStop);
  });

  it("default Kubernetes version (1.28): exec sleep, which needs no feature gate", () => {
    const config = autoscaledStack("development");
    expect(config.kubernetesVersion.minor).toBe(28);
    expect(engineDrain(model(config, "llamacpp"), config).preStop).toEqual({ exec: { command: ["sleep", "135"] } });
  });

  it.each(["1.28", "1.31"])("Kubernetes %s: the hook and grace period are a valid pod spec, the wait shorter than the grace period", (version) => {
    const config = autoscaledStack("production", { kubernetesVersion: version });
    for (const engine of ENGINES) {
      const drain = engineDrain(model(config, engine), config);
      expect(drain.preStopSeconds).toBeLessThan(drain.terminationGracePeriodSeconds);
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "drain" },
        spec: {
          selector: { matchLabels: { app: "drain" } },
          template: {
            metadata: { labels: { app: "drain" } },
            spec: {
              terminationGracePeriodSeconds: drain.terminationGracePeriodSeconds,
              containers: [{ name: "engine", image: "engine:1", lifecycle: { preStop: drain.preStop } }],
            },
          },
        },
      };
      expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    }
  });
});

/** promtool from the Debian package `prometheus`; its absence fails the test rather than skipping it. */
function promtool(args: string[], cwd: string): string {
  try {
    return execFileSync("promtool", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("promtool is not installed; install it with: apt-get install -y prometheus");
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

describe("trigger PromQL, checked by Prometheus' own parser and evaluator (promtool)", () => {
  const dir = mkdtempSync(join(tmpdir(), "modelfleet-promql-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configs = [autoscaledStack("development"), autoscaledStack("staging"), autoscaledStack("production", { namespace: "inference-prod" })];
  const queries = configs.flatMap((config) =>
    config.models.map((m) => ({ engine: m.engine, namespace: config.namespace, service: m.serviceName, query: (autoscalerObjects(m, config)[0] as Json).spec.triggers[0].metadata.query as string })),
  );

  it("every generated trigger query parses (promtool check rules)", () => {
    expect(queries).toHaveLength(6);
    const file = join(dir, "queries.rules.yml");
    writeFileSync(file, stringify({ groups: [{ name: "triggers", rules: queries.map((q, i) => ({ record: `modelfleet:trigger_${i}`, expr: q.query })) }] }));
    expect(promtool(["check", "rules", file], dir)).toContain("SUCCESS: 6 rules found");
  });

  it("a query that does not parse is caught (the check can fail)", () => {
    const file = join(dir, "broken.rules.yml");
    writeFileSync(file, stringify({ groups: [{ name: "broken", rules: [{ record: "x", expr: "sum(vllm:num_requests_waiting{namespace=)" }] }] }));
    expect(() => promtool(["check", "rules", file], dir)).toThrow(/failed/);
  });

  it.each(ENGINES)("%s: the query sums this model's pods only (other services and namespaces excluded)", (engine) => {
    const q = queries.find((x) => x.engine === engine && x.namespace === "llm-staging");
    if (!q) throw new Error("no query");
    const metric = contractForBuild(engine, configs[1]!.images[engine]).queueMetric;
    const series = (labels: Record<string, string>, value: number) => ({
      series: `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
      values: `${value}x10`,
    });
    const rules = join(dir, `${engine}.rules.yml`);
    writeFileSync(rules, stringify({ groups: [{ name: "trigger", rules: [{ record: "modelfleet:queue", expr: q.query }] }] }));
    const tests = join(dir, `${engine}.test.yml`);
    writeFileSync(
      tests,
      stringify({
        rule_files: [rules],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: [
              series({ namespace: q.namespace, service: q.service, pod: `${q.service}-a` }, 3),
              series({ namespace: q.namespace, service: q.service, pod: `${q.service}-b` }, 5),
              series({ namespace: q.namespace, service: "other-staging", pod: "other-a" }, 9),
              series({ namespace: "elsewhere", service: q.service, pod: `${q.service}-c` }, 11),
            ],
            promql_expr_test: [{ expr: q.query, eval_time: "5m", exp_samples: [{ labels: "{}", value: 8 }] }],
          },
        ],
      }),
    );
    expect(promtool(["test", "rules", tests], dir)).toContain("SUCCESS");
  });

  it("queueDepthQuery quotes label values as PromQL strings", () => {
    expect(queueDepthQuery({ serviceName: 'a"b' }, { namespace: "ns" }, VLLM_V0_11_0)).toBe('sum(vllm:num_requests_waiting{namespace="ns",service="a\\"b"})');
  });
});

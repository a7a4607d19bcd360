import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reconcile } from "../../registry/reconcile.js";
import { loadStackFile, readStackValues } from "../../config/load.js";
import { PROMOTABLE_MODEL_KEYS, PROMOTABLE_STACK_KEYS } from "../../promote/promotable.js";
import { affectedModels, promote, PromoteError } from "../../promote/promote.js";
import { diffStacks } from "../../promote/diff.js";
import { useRegistryDatabase } from "../registry/support.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { promoteCli } from "./support.js";

const tempDir = useTempDirs();

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "promote");
const V011 = "vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c";

function workspace(production = join(FIXTURES, "Pulumi.production.yaml")): { dir: string; production: () => string } {
  const dir = tempDir("modelfleet-promote-");
  copyFileSync(join(FIXTURES, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
  copyFileSync(production, join(dir, "Pulumi.production.yaml"));
  return { dir, production: () => readFileSync(join(dir, "Pulumi.production.yaml"), "utf8") };
}

/** Lines only in `before` and lines only in `after`, in order: what a reviewer sees in git diff. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  return { removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
}

const cli = promoteCli;

const valuesOf = (text: string) => readStackValues(text, "Pulumi.production.yaml") as Record<string, any>;

describe("the promotable split comes from the schema", () => {
  it("image pins, and per model: engine, source, size, GPUs, autoscaling bounds, served name and engine settings", () => {
    expect(PROMOTABLE_STACK_KEYS).toEqual(["images"]);
    expect(PROMOTABLE_MODEL_KEYS).toEqual(["engine", "source", "sizeBillions", "gpus", "autoscaling", "servedModelName", "vllm", "llamacpp"]);
  });
});

describe("promote staging → production", () => {
  it("a dry run prints the diff and writes nothing", async () => {
    const ws = workspace();
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir });
    expect(result.written).toBe(false);
    expect(ws.production()).toBe(before);
    expect(result.changes.map((c) => (c.kind === "set" ? `${c.model ?? ""}:${c.key}` : `${c.kind}:${c.model}`))).toEqual([
      ":images.vllm",
      "qwen3-8b:source",
      "qwen3-8b:vllm",
      "add-model:qwen3-small-gguf",
      "remove-model:retired-model",
    ]);
  });

  it("--write changes exactly the promotable keys and keeps comments and order", async () => {
    const ws = workspace();
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(result.written).toBe(true);
    const after = ws.production();
    const old = valuesOf(before);
    const now = valuesOf(after);
    // Environment-specific keys are untouched.
    for (const key of ["environment", "namespace", "cors"]) expect(now[key]).toEqual(old[key]);
    expect(now["models"][0].replicas).toBe(3);
    expect(now["models"][0].resources).toEqual({ memoryGiB: 40 });
    // Promotable keys now equal staging's.
    const staging = valuesOf(readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8"));
    expect(now["images"]).toEqual(staging["images"]);
    expect(now["models"][0].source).toEqual(staging["models"][0].source);
    expect(now["models"][0].vllm).toEqual(staging["models"][0].vllm);
    expect(now["models"].map((m: any) => m.name)).toEqual(["qwen3-8b", "qwen3-small-gguf"]);
    // Comments and key order survive.
    for (const comment of ["# Production. Change pins only", "# the namespace is production's own", "# The main model: three replicas in production."]) expect(after).toContain(comment);
    const order = (text: string) => [...text.matchAll(/^ {2}(modelfleet:\w+):/gm)].map((m) => m[1]);
    expect(order(after)).toEqual(order(before));
    expect(after).toContain(`vllm: ${V011}`);
    // The written file validates (production defaults fill in the added model's replicas).
    const config = loadStackFile(join(ws.dir, "Pulumi.production.yaml"));
    expect(config.models.find((m) => m.name === "qwen3-small-gguf")?.replicas).toBe(2);
  });

  it("a second promote is a no-op", async () => {
    const ws = workspace();
    await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    const once = ws.production();
    const again = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(again.changes).toEqual([]);
    expect(again.written).toBe(false);
    expect(ws.production()).toBe(once);
  });

  it("--only limits the change to the named models and leaves image pins alone", async () => {
    const ws = workspace();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true, only: ["qwen3-8b"] });
    expect(result.models).toEqual(["qwen3-8b"]);
    const now = valuesOf(ws.production());
    expect(now["images"].vllm).toContain("v0.10.2");
    expect(now["models"].map((m: any) => m.name)).toEqual(["qwen3-8b", "retired-model"]);
    expect(now["models"][0].vllm.maxModelLen).toBe(32768);
  });
});

describe("refusals leave the target byte-identical", () => {
  const refuse = async (prepare: (dir: string) => void, options: { from?: string; to?: string } = {}) => {
    const ws = workspace();
    prepare(ws.dir);
    const before = ws.production();
    const error = await promote({ from: options.from ?? "staging", to: options.to ?? "production", dir: ws.dir, write: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromoteError);
    expect(ws.production()).toBe(before);
    return error as PromoteError;
  };

  it("unknown source stack", async () => {
    const error = await refuse(() => undefined, { from: "qa" });
    expect(error.kind).toBe("input");
    expect(error.message).toMatch(/unknown stack "qa": .*Pulumi\.qa\.yaml does not exist/);
  });

  it("target file with a syntax error", async () => {
    const ws = workspace();
    writeFileSync(join(ws.dir, "Pulumi.production.yaml"), "config:\n  modelfleet:environment: production\n  bad: [unclosed\n");
    const before = ws.production();
    const error = (await promote({ from: "staging", to: "production", dir: ws.dir, write: true }).catch((e: unknown) => e)) as PromoteError;
    expect(error.kind).toBe("input");
    expect(error.message).toMatch(/Pulumi\.production\.yaml: not valid YAML at line \d/);
    expect(ws.production()).toBe(before);
  });

  it("a source stack with validation errors", async () => {
    const error = await refuse((dir) => {
      const file = join(dir, "Pulumi.staging.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("https://chat.staging.example.com", '"*"'));
    });
    expect(error.kind).toBe("refused");
    expect(error.message).toContain("the source stack does not validate");
    expect(error.message).toContain("cors.allowedOrigins[0]: wildcard origin");
  });

  it("a tag-only image into production", async () => {
    const error = await refuse((dir) => {
      const file = join(dir, "Pulumi.development.yaml");
      writeFileSync(
        file,
        readFileSync(join(dir, "Pulumi.staging.yaml"), "utf8")
          .replace("environment: staging", "environment: development")
          .replace(V011, "vllm/vllm-openai:v0.11.0"),
      );
    }, { from: "development" });
    expect(error.message).toContain("production needs digest-pinned images, and the source pins by tag only: images.vllm = vllm/vllm-openai:v0.11.0");
  });

  it("a result that would not validate (tensor parallel no longer matches production's GPUs)", async () => {
    const error = await refuse((dir) => {
      const file = join(dir, "Pulumi.staging.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("name: qwen3-8b\n      engine: vllm", "name: qwen3-8b\n      engine: vllm").replace("gpuMemoryUtilization: 0.92", "gpuMemoryUtilization: 0.92\n        tensorParallelSize: 1"));
      const prod = join(dir, "Pulumi.production.yaml");
      // Production runs a different key layout that makes the promoted model invalid: a plaintext secret.
      writeFileSync(prod, `${readFileSync(prod, "utf8")}  modelfleet:apiKey: plaintext-key-123\n`);
    });
    expect(error.message).toContain("would not validate");
    expect(error.message).not.toContain("plaintext-key-123");
  });
});

describe("--require-ready against a real registry", () => {
  const ctx = useRegistryDatabase();
  const stagingConfig = () => loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));
  const entry = (model: string, digest: string) => ({
    modelName: model,
    engine: model === "qwen3-8b" ? ("vllm" as const) : ("llamacpp" as const),
    servedModelName: model,
    imageDigest: digest,
    endpoint: `${model}-staging.llm-staging.svc.cluster.local:8000`,
    namespace: "llm-staging",
  });

  it("passes when every promoted model is ready, fresh and on the pinned digest; refuses stale and mismatched ones", async () => {
    const { db, client } = await ctx.migratedDb();
    const config = stagingConfig();
    const vllmDigest = config.images.vllm.digest!;
    const llamaDigest = config.images.llamacpp.digest!;
    await reconcile(client, [entry("qwen3-8b", vllmDigest), entry("qwen3-small-gguf", llamaDigest)], "staging");

    const run = async () => {
      const ws = workspace();
      const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-ready"], { MODELFLEET_DB_URL: db.url });
      return { ...out, before: readFileSync(join(FIXTURES, "Pulumi.production.yaml"), "utf8"), after: ws.production() };
    };

    const ok = await run();
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.after).not.toBe(ok.before);

    await client.query("UPDATE model_registry_entries SET last_health_check_at = now() - interval '10 minutes' WHERE model_name = 'qwen3-small-gguf'");
    const stale = await run();
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("qwen3-small-gguf: last health check in staging is older than 30s");
    expect(stale.after).toBe(stale.before);

    await client.query("UPDATE model_registry_entries SET last_health_check_at = now(), image_digest = $1 WHERE model_name = 'qwen3-8b'", [`sha256:${"e".repeat(64)}`]);
    const mismatched = await run();
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toContain(`qwen3-8b: staging runs sha256:${"e".repeat(64)}, the stack pins ${vllmDigest}`);
    expect(mismatched.stderr).not.toContain(db.url);
    expect(mismatched.after).toBe(mismatched.before);
  });
});

describe("exactly the promotable keys change", () => {
  it("every promotable key equals the source's; every other key, top-level or per model, is as it was", async () => {
    const ws = workspace();
    const before = valuesOf(ws.production());
    await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    const after = valuesOf(ws.production());
    const staging = valuesOf(readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8"));
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (key === "models") continue;
      expect(after[key], key).toEqual(PROMOTABLE_STACK_KEYS.includes(key) ? staging[key] : before[key]);
    }
    for (const model of after["models"] as Record<string, unknown>[]) {
      const from = (staging["models"] as Record<string, unknown>[]).find((m) => m["name"] === model["name"])!;
      const was = (before["models"] as Record<string, unknown>[]).find((m) => m["name"] === model["name"]) ?? { name: model["name"] };
      for (const key of new Set([...Object.keys(model), ...Object.keys(from), ...Object.keys(was)])) {
        expect(model[key], `${String(model["name"])}.${key}`).toEqual(key === "name" || PROMOTABLE_MODEL_KEYS.includes(key) ? from[key] : was[key]);
      }
    }
  });

  it("the written file differs only on the changed lines; comments on them stay", async () => {
    const ws = workspace();
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(result.formatting).toBe("kept");
    const { removed, added } = lineDiff(before, ws.production());
    expect(removed).toEqual([
      "    vllm: vllm/vllm-openai:v0.10.2@sha256:607442e407b0fea97f8a132a78b787c121a996dd4de181fa08e8da06e71ec2db # previous release",
      "        revision: 9c925d64d72725edaf899c6cb9c377fd0709d9c5",
      "        maxModelLen: 16384 # raised in staging first",
      "        gpuMemoryUtilization: 0.9",
      "    - name: retired-model",
      "        huggingFace: Qwen/Qwen2.5-7B-Instruct",
      "        revision: a09a35458c702b33eeacc393d103063234e8bc28",
      "      sizeBillions: 7.6",
      "      replicas: 2",
    ]);
    expect(added).toEqual([
      `    vllm: ${V011} # previous release`,
      "        revision: b968826d9c46dd6066d109eabc6255188de91218",
      "        maxModelLen: 32768 # raised in staging first",
      "        gpuMemoryUtilization: 0.92",
      "    - name: qwen3-small-gguf",
      "      engine: llamacpp",
      "        huggingFace: Qwen/Qwen3-0.6B-GGUF",
      "        revision: 23749fefcc72300e3a2ad315e1317431b06b590a",
      "        file: Qwen3-0.6B-Q8_0.gguf",
      "      sizeBillions: 0.6",
      "      llamacpp:",
      "        ctxSize: 8192",
    ]);
  });

  it("a hand-formatted target keeps its layout: only changed lines move, flow maps stay flow, quotes stay quotes", async () => {
    const ws = workspace(join(FIXTURES, "styled", "Pulumi.production.yaml"));
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(result.formatting).toBe("kept");
    const after = ws.production();
    const { removed, added } = lineDiff(before, after);
    expect(removed).toEqual([
      '    vllm: "vllm/vllm-openai:v0.10.2@sha256:607442e407b0fea97f8a132a78b787c121a996dd4de181fa08e8da06e71ec2db"',
      "    source: {huggingFace: Qwen/Qwen3-8B, revision: 9c925d64d72725edaf899c6cb9c377fd0709d9c5}",
      "      maxModelLen: 16384        # raised in staging first",
      "      gpuMemoryUtilization: 0.9",
      "  # Retired once staging dropped it.",
      "  - name: retired-model",
      "      huggingFace: Qwen/Qwen2.5-7B-Instruct",
      "      revision: a09a35458c702b33eeacc393d103063234e8bc28",
      "    sizeBillions: 7.6",
    ]);
    expect(added).toEqual([
      `    vllm: "${V011}"`,
      "    source: { huggingFace: Qwen/Qwen3-8B, revision: b968826d9c46dd6066d109eabc6255188de91218 }",
      "      maxModelLen: 32768        # raised in staging first",
      "      gpuMemoryUtilization: 0.92",
      "  - name: qwen3-small-gguf",
      "    engine: llamacpp",
      "      huggingFace: Qwen/Qwen3-0.6B-GGUF",
      "      revision: 23749fefcc72300e3a2ad315e1317431b06b590a",
      "      file: Qwen3-0.6B-Q8_0.gguf",
      "    sizeBillions: 0.6",
      "    llamacpp:",
      "      ctxSize: 8192",
    ]);
    expect(loadStackFile(join(ws.dir, "Pulumi.production.yaml")).models.map((m) => [m.name, m.replicas])).toEqual([
      ["qwen3-8b", 3],
      ["qwen3-small-gguf", 2],
    ]);
    // A second run finds nothing, and leaves the bytes alone.
    expect((await promote({ from: "staging", to: "production", dir: ws.dir, write: true })).changes).toEqual([]);
    expect(ws.production()).toBe(after);
  });

  it("the written file keeps its mode, and no temporary file is left beside it", async () => {
    const ws = workspace();
    chmodSync(join(ws.dir, "Pulumi.production.yaml"), 0o640);
    await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(statSync(join(ws.dir, "Pulumi.production.yaml")).mode & 0o777).toBe(0o640);
    expect(readdirSync(ws.dir).sort()).toEqual(["Pulumi.production.yaml", "Pulumi.staging.yaml"]);
  });

  it("a key the source leaves out is removed from the target (it falls back to the profile default)", async () => {
    const ws = workspace();
    const file = join(ws.dir, "Pulumi.staging.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("        gpuMemoryUtilization: 0.92\n", ""));
    await promote({ from: "staging", to: "production", dir: ws.dir, write: true, only: ["qwen3-8b"] });
    expect(valuesOf(ws.production())["models"][0].vllm).toEqual({ maxModelLen: 32768 });
    expect(ws.production()).toContain("        maxModelLen: 32768 # raised in staging first\n    - name: retired-model\n");
  });
});

describe("which models a promotion affects (what --require-ready checks)", () => {
  const staging = () => loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));

  it("models with changed keys, added models, and every model on a re-pinned engine image; not removed ones", () => {
    const source = staging();
    const values = (file: string) => readStackValues(readFileSync(join(FIXTURES, file), "utf8"), file);
    const changes = diffStacks(values("Pulumi.staging.yaml"), values("Pulumi.production.yaml"));
    expect(affectedModels(changes, source)).toEqual(["qwen3-8b", "qwen3-small-gguf"]);
    // Only the llama.cpp image moves: the llama.cpp model is affected though none of its own keys changed.
    expect(affectedModels([{ kind: "set", path: ["modelfleet:images", "llamacpp"], key: "images.llamacpp", from: "a", to: "b" }], source)).toEqual(["qwen3-small-gguf"]);
    expect(affectedModels([{ kind: "set", path: ["modelfleet:images", "postgres"], key: "images.postgres", from: "a", to: "b" }], source)).toEqual([]);
  });
});

describe("more refusals, each leaving the target byte-identical", () => {
  it.each([
    ["a name that is not a stack", { from: "../staging" }, /stack name "\.\.\/staging" looks like a path/],
    ["the same stack twice", { from: "production" }, /--from and --to both name Pulumi\.production\.yaml/],
    ["--only naming no model of either stack", { only: ["nope"] }, /--only names models in neither stack: nope/],
  ] as const)("%s", async (_, options, message) => {
    const ws = workspace();
    const before = ws.production();
    const error = (await promote({ from: "staging", to: "production", dir: ws.dir, write: true, ...options }).catch((e: unknown) => e)) as PromoteError;
    expect(error).toBeInstanceOf(PromoteError);
    expect(error.kind).toBe("input");
    expect(error.message).toMatch(message);
    expect(ws.production()).toBe(before);
  });

  it("a missing target file: input error, and no file is created", async () => {
    const ws = workspace();
    const error = (await promote({ from: "staging", to: "qa", dir: ws.dir, write: true }).catch((e: unknown) => e)) as PromoteError;
    expect(error.kind).toBe("input");
    expect(error.message).toMatch(/unknown stack "qa": .*Pulumi\.qa\.yaml does not exist/);
    expect(existsSync(join(ws.dir, "Pulumi.qa.yaml"))).toBe(false);
  });

  it("a target file without config: is an input error naming the key", async () => {
    const ws = workspace();
    writeFileSync(join(ws.dir, "Pulumi.production.yaml"), "# emptied by mistake\n");
    const error = (await promote({ from: "staging", to: "production", dir: ws.dir, write: true }).catch((e: unknown) => e)) as PromoteError;
    expect(error.kind).toBe("input");
    expect(error.message).toContain("Pulumi.production.yaml: config: missing");
    expect(ws.production()).toBe("# emptied by mistake\n");
  });

  it("a tag-only image into staging", async () => {
    const ws = workspace();
    const development = readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8").replace("environment: staging", "environment: development").replace(V011, "vllm/vllm-openai:v0.11.0");
    writeFileSync(join(ws.dir, "Pulumi.development.yaml"), development);
    const staging = readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8");
    const error = (await promote({ from: "development", to: "staging", dir: ws.dir, write: true }).catch((e: unknown) => e)) as PromoteError;
    expect(error.kind).toBe("refused");
    expect(error.message).toBe("staging needs digest-pinned images, and the source pins by tag only: images.vllm = vllm/vllm-openai:v0.11.0. Pin them by digest in Pulumi.development.yaml first (modelfleet pins resolve).");
    expect(readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8")).toBe(staging);
  });

  it("a branch revision from development into production: the promoted file would not validate", async () => {
    const ws = workspace();
    const development = readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8").replace("environment: staging", "environment: development").replace("revision: b968826d9c46dd6066d109eabc6255188de91218", "revision: main").replace("config:\n", "config:\n  modelfleet:modelStore:\n    mode: \"off\"\n");
    writeFileSync(join(ws.dir, "Pulumi.development.yaml"), development);
    const before = ws.production();
    const error = (await promote({ from: "development", to: "production", dir: ws.dir, write: true }).catch((e: unknown) => e)) as PromoteError;
    expect(error.kind).toBe("refused");
    expect(error.message).toContain("the promoted Pulumi.production.yaml would not validate, so nothing was written");
    expect(error.message).toContain("models[0].source.revision");
    expect(ws.production()).toBe(before);
  });
});

describe("temporary folders", () => {
  it("promote leaves nothing in the temp folder, whether it writes or a check after the policy check refuses", async () => {
    // Given two workspaces, then a private temp folder (os.tmpdir() follows TMPDIR) while promote runs
    const written = workspace();
    const gated = workspace();
    const tmp = tempDir("modelfleet-promote-tmp-");
    const saved = process.env["TMPDIR"];
    process.env["TMPDIR"] = tmp;
    let refusal: unknown;
    try {
      // When one promotion writes and the other passes the policies, then is refused by its gate
      expect((await promote({ from: "staging", to: "production", dir: written.dir, write: true })).written).toBe(true);
      refusal = await promote({ from: "staging", to: "production", dir: gated.dir, write: true, gate: async () => ["qwen3-8b: not ready"] }).catch((e: unknown) => e);
    } finally {
      if (saved === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = saved;
    }
    // Then both went through the policy check and neither left its folder behind
    expect(refusal).toBeInstanceOf(PromoteError);
    expect((refusal as PromoteError).message).toContain("not proven in staging");
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe("the CLI", () => {
  it("--json prints the diff for machines and writes nothing", async () => {
    const ws = workspace();
    const before = ws.production();
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--json"]);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({ from: "staging", to: "production", written: false, formatting: "kept", models: ["qwen3-8b", "qwen3-small-gguf", "retired-model"], affected: ["qwen3-8b", "qwen3-small-gguf"] });
    expect(report.changes.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual(["set images.vllm", "set models[qwen3-8b].source", "set models[qwen3-8b].vllm", "add-model models[qwen3-small-gguf]", "remove-model models[retired-model]"]);
    expect(ws.production()).toBe(before);
  });

  it("human output: one line per change, then how to apply", async () => {
    const ws = workspace();
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--only", "qwen3-8b"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(
      [
        "staging → production: 2 change(s) to promotable keys:",
        '  ~ models[qwen3-8b].source: {"huggingFace":"Qwen/Qwen3-8B","revision":"9c925d64d72725edaf899c6cb9c377fd0709d9c5"} → {"huggingFace":"Qwen/Qwen3-8B","revision":"b968826d9c46dd6066d109eabc6255188de91218"}',
        '  ~ models[qwen3-8b].vllm: {"maxModelLen":16384,"gpuMemoryUtilization":0.9} → {"maxModelLen":32768,"gpuMemoryUtilization":0.92}',
        "Nothing written (dry run); add --write to apply.",
        "",
      ].join("\n"),
    );
  });

  it.each([
    ["unknown stack: exit 2", ["--from", "qa", "--to", "production"], {}, 2, /^error: unknown stack "qa"/],
    ["--require-ready without a database URL: exit 2", ["--from", "staging", "--to", "production", "--require-ready"], {}, 2, /^error: no database URL: pass --db-url <url> or set MODELFLEET_DB_URL/],
    ["a bad --stale-after: exit 2", ["--from", "staging", "--to", "production", "--stale-after", "soon"], {}, 2, /^error: --stale-after "soon": a whole number of seconds from 1 to 86400/],
    ["a refusal: exit 1", ["--from", "staging", "--to", "production", "--only", "qwen3-8b"], { corrupt: true }, 1, /^error: the source stack does not validate/],
  ] as const)("%s", async (_, args, setup, code, message) => {
    const ws = workspace();
    if ("corrupt" in setup) writeFileSync(join(ws.dir, "Pulumi.staging.yaml"), readFileSync(join(ws.dir, "Pulumi.staging.yaml"), "utf8").replace("sizeBillions: 8", "sizeBillions: -8"));
    const before = ws.production();
    const out = await cli([...args, "--dir", ws.dir, "--write"]);
    expect(out.code).toBe(code);
    expect(out.stderr).toMatch(message);
    expect(ws.production()).toBe(before);
  });
});

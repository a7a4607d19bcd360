import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { promoteCommand } from "../../cli/commands/promote.js";
import { reconcile } from "../../registry/reconcile.js";
import { loadStackFile, readStackValues } from "../../stacks/config/load.js";
import { PROMOTABLE_MODEL_KEYS, PROMOTABLE_STACK_KEYS } from "../../stacks/promote/promotable.js";
import { promote, PromoteError } from "../../stacks/promote/promote.js";
import { useRegistryDatabase } from "../registry/support.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "promote");
const V011 = "vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c";

function workspace(): { dir: string; production: () => string } {
  const dir = mkdtempSync(join(tmpdir(), "modelfleet-promote-"));
  for (const file of ["Pulumi.staging.yaml", "Pulumi.production.yaml"]) copyFileSync(join(FIXTURES, file), join(dir, file));
  return { dir, production: () => readFileSync(join(dir, "Pulumi.production.yaml"), "utf8") };
}

const valuesOf = (text: string) => readStackValues(text, "Pulumi.production.yaml") as Record<string, any>;

describe("the promotable split comes from the schema", () => {
  it("image pins, and per model: engine, source, size, GPUs, served name and engine settings", () => {
    expect(PROMOTABLE_STACK_KEYS).toEqual(["images"]);
    expect(PROMOTABLE_MODEL_KEYS).toEqual(["engine", "source", "sizeBillions", "gpus", "servedModelName", "vllm", "llamacpp"]);
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
      const out = { code: 0, stdout: "", stderr: "" };
      const command = promoteCommand({ stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), setExitCode: (c) => void (out.code = c), env: { MODELFLEET_DB_URL: db.url } });
      const program = new Command("modelfleet").exitOverride().addCommand(command.exitOverride());
      try {
        await program.parseAsync(["promote", "--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-ready"], { from: "user" });
      } catch (error) {
        if (!(error instanceof CommanderError)) throw error;
        out.code = error.exitCode;
      }
      return { ...out, before: readFileSync(join(FIXTURES, "Pulumi.production.yaml"), "utf8"), after: ws.production() };
    };

    const ok = await run();
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.after).not.toBe(ok.before);

    await client.query("UPDATE model_registry_entries SET last_health_check_at = now() - interval '10 minutes' WHERE model_name = 'qwen3-small-gguf'");
    const stale = await run();
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("qwen3-small-gguf: last health check in staging is older than 90s");
    expect(stale.after).toBe(stale.before);

    await client.query("UPDATE model_registry_entries SET last_health_check_at = now(), image_digest = $1 WHERE model_name = 'qwen3-8b'", [`sha256:${"e".repeat(64)}`]);
    const mismatched = await run();
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toContain(`qwen3-8b: staging runs sha256:${"e".repeat(64)}, the stack pins ${vllmDigest}`);
    expect(mismatched.stderr).not.toContain(db.url);
    expect(mismatched.after).toBe(mismatched.before);
  });
});

import { describe, expect, it } from "vitest";
import { lenientPercentDecode, looksLikeCredential, Redactor } from "../../secrets/redact.js";

describe("Redactor", () => {
  it.each([
    ["a plain password", "s3cr3tPassw0rd", "s3cr3tPassw0rd"],
    ["invalid percent-encoding, echoed as given", "Pct%zzLeak3", "Pct%zzLeak3"],
    ["a percent-encoded password, echoed decoded", "p%40ss%3Aw%2Frd", "p@ss:w/rd"],
    ["a password with @ : /, echoed encoded", "p@ss:w/rd", "p%40ss%3Aw%2Frd"],
    ["lower-case escapes", "p@ss:w/rd", "p%40ss%3aw%2frd"],
    ["partly valid escapes", "Pct%zzLeak%33", "Pct%zzLeak3"],
    ["JSON-escaped", 'quo"te\\back', 'quo\\"te\\\\back'],
  ])("given %s, redacts every form of it", (_name, secret, echoed) => {
    const redactor = new Redactor();
    redactor.add(secret);
    const out = redactor.redact(`psql: error: invalid token "${echoed}" near ${secret}`);
    expect(out).not.toContain(echoed);
    expect(out).not.toContain(secret);
    expect(out).toContain("***");
  });

  it("addUrl registers the password of a URL as written and decoded", () => {
    const redactor = new Redactor();
    redactor.addUrl("postgresql://mf:p%40ss%3Aw%2Frd@127.0.0.1:5432/registry");
    expect(redactor.redact("bad password p@ss:w/rd and p%40ss%3Aw%2Frd")).toBe("bad password *** and ***");
  });

  it("addUrl works on text that is not a valid URL", () => {
    const redactor = new Redactor();
    redactor.addUrl("postgresql://mf:Pct%zz/Leak@3@db host/registry");
    const out = redactor.redact("could not parse postgresql://mf:Pct%zz/Leak@3@db host/registry: Pct%zz/Leak@3");
    expect(out).not.toContain("Pct%zz/Leak@3");
    expect(out).not.toMatch(/Leak/);
  });

  it("addUrl registers password-like query parameters", () => {
    const redactor = new Redactor();
    redactor.addUrl("postgres://app@db/registry?sslmode=require&sslpassword=k3yPhrase");
    expect(redactor.redact("sslpassword k3yPhrase rejected")).toBe("sslpassword *** rejected");
  });

  it("redacts the password of any URL in the text, even one never registered", () => {
    expect(new Redactor().redact("connecting to postgres://u:never-added@h/db failed")).toBe("connecting to postgres://u:***@h/db failed");
  });

  it("replaces the longest form first, so a secret containing another is removed whole", () => {
    const redactor = new Redactor();
    redactor.add("abc");
    redactor.add("xxabcxx");
    expect(redactor.redact("[xxabcxx] [abc]")).toBe("[***] [***]");
  });

  it("leaves text without secrets alone", () => {
    const redactor = new Redactor();
    redactor.add("s3cr3t");
    expect(redactor.redact("pg_dump failed: connection refused")).toBe("pg_dump failed: connection refused");
    expect(redactor.size).toBeGreaterThan(0);
  });

  it("ignores empty secrets", () => {
    const redactor = new Redactor();
    redactor.add("");
    expect(redactor.redact("text")).toBe("text");
  });
});

describe("lenientPercentDecode", () => {
  it.each([
    ["p%40ss", "p@ss"],
    ["Pct%zzLeak3", "Pct%zzLeak3"],
    ["Pct%zzLeak%33", "Pct%zzLeak3"],
    ["%E2%82%AC%zz", "€%zz"],
  ])("%s → %s", (input, output) => expect(lenientPercentDecode(input)).toBe(output));
});

describe("looksLikeCredential", () => {
  it.each([
    "postgres://mf:pw@db/registry",
    "https://token@github.com/org/repo",
    "password=hunter2",
    "DB_PASSWORD: hunter2",
    "api_key=abc",
    "ghp_0123456789abcdefghijABCDEFGHIJ",
    "hf_0123456789abcdefghijABCDEFGHIJ",
    "sk-proj-0123456789abcdefghij",
    "AKIAABCDEFGHIJKLMNOP",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "Bearer abcdefgh12345678",
  ])("recognises %s", (value) => expect(looksLikeCredential(value)).toBe(true));

  it.each([
    "",
    "postgres://db:5432/registry",
    "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "Qwen2.5-0.5B-Instruct-GGUF-Q4_K_M",
    "vllm/vllm-openai:v0.8.5",
    "registry.dump",
  ])("does not flag %s", (value) => expect(looksLikeCredential(value)).toBe(false));
});

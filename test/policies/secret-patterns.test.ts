import { describe, expect, it } from "vitest";
import { hasWildcardOrigin, isHighEntropy, isSecretLikeName, isTemplated, originList, redacted, secretValueKind } from "../../policies/secret-patterns.js";

describe("isSecretLikeName", () => {
  it.each([
    "POSTGRES_PASSWORD", "postgresPassword", "DB_PASSWD", "DB_PWD", "DB_PASS", "SECRET_KEY", "HF_TOKEN", "hfToken",
    "HUGGING_FACE_HUB_TOKEN", "api-key", "apiKey", "API_KEY", "APIKEY", "x-api-key", "PRIVATE_KEY", "privateKey",
    "AWS_SECRET_ACCESS_KEY", "clientSecret", "credentials", "BEARER", "modelfleet:hfToken", "modelfleet:apiKey",
  ])("flags %s", (name) => expect(isSecretLikeName(name)).toBe(true));

  it.each([
    "TOKENIZERS_PARALLELISM", "MAX_TOKENS", "max_tokens", "tokenizer", "TOKENIZER", "secretKeyRef", "secretName",
    "POSTGRES_PASSWORD_FILE", "HF_TOKEN_PATH", "existingSecret", "PWD", "OLDPWD", "modelfleet:models", "passthrough",
    "KEY", "API_URL", "TOKEN_TTL", "password_length",
  ])("does not flag %s", (name) => expect(isSecretLikeName(name)).toBe(false));
});

describe("secretValueKind", () => {
  it.each([
    [`hf_${"a1B2".repeat(9)}`, "a Hugging Face token (hf_…)"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIE…", "a PEM private key"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", "a PEM private key"],
    ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb3V0ZXIifQ.c2lnbmF0dXJl", "a JSON Web Token"],
    ["postgres://lstm:lstm_password@postgres:5432/db", "a URL with an embedded password (scheme://user:password@host)"],
  ])("recognises %s", (value, kind) => expect(secretValueKind(value)).toBe(kind));

  it.each([
    "postgres://lstm:$(POSTGRES_PASSWORD)@postgres:5432/db", "postgres://lstm:${POSTGRES_PASSWORD}@postgres/db",
    "https://huggingface.co/Qwen/Qwen3-0.6B", "postgres://postgres:5432/db", "hf_transfer", "4096", "false",
    "vllm/vllm-openai@sha256:" + "a".repeat(64),
  ])("passes %s", (value) => expect(secretValueKind(value)).toBeUndefined());
});

describe("value helpers", () => {
  it("treats $(VAR), ${VAR}, $VAR and {{ }} as templated", () => {
    for (const v of ["$(API_KEY)", "${API_KEY}", "$API_KEY", "{{ .Values.apiKey }}", "prefix-${X}"]) expect(isTemplated(v), v).toBe(true);
    for (const v of ["lstm_password", "$", "costs $5"]) expect(isTemplated(v), v).toBe(false);
  });

  it("recognises random-looking strings, not words or paths", () => {
    expect(isHighEntropy("Zx8Qw3Lp9Vb2Nm7Kt4Rj6Hs1")).toBe(true);
    expect(isHighEntropy("development_secret_key")).toBe(false);
    expect(isHighEntropy("/var/run/secrets/token")).toBe(false);
  });

  it("redacts to a length, never the value", () => {
    expect(redacted("lstm_password")).toBe("<redacted, 13 chars>");
  });

  it.each([
    ['["*"]', true], ["['*']", true], ["*", true], ["https://a.example.com, *", true], ['["https://a.example.com"]', false],
    ["https://*.example.com", false], ["[]", false],
  ])("origin list %s has a wildcard: %s", (value, wildcard) => expect(hasWildcardOrigin(value)).toBe(wildcard));

  it("parses origin lists leniently", () => {
    expect(originList('["https://a.example.com", "https://b.example.com"]')).toEqual(["https://a.example.com", "https://b.example.com"]);
    expect(originList("https://a.example.com https://b.example.com")).toEqual(["https://a.example.com", "https://b.example.com"]);
  });
});

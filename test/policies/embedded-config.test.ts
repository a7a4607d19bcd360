import { describe, expect, it } from "vitest";
import { embeddedSettings, withEmbeddedCache } from "../../policies/embedded-config.js";

const doc = { auth: { postgresPassword: "changeme", users: ["a", "b"] }, panels: [{ id: 1, targets: [{ expr: "up" }] }], enabled: true, none: null };

describe("embedded JSON settings", () => {
  it("one-line JSON (read with JSON.parse) gives the same settings as the same JSON pretty-printed (read as YAML)", () => {
    const compact = embeddedSettings("d.json", JSON.stringify(doc));
    const pretty = embeddedSettings("d.json", JSON.stringify(doc, null, 2));
    expect(compact.map(({ line: _line, ...rest }) => rest)).toEqual(pretty.map(({ line: _line, ...rest }) => rest));
    expect(compact.map((s) => s.key)).toEqual(["auth.postgresPassword", "auth.users", "panels[0].id", "panels[0].targets[0].expr"]);
    expect(new Set(compact.map((s) => s.line))).toEqual(new Set([1]));
    expect(pretty.find((s) => s.key === "auth.postgresPassword")?.line).toBe(3);
  });

  it("shares one parse between rules inside a check, and none outside it", () => {
    const text = JSON.stringify(doc, null, 2);
    withEmbeddedCache(() => expect(embeddedSettings("d.json", text)).toBe(embeddedSettings("d.json", text)));
    expect(embeddedSettings("d.json", text)).not.toBe(embeddedSettings("d.json", text));
  });
});

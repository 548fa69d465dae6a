import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const sources = readdirSync(new URL("src/", root)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("the fastmcp-proxy command", () => {
  it("uses core's main entry only, never its subpaths or sources (what it needs, core's public API offers)", () => {
    expect(sources).toContain("main.ts");
    for (const file of sources) {
      const text = readFileSync(new URL(`src/${file}`, root), "utf8");
      expect(text, file).not.toMatch(/@fastmcp-proxy\/core\/|packages\/core/);
    }
  });
});

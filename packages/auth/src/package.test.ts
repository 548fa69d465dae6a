import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const sources = readdirSync(new URL("src/", root), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("@fastmcp-proxy/auth stays DI-free and light", () => {
  it("depends on jose, oauth4webapi, undici (the SDK's own, for the egress guard's connect-time checks) and zod only at run time, with core and the SDK as peers", () => {
    expect(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).sort()).toEqual(["jose", "oauth4webapi", "undici", "zod"]);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@fastmcp-proxy/core", "@modelcontextprotocol/sdk"]);
  });

  it("uses core's public API only, and no container", () => {
    expect(sources.length).toBeGreaterThan(8);
    for (const file of sources) {
      const text = readFileSync(new URL(`src/${file}`, root), "utf8");
      expect(text, file).not.toMatch(/tsyringe|reflect-metadata|container\.resolve/);
      expect(text, file).not.toMatch(/@fastmcp-proxy\/core\/|packages\/core|\.\.\/\.\.\/core/);
      // The SDK's resource-server router pulls in express: only its framework-free parts are used.
      expect(text, file).not.toMatch(/sdk\/server\/auth\/(router|middleware|handlers)/);
    }
  });
});

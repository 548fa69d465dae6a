import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const sources = readdirSync(new URL("src/", root)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("@fastmcp-proxy/caching stays DI-free and on core's public API", () => {
  it("depends on cockatiel, ioredis, lru-cache and zod only, with core as a peer", () => {
    const runtime = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    expect(runtime.sort()).toEqual(["cockatiel", "ioredis", "lru-cache", "zod"]);
    expect(pkg.peerDependencies).toEqual({ "@fastmcp-proxy/core": "workspace:^" });
  });

  it("imports core's public API only, no container, no other package, no test code", () => {
    expect(sources.length).toBeGreaterThan(8);
    for (const file of sources) {
      const text = readFileSync(new URL(`src/${file}`, root), "utf8");
      expect(text, file).not.toMatch(/tsyringe|reflect-metadata/);
      expect(text, file).not.toMatch(/@fastmcp-proxy\/core\/|packages\/core|@fastmcp-proxy\/(logging|auth|cli)/);
      expect(text, file).not.toMatch(/from "\.\.\//);
      const specifiers = [...text.matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);
      for (const spec of specifiers) {
        expect(spec, `${file}: ${spec}`).toMatch(/^(\.\/|node:|@fastmcp-proxy\/core$|cockatiel$|lru-cache$|ioredis$|zod$)/);
      }
    }
  });
});

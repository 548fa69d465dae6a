import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const sources = readdirSync(new URL("src/", root)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("@fastmcp-proxy/logging stays DI-free and light", () => {
  it("depends on neither tsyringe nor core at run time", () => {
    const runtime = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    expect(runtime.sort()).toEqual(["@opentelemetry/api", "pino", "prom-client"]);
    // workspace:^ is published as ^<version>: any core of the same minor line.
    expect(pkg.peerDependencies).toEqual({ "@fastmcp-proxy/core": "workspace:^" });
  });

  it("imports core's public API only, never its internals", () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = readFileSync(new URL(`src/${file}`, root), "utf8");
      expect(text, file).not.toMatch(/tsyringe|reflect-metadata|from "@fastmcp-proxy\/(caching|auth)"/);
      expect(text, file).not.toMatch(/@fastmcp-proxy\/core\/|packages\/core/);
    }
  });
});

// Core's public surface, kept small enough to learn in an hour: the main entry names what a user of
// the proxy needs first; transports, codecs and other building blocks live in the "advanced" subpath.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/** The names an entry file exports (values and types). */
function exported(file: string): string[] {
  const text = readFileSync(new URL(file, import.meta.url), "utf8");
  return [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) =>
    m[1]!.split(",").map((n) => n.replace(/\btype\b/, "").trim()).filter(Boolean),
  );
}

describe("core's public surface", () => {
  const main = exported("./index.ts");
  const advanced = exported("./advanced.ts");

  it("the main entry names about 40 things for the proxy, and what the packages use of core, each once", () => {
    expect(main.length).toBeLessThanOrEqual(50);
    expect(new Set(main).size).toBe(main.length);
  });

  it("keeps transports, codecs, the registry and the DI tokens out of the main entry", () => {
    for (const name of main) expect(name, name).not.toMatch(/Transport|MemoryEventStore|Registry|Tokens|Codec|resolveBackends|parseConfig|FrontSession/);
    expect(advanced).toEqual(expect.arrayContaining(["StreamableHttpTransport", "MemoryEventStore", "ComponentRegistry", "Tokens", "RequestStateCodec", "FrontSession"]));
  });

  it("exports every name from one entry only", () => {
    expect(main.filter((name) => advanced.includes(name))).toEqual([]);
  });
});

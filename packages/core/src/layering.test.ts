// Core's layers, checked on the sources: `wire/` at the bottom (node builtins and the SDK only);
// `backends/` (the router and transports) above it; `pipeline/` (the one request path) above that;
// the fronts in `serve/` on top, which reach backends only through the pipeline; and the composition
// root (`proxy.ts`, `container.ts`), imported by `index.ts` alone.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every relative import (`import`, `import type`, `export ... from`, `import()`) of each non-test source, as "from -> to" paths under src/. */
export function relativeImports(): string[] {
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  const edges: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(SRC, file), "utf8");
    for (const [, spec] of text.matchAll(/\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = normalize(join(dirname(file), spec!)).replace(/\.js$/, ".ts");
      edges.push(`${file} -> ${target}`);
    }
  }
  return edges.map((edge) => edge.replaceAll("\\", "/"));
}

/** Why an import goes against the layers, or undefined when it does not. */
export function upward(edge: string): string | undefined {
  const [from, to] = edge.split(" -> ") as [string, string];
  const folder = (path: string) => (path.includes("/") ? path.slice(0, path.indexOf("/")) : "");
  if (folder(from) === "wire" && folder(to) !== "wire") return "wire/ imports nothing of core outside wire/";
  if (folder(from) === "backends" && folder(to) === "serve") return "backends/ never imports serve/";
  if (folder(from) === "backends" && folder(to) === "pipeline") return "backends/ never imports pipeline/";
  if (folder(from) === "pipeline" && folder(to) === "serve") return "pipeline/ never imports serve/";
  if (folder(from) === "components" && (folder(to) === "serve" || folder(to) === "pipeline")) return "components/ never imports the fronts or the pipeline";
  if (folder(from) === "serve" && folder(to) === "backends") return "serve/ never imports backends/";
  if ((to === "proxy.ts" || to === "container.ts") && !["index.ts", "advanced.ts", "proxy.ts", "container.ts"].includes(from)) return `only the entries (index.ts, advanced.ts) import ${to}`;
  return undefined;
}

describe("core's layers", () => {
  const edges = relativeImports();

  it("reads the imports of every source, type-only and re-exports included", () => {
    expect(edges).toContain("serve/stdio.ts -> wire/lines.ts");
    expect(edges).toContain("index.ts -> proxy.ts"); // export ... from
    expect(edges).toContain("container.ts -> proxy.ts"); // import type
  });

  it("has no upward import", () => {
    const found = edges.flatMap((edge) => {
      const why = upward(edge);
      return why ? [`${edge}: ${why}`] : [];
    });
    expect(found).toEqual([]);
  });

  it("tells an upward import from a permitted one", () => {
    expect(upward("wire/lines.ts -> errors.ts")).toBeDefined();
    expect(upward("backends/pool.ts -> serve/http-io.ts")).toBeDefined();
    expect(upward("serve/stdio.ts -> backends/stdio-transport.ts")).toBeDefined();
    expect(upward("eras/requests.ts -> proxy.ts")).toBeDefined();
    expect(upward("backends/router.ts -> pipeline/dispatch.ts")).toBeDefined();
    expect(upward("pipeline/dispatch.ts -> serve/front-session.ts")).toBeDefined();
    expect(upward("components/proxy-tool.ts -> pipeline/dispatch.ts")).toBeDefined();
    expect(upward("pipeline/dispatch.ts -> backends/router.ts")).toBeUndefined();
    expect(upward("serve/front-session.ts -> pipeline/session-host.ts")).toBeUndefined();
    expect(upward("wire/lines.ts -> wire/message.ts")).toBeUndefined();
    expect(upward("serve/stdio.ts -> wire/lines.ts")).toBeUndefined();
    expect(upward("index.ts -> proxy.ts")).toBeUndefined();
  });
});

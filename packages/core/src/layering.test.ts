// Core's layers, checked on the sources: `wire/` at the bottom (node builtins and the SDK only),
// `backends/` and `serve/` beside each other above it (each may use `wire/`, never the other), and
// the composition root (`proxy.ts`, `container.ts`) on top, imported by `index.ts` alone.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * serve/ → backends/ imports that stay until the request pipeline (front-session, session-host,
 * dispatch, routing, tasks) moves out of serve/ into pipeline/. The list may only shrink: an entry
 * whose import is gone fails the test, so delete it.
 */
const TRANSITIONAL = [
  "serve/dispatch.ts -> backends/backend.ts",
  "serve/front-session.ts -> backends/backend.ts",
  "serve/front-session.ts -> backends/passthrough.ts",
  "serve/front-session.ts -> backends/pool.ts",
  "serve/routing.ts -> backends/backend.ts",
  "serve/session-host.ts -> backends/backend.ts",
  "serve/session-host.ts -> backends/pool.ts",
  "serve/tasks.ts -> backends/backend.ts",
];

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
  if (folder(from) === "serve" && folder(to) === "backends") return "serve/ never imports backends/";
  if ((to === "proxy.ts" || to === "container.ts") && !["index.ts", "proxy.ts", "container.ts"].includes(from)) return `only index.ts imports ${to}`;
  return undefined;
}

describe("core's layers", () => {
  const edges = relativeImports();

  it("reads the imports of every source, type-only and re-exports included", () => {
    expect(edges).toContain("serve/stdio.ts -> wire/lines.ts");
    expect(edges).toContain("index.ts -> proxy.ts"); // export ... from
    expect(edges).toContain("container.ts -> proxy.ts"); // import type
  });

  it("has no upward import, other than the transitional ones", () => {
    const found = edges.flatMap((edge) => {
      const why = upward(edge);
      return why && !TRANSITIONAL.includes(edge) ? [`${edge}: ${why}`] : [];
    });
    expect(found).toEqual([]);
  });

  it("lists only transitional imports that still exist (the list only shrinks)", () => {
    expect(TRANSITIONAL.filter((edge) => !edges.includes(edge))).toEqual([]);
  });

  it("tells an upward import from a permitted one", () => {
    expect(upward("wire/lines.ts -> errors.ts")).toBeDefined();
    expect(upward("backends/pool.ts -> serve/http-io.ts")).toBeDefined();
    expect(upward("serve/stdio.ts -> backends/stdio-transport.ts")).toBeDefined();
    expect(upward("eras/hop.ts -> proxy.ts")).toBeDefined();
    expect(upward("wire/lines.ts -> wire/message.ts")).toBeUndefined();
    expect(upward("serve/stdio.ts -> wire/lines.ts")).toBeUndefined();
    expect(upward("index.ts -> proxy.ts")).toBeUndefined();
  });
});

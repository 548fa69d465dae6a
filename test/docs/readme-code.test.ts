// Every TypeScript block in the READMEs is type-checked as written (strict, with the test tsconfig),
// so the front door cannot drift from the code. A block may use `proxy`, `backend` and `config`
// without declaring them; everything else it imports itself.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = ["README.md", ...readdirSync(join(ROOT, "packages")).map((p) => `packages/${p}/README.md`)];
const GIVEN = {
  proxy: 'import("@fastmcp-proxy/core").FastMCPProxy',
  backend: 'import("@fastmcp-proxy/core/advanced").BackendSpec',
  config: 'import("@fastmcp-proxy/core").MCPConfig',
};

function blocks(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(ROOT, file), "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("the code in the docs", () => {
  it("type-checks, block by block", () => {
    const sources = new Map<string, string>();
    for (const file of DOCS) {
      blocks(file).forEach((code, i) => {
        const declares = (name: string) => new RegExp(`\\b(const|let|var|class|function)\\s+${name}\\b|import\\s*(type\\s*)?\\{[^}]*\\b${name}\\b`).test(code);
        const prelude = Object.entries(GIVEN).filter(([name]) => !declares(name)).map(([name, type]) => `declare const ${name}: ${type};`).join("\n");
        // `export {}` keeps each block a module of its own.
        sources.set(join(ROOT, "test/docs", `${file.replace(/[/.]/g, "_")}_${i}.ts`), `${prelude}\n${code}\nexport {};\n`);
      });
    }
    expect(sources.size).toBeGreaterThan(5);
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "test/tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const options = { ...config.options, noEmit: true, noUnusedLocals: false };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    host.readFile = (name) => sources.get(name) ?? read(name);
    const exists = host.fileExists.bind(host);
    host.fileExists = (name) => sources.has(name) || exists(name);
    const program = ts.createProgram([...sources.keys()], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && sources.has(d.file.fileName))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${d.file!.fileName.slice(join(ROOT, "test/docs/").length)}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  }, 180_000);
});


// Every code block of the READMEs and docs/*.md is checked, so the docs cannot drift from the code:
// - ```ts     type-checked as written (strict, the test tsconfig), each block a module of its own. A block
//             may use the names in GIVEN without declaring them; everything else it imports or declares.
// - ```json   parsed; a config file (one with "mcpServers") is loaded as the CLI loads it: core's
//             parseConfig, the auth section and each server's auth through auth's loaders, the cache
//             section through caching's. A server run as `fastmcp-proxy` has its args parsed as below.
// - ```sh     every `fastmcp-proxy` command line (also after `npx -y`, or as `docker run`'s image) is
//             parsed by the CLI's parseCliArgs: unknown flags and bad values fail.
// - ```nginx, ```haproxy   pass the load balancer's own check (`nginx -t` inside an http block,
//             `haproxy -c`); the round-robin configs of docs/deployment.md are also run by test/fleet.
// - ```<any> sketch (ts, json, sh, nginx, yaml...): shown, not checked: an outline or a signature that is not meant to
//             compile as written. Use it sparingly: prefer code that compiles.
// A block with no language is text (diagrams, trees, output). Any other language fails the test: check it
// here or mark it a sketch.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendAuthFromConfig, frontAuthFromConfig } from "@fastmcp-proxy/auth";
import { cacheFromConfig } from "@fastmcp-proxy/caching";
import { parseCliArgs } from "@fastmcp-proxy/cli";
import { parseConfig } from "@fastmcp-proxy/core/advanced";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { findBinary } from "../fleet/balancer.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = [
  "README.md",
  ...readdirSync(join(ROOT, "packages")).map((p) => `packages/${p}/README.md`),
  ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];
const GIVEN = {
  proxy: 'import("@fastmcp-proxy/core").FastMCPProxy',
  backend: 'import("@fastmcp-proxy/core").BackendSpec',
  config: 'import("@fastmcp-proxy/core").MCPConfig',
  ctx: 'import("@fastmcp-proxy/core").AnyProxyContext',
  logger: 'import("@fastmcp-proxy/core").Logger',
};
const CHECKED = ["ts", "json", "sh", "nginx", "haproxy"];

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

function blocks(file: string): Block[] {
  let text: string;
  try {
    text = readFileSync(join(ROOT, file), "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/^```(.*)\n([\s\S]*?)^```/gm)].map((m) => ({
    file,
    line: text.slice(0, m.index).split("\n").length,
    lang: m[1]!.trim(),
    code: m[2]!,
  }));
}

const ALL = DOCS.flatMap(blocks);
const of = (lang: string) => ALL.filter((b) => b.lang === lang);
const where = (b: Block) => `${b.file}:${b.line}`;

describe("the code in the docs", () => {
  it("is in a language checked here, or marked a sketch", () => {
    const unchecked = ALL.filter((b) => b.lang !== "" && !CHECKED.includes(b.lang) && !b.lang.endsWith(" sketch"));
    expect(unchecked.map((b) => `${where(b)}: \`\`\`${b.lang}`)).toEqual([]);
    expect(of("ts").length).toBeGreaterThan(20);
  });

  it("type-checks, block by block", () => {
    const sources = new Map<string, string>();
    const origins = new Map<string, Block>();
    for (const block of of("ts")) {
      const { code } = block;
      const declares = (name: string) => new RegExp(`\\b(const|let|var|class|function)\\s+${name}\\b|import\\s*(type\\s*)?\\{[^}]*\\b${name}\\b`).test(code);
      const prelude = Object.entries(GIVEN).filter(([name]) => !declares(name)).map(([name, type]) => `declare const ${name}: ${type};`).join("\n");
      const name = join(ROOT, "test/docs", `${block.file.replace(/[/.]/g, "_")}_${block.line}.ts`);
      // `export {}` keeps each block a module of its own; the prelude is one line, so lines match the doc.
      sources.set(name, `${prelude.replaceAll("\n", " ")}\n${code}\nexport {};\n`);
      origins.set(name, block);
    }
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "test/tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const options = { ...config.options, noEmit: true, noUnusedLocals: false };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    host.readFile = (name) => sources.get(name) ?? read(name);
    const exists = host.fileExists.bind(host);
    host.fileExists = (name) => sources.has(name) || exists(name);
    const program = ts.createProgram([...sources.keys()], options, host);
    // Only the blocks' own diagnostics: checking every file of the program would take minutes.
    const problems = [...sources.keys()]
      .map((name) => program.getSourceFile(name)!)
      .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        const block = origins.get(d.file!.fileName)!;
        return `${block.file}:${block.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  }, 180_000);

  it("json: parses, and a config file loads as the CLI loads it", async () => {
    const problems: string[] = [];
    let configs = 0;
    // Any ${VAR} a doc uses counts as set: the doc shows the file, not the operator's environment.
    const env = new Proxy({}, { get: (_, name) => (typeof name === "string" ? `<${name}>` : undefined) });
    for (const block of of("json")) {
      try {
        const json = JSON.parse(block.code) as { mcpServers?: Record<string, { command?: string; args?: string[] }> };
        if (json.mcpServers === undefined) continue;
        configs++;
        const loaded = parseConfig(json, { env, onWarning: (message) => problems.push(`${where(block)}: ${message}`) });
        if (loaded.auth !== undefined) frontAuthFromConfig(loaded.auth);
        backendAuthFromConfig(loaded.mcpServers);
        if (loaded.cache !== undefined) await cacheFromConfig(loaded.cache).store?.close();
        for (const server of Object.values(json.mcpServers)) {
          if (server.command === "fastmcp-proxy") parseCliArgs(server.args ?? []);
        }
      } catch (error) {
        problems.push(`${where(block)}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(configs).toBeGreaterThan(4);
  });

  it("sh: every fastmcp-proxy command line parses", () => {
    const problems: string[] = [];
    let seen = 0;
    for (const block of of("sh")) {
      for (const line of commandLines(block.code)) {
        const args = cliArgs(words(line));
        if (args === undefined) continue;
        seen++;
        try {
          parseCliArgs(args);
        } catch (error) {
          problems.push(`${where(block)}: ${line}\n  ${(error as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(seen).toBeGreaterThan(10);
  });

  // The binaries are Debian's (.ci/run installs them); elsewhere the checks are skipped, except in CI.
  const nginx = findBinary("nginx");
  const haproxy = findBinary("haproxy");

  it.skipIf(!nginx && !process.env.CI)("nginx: every block passes nginx -t", () => {
    const dir = mkdtempSync(join(tmpdir(), "docs-nginx-"));
    try {
      for (const block of of("nginx")) {
        const conf = join(dir, "nginx.conf");
        writeFileSync(conf, `error_log stderr;\npid ${join(dir, "nginx.pid")};\nevents {}\nhttp {\n${block.code}}\n`);
        const run = spawnSync(nginx!, ["-t", "-q", "-p", dir, "-c", conf], { encoding: "utf8" });
        expect(run.status, `${where(block)}: ${run.stderr}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(of("nginx").length).toBeGreaterThanOrEqual(2);
  });

  it.skipIf(!haproxy && !process.env.CI)("haproxy: every block passes haproxy -c", () => {
    const dir = mkdtempSync(join(tmpdir(), "docs-haproxy-"));
    try {
      for (const block of of("haproxy")) {
        const cfg = join(dir, "haproxy.cfg");
        writeFileSync(cfg, block.code);
        const run = spawnSync(haproxy!, ["-c", "-f", cfg], { encoding: "utf8" });
        const output = `${run.stdout}${run.stderr}`;
        // A fragment with a backend and no frontend is valid but "will not start (no listener)": exit 2, no alert.
        expect(run.status === 0 || (run.status === 2 && /no listener/.test(output) && !/\[ALERT\]/.test(output)), `${where(block)}: ${output}`).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(of("haproxy").length).toBeGreaterThanOrEqual(2);
  });
});

/** The block's commands: continuations joined, comments dropped, one per line or `&&`/`;`/`|`. */
function commandLines(code: string): string[] {
  return code
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, ""))
    .flatMap((line) => line.split(/&&|\|\||;|\|/))
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Shell words, with single and double quotes (no expansion: the CLI sees `$TOKEN` as written). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** The arguments the CLI gets when the command runs it: `fastmcp-proxy`, `npx [-y] fastmcp-proxy`, `docker run ... fastmcp-proxy`. */
function cliArgs(command: string[]): string[] | undefined {
  const rest = command.slice(command.findIndex((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)));
  if (rest[0] === "fastmcp-proxy") return rest.slice(1);
  if (rest[0] === "npx") {
    const program = rest.findIndex((word, i) => i > 0 && !word.startsWith("-"));
    return rest[program] === "fastmcp-proxy" ? rest.slice(program + 1) : undefined;
  }
  if (rest[0] === "docker" && rest[1] === "run") {
    const image = rest.indexOf("fastmcp-proxy");
    if (image === -1) return undefined;
    // No arguments after the image: the Dockerfile's CMD.
    return image === rest.length - 1 ? (JSON.parse(/^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"))![1]!) as string[]) : rest.slice(image + 1);
  }
  return undefined;
}

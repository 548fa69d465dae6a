// The Dockerfile, read as data (no container builder needed): two stages, a non-root runtime, a
// health check on the port it exposes, COPY sources that exist, and a command line that runs the
// built CLI and that the CLI accepts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "@fastmcp-proxy/cli";
import { ROOT } from "../cli/process.js";

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions in order, continuation lines joined, comments dropped, each with its stage's index. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  let stage = -1;
  return lines.map((line) => {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") stage += 1;
    return { keyword: keyword.toUpperCase(), args, stage };
  });
}

/** An exec-form (JSON array) argument list. */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`not an exec-form list: ${args}`);
  return parsed;
}

const steps = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const last = Math.max(...steps.map((s) => s.stage));
const final = (keyword: string) => steps.filter((s) => s.stage === last && s.keyword === keyword);
const one = (keyword: string) => {
  const found = final(keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!.args;
};

describe("Dockerfile", () => {
  it("is multi-stage: a named build stage the runtime stage copies from, both on Node 20", () => {
    const froms = steps.filter((s) => s.keyword === "FROM").map((s) => s.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const build = /\bAS\s+(\S+)/i.exec(froms[0]!)?.[1];
    expect(build).toBeDefined();
    expect(final("COPY").some((s) => s.args.includes(`--from=${build}`))).toBe(true);
    for (const from of froms) expect(from).toMatch(/^node:20(-slim|-alpine)?\b/);
  });

  it("runs as a non-root user", () => {
    expect(one("USER")).not.toMatch(/^(root|0)(:|$)/);
  });

  it("exposes a port and checks /healthz on it", () => {
    const port = one("EXPOSE");
    expect(port).toMatch(/^\d+$/);
    expect(one("HEALTHCHECK")).toContain(`127.0.0.1:${port}/healthz`);
  });

  it("copies only what exists in the repository, and ignores what the build makes itself", () => {
    for (const copy of steps.filter((s) => s.keyword === "COPY" && !s.args.includes("--from="))) {
      const words = copy.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      for (const source of words.slice(0, -1)) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    // A tsbuildinfo copied without its dist/ would make tsc -b skip the build: both stay out.
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", "**/*.tsbuildinfo"]));
  });

  it("deploys the fastmcp-proxy package and runs its bin, which runs the CLI's built main", () => {
    const deploy = steps.find((s) => s.keyword === "RUN" && /\bpnpm\b.*\bdeploy\b/.test(s.args))?.args ?? "";
    expect(/--filter[= ](\S+)/.exec(deploy)?.[1]).toBe("fastmcp-proxy");
    expect(deploy.split(/\s+/).at(-1)).toBe("/app");
    const bin = JSON.parse(readFileSync(join(ROOT, "packages/fastmcp-proxy/package.json"), "utf8")).bin["fastmcp-proxy"] as string;
    const [node, script] = execForm(one("ENTRYPOINT"));
    expect(node).toBe("node");
    expect(script).toBe(join("/app", bin));
    // The bin runs @fastmcp-proxy/cli's launcher, which runs dist/main.js, the compiled src/main.ts.
    expect(readFileSync(join(ROOT, "packages/fastmcp-proxy", bin), "utf8")).toContain('import "@fastmcp-proxy/cli/bin"');
    const cli = JSON.parse(readFileSync(join(ROOT, "packages/cli/package.json"), "utf8"));
    expect(readFileSync(join(ROOT, "packages/cli", cli.exports["./bin"]), "utf8")).toContain('from "../dist/main.js"');
    expect(existsSync(join(ROOT, "packages/cli/src/main.ts"))).toBe(true);
  });

  it("by default serves /config/mcp.json over HTTP on all interfaces, on the exposed port", () => {
    const command = parseCliArgs(execForm(one("CMD")));
    expect(command.action).toBe("run");
    if (command.action !== "run") return;
    expect(command.options).toMatchObject({ backend: { kind: "config", path: "/config/mcp.json" }, transport: "http", host: "0.0.0.0", port: Number(one("EXPOSE")) });
    expect(final("VOLUME").map((s) => s.args).join()).toContain("/config");
  });
});

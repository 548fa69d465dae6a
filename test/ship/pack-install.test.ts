// What a user gets from the registry: every publishable package packed with `pnpm pack` (the only
// packer that resolves `workspace:` and `catalog:`), installed with plain `npm install` into a fresh
// project outside the repository, and used from there: the `fastmcp-proxy` command and the library.
// The app pins the lowest MCP SDK in the peer range, so that end of the range is what runs here.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ROOT } from "../cli/process.js";

const run = promisify(execFile);
const PNPM = ["-y", "pnpm@10.34.8"];
/** The lower end of the SDK peer range the packages declare. */
const LOWEST_SDK = "1.31.0";
const MINUTES = 60_000;

/** The packages that are published: every packages/* whose package.json is not private. */
function publishable(): { dir: string; name: string }[] {
  return readdirSync(join(ROOT, "packages"))
    .map((dir) => ({ dir: join(ROOT, "packages", dir), json: JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8")) }))
    .filter(({ json }) => !json.private)
    .map(({ dir, json }) => ({ dir, name: json.name as string }));
}

let app: string;
const bin = () => join(app, "node_modules", ".bin", "fastmcp-proxy");

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), "fastmcp-proxy-ship-"));
  const tarballs: Record<string, string> = {};
  for (const { dir, name } of publishable()) {
    const { stdout } = await run("npx", [...PNPM, "pack", "--pack-destination", app], { cwd: dir, timeout: 2 * MINUTES });
    const tarball = stdout.trim().split("\n").findLast((line) => line.endsWith(".tgz"))!;
    tarballs[name] = `file:${tarball}`;
  }
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "ship-test-app", private: true, type: "module", dependencies: { ...tarballs, "@modelcontextprotocol/sdk": LOWEST_SDK } }, null, 2),
  );
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app, timeout: 5 * MINUTES });
}, 8 * MINUTES);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe("the packages as published, installed with npm", () => {
  it("packs fastmcp-proxy and every @fastmcp-proxy package, with no workspace: or catalog: left", () => {
    const names = publishable().map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["fastmcp-proxy", "@fastmcp-proxy/core", "@fastmcp-proxy/cli"]));
    for (const name of names) {
      const json = readFileSync(join(app, "node_modules", name, "package.json"), "utf8");
      expect(json, name).not.toMatch(/"(workspace|catalog):/);
      for (const field of ["engines", "repository", "homepage", "bugs", "license"]) expect(JSON.parse(json), `${name} ${field}`).toHaveProperty(field);
      expect(readdirSync(join(app, "node_modules", name)), name).toEqual(expect.arrayContaining(["LICENSE", "README.md"]));
    }
  });

  it("installs one copy of the MCP SDK, the app's", () => {
    const sdk = JSON.parse(readFileSync(join(app, "node_modules", "@modelcontextprotocol", "sdk", "package.json"), "utf8"));
    expect(sdk.version).toBe(LOWEST_SDK);
    for (const name of publishable().map((p) => p.name)) {
      expect(existsSync(join(app, "node_modules", name, "node_modules", "@modelcontextprotocol", "sdk")), name).toBe(false);
    }
  });

  it("fastmcp-proxy --help prints the usage", async () => {
    const { stdout } = await run(bin(), ["--help"], { cwd: app, timeout: MINUTES });
    expect(stdout).toMatch(/^Usage:\n {2}fastmcp-proxy /);
  });

  it("fastmcp-proxy --demo serves the demo over stdio to an SDK client", async () => {
    const client = new Client({ name: "ship-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: bin(), args: ["--demo", "--log-level", "warn"], cwd: app, stderr: "pipe" }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["add", "current_time", "echo"]);
      expect(await client.callTool({ name: "add", arguments: { a: 2, b: 40 } })).toMatchObject({ content: [{ type: "text", text: "42" }] });
    } finally {
      await client.close();
    }
  });

  it("the library serves the app's own McpServer, and every package loads", async () => {
    writeFileSync(
      join(app, "snippet.mjs"),
      `import { FastMCPProxy } from "@fastmcp-proxy/core";
import "@fastmcp-proxy/auth";
import "@fastmcp-proxy/caching";
import "@fastmcp-proxy/logging";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";

const server = new McpServer({ name: "app", version: "1.0.0" });
server.registerTool("hello", { description: "says hello" }, () => ({ content: [{ type: "text", text: "hello" }] }));
const proxy = FastMCPProxy.asProxy(server, { name: "gateway" });
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await proxy.connect(serverSide);
const client = new Client({ name: "app-client", version: "1.0.0" });
await client.connect(clientSide);
const { tools } = await client.listTools();
const called = await client.callTool({ name: "hello", arguments: {} });
console.log(JSON.stringify({ tools: tools.map((t) => t.name), text: called.content[0].text }));
await client.close();
await proxy.close();
`,
    );
    const { stdout } = await run(process.execPath, ["snippet.mjs"], { cwd: app, timeout: MINUTES });
    expect(JSON.parse(stdout)).toEqual({ tools: ["hello"], text: "hello" });
  });
});

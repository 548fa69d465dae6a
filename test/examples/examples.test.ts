// Runs every example and checks what a client actually receives from it.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ProxyErrorCode } from "@fastmcp-proxy/core";
import { FIXTURE, until, alive } from "../helpers.js";
import { runExample as inMemory } from "../../examples/in-memory/src/main.js";
import { FOOTER, runExample as subclassHooks } from "../../examples/subclass-hooks/src/main.js";
import { DEFAULT_LIMIT, runExample as customTool } from "../../examples/custom-tool/src/main.js";
import { parseArgs, runExample as stdioToHttp, type Bridge } from "../../examples/stdio-to-http/src/main.js";
import { runExample as cachingGateway } from "../../examples/caching-gateway/src/main.js";

const quiet = () => {};
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BRIDGE_DIST = fileURLToPath(new URL("../../examples/stdio-to-http/dist/main.js", import.meta.url));

const text = (content: unknown) => (content as { type: string; text?: string }[]).map((c) => c.text);

async function httpClient(url: string): Promise<Client> {
  const client = new Client({ name: "examples-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Rejects after `ms` so no wait in this file is unbounded. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("examples/in-memory", () => {
  it("lists the backend's tools and returns its call result through the proxy", async () => {
    const { tools, result } = await inMemory({ log: quiet });
    expect(tools.map((t) => [t.name, t.description])).toEqual([["add", "Adds two numbers"]]);
    expect(result.content).toEqual([{ type: "text", text: "5" }]);
    expect(result.isError).toBeUndefined();
  });
});

describe("examples/subclass-hooks", () => {
  it("refuses a denied tool with Forbidden, appends the footer, and runs the hooks outermost", async () => {
    const { result, denied, order } = await subclassHooks({ log: quiet });
    expect(denied.code).toBe(ProxyErrorCode.Forbidden);
    expect(denied.message).toContain('Tool "delete_everything" is not allowed');
    expect(text(result.content)).toEqual(["hello", FOOTER]);
    expect(order).toEqual([
      "beforeForward tools/call",
      "middleware in tools/call",
      "tools/call middleware: echo",
      "middleware out tools/call",
      "afterForward tools/call",
    ]);
  });
});

describe("examples/custom-tool", () => {
  it("fills the default argument and rewrites the definition, registered either way", async () => {
    const runs = await customTool({ log: quiet });
    for (const run of [runs.components, runs.configure]) {
      const search = run.tools.find((t) => t.name === "search")!;
      expect(search.description).toBe(`Searches the catalogue (limit is optional: the proxy fills in ${DEFAULT_LIMIT})`);
      expect(search.inputSchema.required).toEqual(["query"]);
      expect(search.inputSchema.properties).toHaveProperty("limit");
      // The backend requires `limit`; the client left it out; the backend got the default.
      expect(run.result.isError).toBeFalsy();
      expect(text(run.result.content)).toEqual([`query=mcp limit=${DEFAULT_LIMIT}`]);
      expect(run.tools.find((t) => t.name === "ping")?.description).toBe("Answers pong");
    }
  });
});

describe("examples/caching-gateway", () => {
  it("answers the repeated read and the named read-only tool from the cache, never the other tool", async () => {
    const run = await cachingGateway({ log: quiet });
    // Two reads before the invalidation made one execution, one after it another.
    expect(run.executions).toEqual({ read: 2, price: 1, order: 2 });
    expect(run.stats.outcomes).toEqual({ miss: 3, hit: 2, "bypass:not-listed": 2 });
  });
});

describe("examples/stdio-to-http", () => {
  let bridge: Bridge | undefined;
  let child: ChildProcess | undefined;
  const clients: Client[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await bridge?.close();
    bridge = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child = undefined;
  });

  it("parses [port] [-- command args...] with $PORT and 8000 as fallbacks", () => {
    expect(parseArgs([], {})).toEqual({ port: 8000, command: undefined });
    expect(parseArgs([], { PORT: "9001" })).toEqual({ port: 9001, command: undefined });
    expect(parseArgs(["0", "--", "node", "server.js"], {})).toEqual({ port: 0, command: ["node", "server.js"] });
    expect(() => parseArgs(["http"], {})).toThrow(/invalid port "http"/);
    expect(() => parseArgs(["0", "--"], {})).toThrow(/nothing after --/);
  });

  it("serves a stdio server (the fixture) over streamable HTTP on 127.0.0.1", async () => {
    bridge = await stdioToHttp({ backend: [process.execPath, FIXTURE, "stdio"], port: 0 });
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = await httpClient(bridge.url);
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("echo");
    const result = await client.callTool({ name: "echo", arguments: { text: "over http" } });
    expect(result.structuredContent).toEqual({ echoed: "over http" });
  });

  describe("run as a program (the built dist)", () => {
    beforeAll(async () => {
      if (existsSync(BRIDGE_DIST)) return;
      // Not built yet (e.g. `vitest run` without `tsc -b` first): build just this example (and core).
      // A leftover .tsbuildinfo would make `tsc -b` think the missing dist is up to date.
      rmSync(fileURLToPath(new URL("../../examples/stdio-to-http/tsconfig.tsbuildinfo", import.meta.url)), { force: true });
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-b", "examples/stdio-to-http"], { cwd: ROOT, timeout: 120_000 }, (error, stdout) =>
          error ? reject(new Error(`tsc -b examples/stdio-to-http failed: ${stdout}`)) : resolve(),
        ),
      );
    }, 130_000);

    it("prints its URL, answers tools/list over HTTP, and leaves no child behind on SIGTERM", async () => {
      child = spawn(process.execPath, [BRIDGE_DIST, "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      const proc = child;
      let stderr = "";
      proc.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));

      const url = await within(
        20_000,
        "the bridge's URL line",
        new Promise<string>((resolve, reject) => {
          let stdout = "";
          proc.stdout!.on("data", (chunk: Buffer) => {
            stdout += chunk.toString("utf8");
            const found = /Streamable HTTP MCP endpoint: (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stdout);
            if (found) resolve(found[1]!);
          });
          void exited.then((code) => reject(new Error(`the bridge exited (${code}) before printing its URL: ${stderr}`)));
        }),
      );

      const client = await httpClient(url);
      clients.push(client);
      const { tools } = await within(10_000, "tools/list", client.listTools());
      expect(tools.map((t) => t.name).sort()).toEqual(["greet", "pid"]);
      const greeting = await within(10_000, "greet", client.callTool({ name: "greet", arguments: { name: "Ada" } }));
      expect(greeting.content).toEqual([{ type: "text", text: "Hello, Ada!" }]);

      // The demo server runs as a child of the bridge; it must go when the bridge is told to stop.
      const pidResult = await within(10_000, "pid", client.callTool({ name: "pid", arguments: {} }));
      const serverPid = Number(text(pidResult.content)[0]);
      expect(serverPid).not.toBe(proc.pid);
      expect(alive(serverPid)).toBe(true);

      proc.kill("SIGTERM");
      expect(await within(10_000, "the bridge's exit on SIGTERM", exited)).toBe(0);
      await until(() => !alive(serverPid), `stdio child ${serverPid} to exit`, 10_000);
    });
  });
});

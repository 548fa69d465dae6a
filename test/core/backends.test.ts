import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import type { BackendSpec } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { serveHttp } from "../fixtures/serve.mjs";
import { FIXTURE, connectClient, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

let http: { url: string; close(): Promise<void> };
let sse: { url: string; close(): Promise<void> };
beforeAll(async () => {
  http = await serveHttp(createFixtureServer, { mode: "http" });
  sse = await serveHttp(createFixtureServer, { mode: "sse" });
});
afterAll(async () => {
  await http.close();
  await sse.close();
});

async function echoThrough(spec: BackendSpec): Promise<string> {
  proxy = FastMCPProxy.asProxy(spec);
  const client = await connectClient(proxy);
  const result = await raw(client, "tools/call", { name: "echo", arguments: { text: "ping" } });
  return result.content[0].text;
}

describe("every backend form", () => {
  it("an SDK Client, already connected", async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createFixtureServer().connect(b);
    const backend = new Client({ name: "mine", version: "1" });
    await backend.connect(a);
    expect(await echoThrough(backend)).toBe("ping");
  });

  it("an SDK Client not yet connected, with its transport", async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createFixtureServer().connect(b);
    expect(await echoThrough({ client: new Client({ name: "mine", version: "1" }), transport: a })).toBe("ping");
  });

  it("an in-process McpServer", async () => {
    const server = new McpServer({ name: "high-level", version: "1" });
    server.registerTool("echo", { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: "text", text }] }));
    expect(await echoThrough(server)).toBe("ping");
  });

  it("an in-process low-level Server", async () => {
    expect(await echoThrough(createFixtureServer())).toBe("ping");
  });

  it("a streamable HTTP URL, as a string and as a URL", async () => {
    expect(await echoThrough(http.url)).toBe("ping");
    await proxy!.close();
    expect(await echoThrough(new URL(http.url))).toBe("ping");
  });

  it("an SSE URL (path ending in /sse)", async () => {
    expect(await echoThrough(sse.url)).toBe("ping");
  });

  it("falls back to SSE when the server refuses streamable HTTP", async () => {
    // An SSE-only server answers a streamable HTTP POST with 404, so the proxy must retry over SSE.
    const server = await serveHttp(createFixtureServer, { mode: "sse" });
    try {
      expect(await echoThrough({ url: server.url, transport: "http" } as BackendSpec)).toBe("ping");
    } finally {
      await server.close();
    }
  });

  it("a command as an argv array and as { command, args, env }", async () => {
    expect(await echoThrough([process.execPath, FIXTURE, "stdio"])).toBe("ping");
    await proxy!.close();
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"], env: { FIXTURE_GREETING: "hi there" } });
    const client = await connectClient(proxy);
    const who = JSON.parse((await raw(client, "tools/call", { name: "whoami", arguments: {} })).content[0].text);
    expect(who.env).toBe("hi there");
  });

  it("a script path (.mjs run with node)", async () => {
    // The fixture defaults to stdio when run with no mode.
    expect(await echoThrough(FIXTURE)).toBe("ping");
  });

  it("an MCPConfig object and the same from a JSON file", async () => {
    const config = { mcpServers: { fixture: { command: process.execPath, args: [FIXTURE, "stdio"] } } };
    expect(await echoThrough(config)).toBe("ping");
    await proxy!.close();
    const dir = mkdtempSync(join(tmpdir(), "fmp-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ mcpServers: { web: { url: http.url } } }));
    expect(await echoThrough(join(dir, "config.json"))).toBe("ping");
  });
});

describe("backend failures", () => {
  it("an unreachable URL fails start with an error naming it", async () => {
    proxy = FastMCPProxy.asProxy("http://127.0.0.1:1/mcp", { connectTimeoutMs: 5000 });
    const error = await rejection(proxy.start());
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain("http://127.0.0.1:1/mcp");
  });

  it("a command that does not exist fails start with an error naming it", async () => {
    proxy = FastMCPProxy.asProxy(["/nonexistent/server-binary"]);
    const error = await rejection(proxy.start());
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain("/nonexistent/server-binary");
  });

  it("a bad config names the server and the field", () => {
    expect(() => FastMCPProxy.asProxy({ mcpServers: { weather: { url: "ftp://x" } } } as BackendSpec)).toThrow(
      /server "weather", field "url": must be an http/,
    );
    expect(() => FastMCPProxy.asProxy({ mcpServers: { weather: { args: [] } } } as unknown as BackendSpec)).toThrow(
      /server "weather": needs "command"/,
    );
    expect(() => FastMCPProxy.asProxy({ mcpServers: { weather: { command: "x", args: "nope" } } } as unknown as BackendSpec)).toThrow(
      /server "weather", field "args"/,
    );
    expect(() => FastMCPProxy.asProxy({ mcpServers: { weather: { url: "http://127.0.0.1:1/mcp", transport: "ws" } } } as unknown as BackendSpec)).toThrow(
      /server "weather", field "transport": must be "http", "streamable-http" or "sse"/,
    );
    expect(() => FastMCPProxy.asProxy({ mcpServers: { weather: { command: "x", env: { KEY: "${NOT_SET_ANYWHERE_42}" } } } })).toThrow(
      /server "weather", field "env.KEY": environment variable NOT_SET_ANYWHERE_42 is not set/,
    );
    expect(() => FastMCPProxy.asProxy("/tmp/definitely-missing.json")).toThrow(/cannot read \/tmp\/definitely-missing.json/);
    expect(() => FastMCPProxy.asProxy("server.rb")).toThrow(/cannot tell how to reach "server.rb"/);
  });

  it("a backend that dies mid-call fails the call at once with an error naming it", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]);
    const client = await connectClient(proxy);
    const started = Date.now();
    const error = await rejection(raw(client, "tools/call", { name: "crash", arguments: {} }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain("closed the connection during tools/call");
    expect(error.message).toContain(FIXTURE);
    // The next call opens a fresh backend session.
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "again" } })).content[0].text).toBe("again");
  });
});

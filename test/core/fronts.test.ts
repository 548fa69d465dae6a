import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { FIXTURE, raw } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await proxy?.close();
  proxy = undefined;
});

async function httpClient(url: string, transport: "http" | "sse" = "http"): Promise<Client> {
  const client = new Client({ name: "front-test", version: "1" });
  await client.connect(transport === "sse" ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return client;
}

describe("front transports", () => {
  it("serves streamable HTTP with sessions, each with its own backend session", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]);
    const { url } = await proxy.run({ transport: "http", port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const [a, b] = [await httpClient(url!), await httpClient(url!)];
    const pid = async (c: Client) => JSON.parse((await raw(c, "tools/call", { name: "whoami", arguments: {} })).content[0].text).pid;
    const [pidA, pidB] = [await pid(a), await pid(b)];
    expect(pidA).not.toBe(pidB);
    expect(await pid(a)).toBe(pidA);
    expect((await raw(b, "tools/call", { name: "echo", arguments: { text: "over http" } })).content[0].text).toBe("over http");
  });

  it("serves stateless streamable HTTP through one shared backend session", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0, stateless: true });
    const client = await httpClient(url!);
    expect((await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name)).toContain("echo");
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "stateless" } })).content[0].text).toBe("stateless");
  });

  it("serves the legacy SSE transport", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "sse", port: 0 });
    expect(url).toMatch(/\/sse$/);
    const client = await httpClient(url!, "sse");
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "over sse" } })).content[0].text).toBe("over sse");
  });

  it("rejects a foreign Host or Origin on loopback (DNS rebinding)", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0 });
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } };
    // node:http rather than fetch: fetch will not send a Host header of our choosing.
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(url!, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.end(JSON.stringify(init));
      });
    expect(await post({ host: "evil.example.com" })).toBe(403);
    expect(await post({ origin: "http://evil.example.com" })).toBe(403);
    // The port must match too: a page on another local port is another origin (allow it with allowedOrigins).
    expect(await post({ origin: "http://localhost:3000" })).toBe(403);
    expect(await post({ origin: `http://localhost:${new URL(url!).port}` })).toBe(200);
  });

  it("answers bad HTTP input with clear JSON-RPC errors", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0 });
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(url!, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body });
    const parse = await post("{not json");
    expect(parse.status).toBe(400);
    expect(((await parse.json()) as any).error.code).toBe(-32700);
    const unknown = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }), { "mcp-session-id": "no-such-session" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toContain("Session not found");
    const noSession = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    expect(noSession.status).toBe(400);
    const huge = await post(JSON.stringify({ pad: "x".repeat(5 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect((await fetch(url!.replace("/mcp", "/elsewhere"))).status).toBe(404);
  });

  it("mounts in an existing Node HTTP server through httpHandler()", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    await proxy.start();
    const handler = proxy.httpHandler({ path: "/gateway/mcp" });
    const server = createServer((req, res) => (req.url?.startsWith("/gateway/") ? void handler(req, res) : res.writeHead(418).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway/mcp`;
      const client = await httpClient(url);
      expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "mounted" } })).content[0].text).toBe("mounted");
      await client.close();
      await handler.close();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("reports a port in use clearly", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      proxy = FastMCPProxy.asProxy(createFixtureServer());
      const port = (blocker.address() as AddressInfo).port;
      await expect(proxy.run({ transport: "http", port })).rejects.toThrow(`Port ${port} on 127.0.0.1 is in use: choose another with --port`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe("resumable HTTP sessions", () => {
  it("replays a stream's events after Last-Event-ID when run with resumable: true", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0, resumable: true });
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    const init = await fetch(url!, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "r", version: "1" } } }),
    });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    await fetch(url!, { method: "POST", headers: { ...headers, "mcp-session-id": session }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    const call = await fetch(url!, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "again" } } }),
    });
    const stream = await call.text();
    const ids = [...stream.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(0);
    // Resume from the first event (the priming one): the result is sent again.
    const resumed = await fetch(url!, { headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25", "last-event-id": ids[0]! } });
    const reader = resumed.body!.getReader();
    let text = "";
    const deadline = Date.now() + 3000;
    while (!text.includes('"again"') && Date.now() < deadline) {
      const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), 500))]);
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('"again"');
  });
});

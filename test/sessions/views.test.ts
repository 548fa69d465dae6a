// Per-client views: a client sees what its own backend session would show it, and no backend asks a
// client for what it did not declare. server-everything lists tools by the client's capabilities.
import { createRequire } from "node:module";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { FIXTURE, alive, connectClient, raw, rejection, until } from "../helpers.js";

const EVERYTHING = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js");
const CLI = new URL("../../packages/cli/bin/fastmcp-proxy.js", import.meta.url).pathname;
const everything = { command: process.execPath, args: [EVERYTHING, "stdio"], env: {} };
const ALL = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };

let proxy: FastMCPProxy | undefined;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

const names = async (client: Client) => (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name).sort();

async function direct(capabilities: object): Promise<string[]> {
  const client = new Client({ name: "direct", version: "1" }, { capabilities });
  await client.connect(new StdioClientTransport({ ...everything }));
  try {
    return await names(client);
  } finally {
    await client.close();
  }
}

describe("per-client views", () => {
  it("lists what a direct connection with the same capabilities lists, and a tool outside that view is unknown", async () => {
    const [bare, full] = [await direct({}), await direct(ALL)];
    expect(full.length).toBeGreaterThan(bare.length);
    proxy = FastMCPProxy.asProxy(everything);
    const plain = await connectClient(proxy);
    const rich = await connectClient(proxy, { capabilities: ALL });
    closers.push(() => plain.close(), () => rich.close());
    expect(await names(plain)).toEqual(bare);
    expect(await names(rich)).toEqual(full);
    const extra = full.find((name) => !bare.includes(name))!;
    const error = await rejection(raw(plain, "tools/call", { name: extra, arguments: {} }));
    expect(error.message).toContain(`Unknown tool: "${extra}"`);
  });

  it("on a stdio front, sends a client that declared no roots no roots/list, and answers its lists from its own view", async () => {
    const client = new Client({ name: "bare-stdio", version: "1" }, { capabilities: {} });
    const asked: string[] = [];
    client.fallbackRequestHandler = async (request) => {
      asked.push(request.method);
      return {};
    };
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "--log-level", "silent", "--", process.execPath, EVERYTHING, "stdio"], env: {} }));
    closers.push(() => client.close());
    expect(await names(client)).toEqual(await direct({}));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(asked).toEqual([]);
  });

  it("refuses a server→client request the client did not declare, with an error the backend sees", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy, { capabilities: {} });
    closers.push(() => client.close());
    const result = await raw(client, "tools/call", { name: "ask", arguments: { what: "sampling" } }).catch((e) => ({ error: String(e) }));
    expect(JSON.stringify(result)).toMatch(/did not declare|not supported|does not support/i);
  });
});

describe("the stateless HTTP front and server→client requests", () => {
  it("fails a server→client request at once, saying why, rather than hanging", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { timeoutMs: 20_000 });
    const { url } = await proxy.run({ transport: "http", port: 0, stateless: true });
    const client = new Client({ name: "stateless", version: "1" }, { capabilities: { sampling: {} } });
    client.fallbackRequestHandler = async () => ({ role: "assistant", content: { type: "text", text: "hi" }, model: "m" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
    closers.push(() => client.close());
    const began = Date.now();
    const result = await raw(client, "tools/call", { name: "ask", arguments: { what: "sampling" } }).catch((e) => ({ error: String(e) }));
    expect(Date.now() - began).toBeLessThan(5000);
    expect(JSON.stringify(result)).toContain("stateless HTTP front");
  });
});

describe("sessions whose client has gone", () => {
  it("lets go of a session's backend children when its GET stream closes with nothing in flight", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]);
    const { url } = await proxy.run({ transport: "http", port: 0 });
    const init = await fetch(url!, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "gone", version: "1" } } }),
    });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
    await fetch(url!, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    const call = await fetch(url!, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } }) });
    const pid = JSON.parse(JSON.parse(await call.text()).result.content[0].text).pid as number;
    expect(alive(pid)).toBe(true);
    const stream = new AbortController();
    const get = await fetch(url!, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" }, signal: stream.signal });
    expect(get.status).toBe(200);
    stream.abort();
    await until(() => !alive(pid), "the session's child to end once its stream closed", 5000);
  });
});

// A real MCP server that counts its executions, and in-memory clients of a proxy (optionally
// authenticated), shared by the caching package's tests and test/caching.
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

/**
 * A backend whose executions are counted (`runs`), the same state behind every server it makes:
 * `server` for in-process use, `newServer()` per HTTP session. `update(uri)` sends
 * resources/updated to the sessions subscribed to it; `changed()` sends list_changed to all.
 */
export function countingBackend() {
  const runs: Record<string, number> = {};
  const count = (what: string) => (runs[what] = (runs[what] ?? 0) + 1);
  let content = "v1";
  let gate: Promise<void> | undefined;
  const servers = new Set<{ server: McpServer; subscribed: Set<string> }>();

  function newServer(): McpServer {
    const server = new McpServer({ name: "counting", version: "1.0.0" }, { capabilities: { resources: { subscribe: true, listChanged: true }, tools: { listChanged: true } } });
    const entry = { server, subscribed: new Set<string>() };
    servers.add(entry);
    server.server.onclose = () => servers.delete(entry);
    server.server.setRequestHandler(SubscribeRequestSchema, async ({ params }) => (entry.subscribed.add(params.uri), {}));
    server.server.setRequestHandler(UnsubscribeRequestSchema, async ({ params }) => (entry.subscribed.delete(params.uri), {}));
    server.registerResource("doc", "data://doc", {}, async (uri, extra) => ({ contents: [{ uri: uri.href, text: `${content} read ${count("doc")}${deployment(extra)}` }] }));
    server.registerResource("item", new ResourceTemplate("data://items/{id}", { list: undefined }), {}, async (uri, { id }, extra) => ({
      contents: [{ uri: uri.href, text: `item ${id} read ${count(`item ${id}`)}${deployment(extra)}` }],
    }));
    server.registerPrompt("greet", { argsSchema: { name: z.string() } }, async ({ name }, extra) => ({
      messages: [{ role: "user", content: { type: "text", text: `hello ${name} ${count("greet")}${deployment(extra)}` } }],
    }));
    const readOnly = { readOnlyHint: true };
    server.registerTool("lookup", { inputSchema: { q: z.string(), page: z.number().optional() }, annotations: readOnly }, async ({ q, page }, extra) => {
      const n = count("lookup");
      await gate;
      return { content: [{ type: "text", text: `${q}/${page ?? 1} run ${n}${deployment(extra)}` }] };
    });
    // Takes `steps` × 100 ms, reporting progress after each step when the caller asked for it.
    server.registerTool("progressive", { inputSchema: { steps: z.number() }, annotations: readOnly }, async ({ steps }, extra) => {
      const n = count("progressive");
      const token = extra._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (token !== undefined) await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: step, total: steps } });
      }
      return { content: [{ type: "text", text: `done ${n}` }] };
    });
    server.registerTool("write", { inputSchema: { v: z.string() } }, async ({ v }) => ({ content: [{ type: "text", text: `wrote ${v} ${count("write")}` }] }));
    server.registerTool("failing", { annotations: readOnly }, async () => ({ isError: true, content: [{ type: "text", text: `failed ${count("failing")}` }] }));
    server.registerResource("broken", "data://broken", {}, async () => {
      count("broken");
      throw new McpError(-32050, "backend refused");
    });
    server.registerTool("big", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: "x".repeat(2000) + count("big") }] }));
    server.registerTool("hinted", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: `h ${count("hinted")}` }], ttlMs: 0 }) as never);
    // 2026-07-28 cache hints on the result: a short TTL, and a private scope.
    server.registerTool("short", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: `s ${count("short")}` }], ttlMs: 1000, cacheScope: "public" }) as never);
    server.registerTool("private", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: `p ${count("private")}` }], ttlMs: 60_000, cacheScope: "private" }) as never);
    return server;
  }

  return {
    server: newServer(),
    newServer,
    runs,
    setContent: (text: string) => (content = text),
    /** Sends resources/updated for `uri` to every session subscribed to it; resolves with how many. */
    async update(uri: string): Promise<number> {
      const subscribed = [...servers].filter((s) => s.subscribed.has(uri));
      await Promise.all(subscribed.map((s) => s.server.server.sendResourceUpdated({ uri })));
      return subscribed.length;
    },
    /** Sends list_changed of that kind to every session. */
    async changed(kind: "tools" | "resources" | "prompts"): Promise<void> {
      await Promise.all([...servers].map(({ server }) =>
        kind === "tools" ? server.sendToolListChanged() : kind === "resources" ? server.sendResourceListChanged() : server.sendPromptListChanged()));
    },
    /** Holds lookup calls until the returned release() is called. */
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

export type CountingBackend = ReturnType<typeof countingBackend>;

/** Over HTTP, what the proxy's configured `x-deployment` header said (a credential that changes answers). */
function deployment(extra: { requestInfo?: { headers?: Record<string, string | string[] | undefined> } }): string {
  const value = extra.requestInfo?.headers?.["x-deployment"];
  return typeof value === "string" ? ` @${value}` : "";
}

/** The backend over streamable HTTP on 127.0.0.1 (a server per session), for proxies in other processes; `port` to restart one behind its URL. */
export async function serveHttp(backend: CountingBackend, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const id = req.headers["mcp-session-id"];
    let transport = typeof id === "string" ? transports.get(id) : undefined;
    if (!transport) {
      if (req.method !== "POST" || id !== undefined) return void res.writeHead(404).end();
      const created = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void transports.set(sid, created) });
      created.onclose = () => created.sessionId && transports.delete(created.sessionId);
      await backend.newServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    async close() {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

export async function client(proxy: FastMCPProxy, token?: string | AuthInfo): Promise<Client> {
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  if (token !== undefined) {
    // The in-memory transport carries authInfo the way an HTTP front's authenticate would.
    const authInfo: AuthInfo = typeof token === "string" ? { token, clientId: token, scopes: [] } : token;
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message, options) => send(message, { ...options, authInfo });
  }
  await proxy.connect(proxySide);
  const c = new Client({ name: "cache-test", version: "1.0.0" });
  await c.connect(clientSide);
  return c;
}

/** A result's content, contents or messages as one string, for comparing answers. */
export function text(result: unknown): string {
  const r = result as { content?: unknown; contents?: unknown; messages?: unknown };
  return JSON.stringify(r.content ?? r.contents ?? r.messages);
}

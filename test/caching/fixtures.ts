// A real MCP server that counts its executions, and in-memory clients of a proxy (optionally
// authenticated), shared by the caching package's tests and test/caching.
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

export function countingBackend() {
  const runs: Record<string, number> = {};
  const count = (what: string) => (runs[what] = (runs[what] ?? 0) + 1);
  const server = new McpServer({ name: "counting", version: "1.0.0" }, { capabilities: { resources: { subscribe: true, listChanged: true } } });
  let content = "v1";
  let gate: Promise<void> | undefined;
  server.registerResource("doc", "data://doc", {}, async (uri) => ({ contents: [{ uri: uri.href, text: `${content} read ${count("doc")}` }] }));
  server.registerResource("item", new ResourceTemplate("data://items/{id}", { list: undefined }), {}, async (uri, { id }) => ({
    contents: [{ uri: uri.href, text: `item ${id} read ${count(`item ${id}`)}` }],
  }));
  server.registerPrompt("greet", { argsSchema: { name: z.string() } }, async ({ name }) => ({
    messages: [{ role: "user", content: { type: "text", text: `hello ${name} ${count("greet")}` } }],
  }));
  const readOnly = { readOnlyHint: true };
  server.registerTool("lookup", { inputSchema: { q: z.string(), page: z.number().optional() }, annotations: readOnly }, async ({ q, page }) => {
    const n = count("lookup");
    await gate;
    return { content: [{ type: "text", text: `${q}/${page ?? 1} run ${n}` }] };
  });
  server.registerTool("write", { inputSchema: { v: z.string() } }, async ({ v }) => ({ content: [{ type: "text", text: `wrote ${v} ${count("write")}` }] }));
  server.registerTool("failing", { annotations: readOnly }, async () => ({ isError: true, content: [{ type: "text", text: `failed ${count("failing")}` }] }));
  server.registerResource("broken", "data://broken", {}, async () => {
    count("broken");
    throw new McpError(-32050, "backend refused");
  });
  server.registerTool("big", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: "x".repeat(2000) + count("big") }] }));
  server.registerTool("hinted", { annotations: readOnly }, async () => ({ content: [{ type: "text", text: `h ${count("hinted")}` }], ttlMs: 0 }) as never);
  return {
    server,
    runs,
    setContent: (text: string) => (content = text),
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

export async function client(proxy: FastMCPProxy, token?: string): Promise<Client> {
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  if (token !== undefined) {
    // The in-memory transport carries authInfo the way an HTTP front's authenticate would.
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message, options) => send(message, { ...options, authInfo: { token, clientId: token, scopes: [] } });
  }
  await proxy.connect(proxySide);
  const c = new Client({ name: "cache-test", version: "1.0.0" });
  await c.connect(clientSide);
  return c;
}

/** A result's content, contents or messages as one string, for comparing answers. */
export const text = (r: { content?: unknown; contents?: unknown; messages?: unknown }) => JSON.stringify(r.content ?? r.contents ?? r.messages);

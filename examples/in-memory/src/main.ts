// An MCP server in this process, a proxy in front of it, and a client talking to the proxy:
// everything linked in memory, no ports and no child processes.
//
//   client ──InMemoryTransport──► FastMCPProxy ──InMemoryTransport──► McpServer
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** The backend: an ordinary SDK server with one tool. */
export function createBackend(): McpServer {
  const server = new McpServer({ name: "calculator", version: "1.0.0" });
  server.registerTool(
    "add",
    { title: "Add", description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
  );
  return server;
}

export interface InMemoryResult {
  tools: Tool[];
  result: CallToolResult;
}

export async function runExample({ log = console.log }: { log?: (...args: unknown[]) => void } = {}): Promise<InMemoryResult> {
  // Any backend form works here; an SDK server instance is linked to the proxy in memory.
  const proxy = FastMCPProxy.asProxy(createBackend(), { name: "in-memory-proxy" });

  // `connect` starts the proxy (connects the backend, mirrors its tools) and serves one client.
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "example-client", version: "1.0.0" });
  await client.connect(clientSide);

  try {
    const { tools } = await client.listTools();
    log("tools:", tools.map((t) => `${t.name}: ${t.description}`));
    const result = (await client.callTool({ name: "add", arguments: { a: 2, b: 3 } })) as CallToolResult;
    log("add(2, 3) →", result.content);
    return { tools, result };
  } finally {
    await client.close();
    await proxy.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  runExample().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

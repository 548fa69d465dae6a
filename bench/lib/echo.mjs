// The benchmark backend: a low-level SDK Server with an `echo` tool, a `bytes` tool (a text of
// `size` bytes: big results) and optional filler tools, so tools/list has something to carry. Kept
// minimal so the figures measure transports and the proxy, not the tool.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

export function makeEchoServer({ extraTools = 0, name = "bench-echo" } = {}) {
  const server = new Server({ name, version: "1.0.0" }, { capabilities: { tools: {} } });
  const tools = [
    {
      name: "echo",
      description: "Returns its text argument.",
      inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    },
    {
      name: "bytes",
      description: "Returns a text of `size` bytes.",
      inputSchema: { type: "object", properties: { size: { type: "integer", minimum: 0, maximum: 16777216 } }, required: ["size"] },
    },
  ];
  // Made once per size, so a call costs the transports, not the tool.
  const texts = new Map();
  const textOf = (size) => {
    const n = Math.min(Math.max(0, Math.trunc(Number(size) || 0)), 16 * 1024 * 1024);
    if (!texts.has(n)) texts.set(n, "x".repeat(n));
    return texts.get(n);
  };
  for (let i = 0; i < extraTools; i++) {
    tools.push({
      name: `filler_${i}`,
      description: `Filler tool ${i}: present so tools/list carries a realistic payload.`,
      inputSchema: { type: "object", properties: { a: { type: "string", description: "an argument" }, b: { type: "number" } } },
    });
  }
  const list = { tools };
  server.setRequestHandler(ListToolsRequestSchema, async () => list);
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const args = request.params.arguments;
    if (request.params.name === "bytes") return { content: [{ type: "text", text: textOf(args?.size) }] };
    return { content: [{ type: "text", text: String(args?.text ?? "") }] };
  });
  return server;
}

/**
 * The same `echo` tool with no SDK `Protocol` on the server's side: a bare JSON-RPC responder linked
 * in memory, reached through an SDK Client (a backend form the proxy takes). An SDK Server in the
 * proxy's process leaves about 2 KB a call for the old generation and makes every scavenge of that
 * process 4–7 ms (bench/experiments/promotion.mjs); this one leaves next to nothing, so a latency
 * tail measured beside it is the proxy's.
 */
export async function bareEchoClient() {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const tools = [{ name: "echo", description: "Returns its text argument.", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }];
  const answer = (message) => {
    switch (message.method) {
      case "initialize":
        return { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "bench-bare-echo", version: "1.0.0" } };
      case "tools/list":
        return { tools };
      case "tools/call":
        return { content: [{ type: "text", text: String(message.params?.arguments?.text ?? "") }] };
      default:
        return {};
    }
  };
  serverSide.onmessage = (message) => {
    if ("method" in message && "id" in message) void serverSide.send({ jsonrpc: "2.0", id: message.id, result: answer(message) });
  };
  await serverSide.start();
  const client = new Client({ name: "bench-proxy", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

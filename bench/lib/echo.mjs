// The benchmark backend: a low-level SDK Server with one `echo` tool (and optional filler tools,
// so tools/list has something to carry). Kept minimal so the figures measure transports and the
// proxy, not the tool.
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
  ];
  for (let i = 0; i < extraTools; i++) {
    tools.push({
      name: `filler_${i}`,
      description: `Filler tool ${i}: present so tools/list carries a realistic payload.`,
      inputSchema: { type: "object", properties: { a: { type: "string", description: "an argument" }, b: { type: "number" } } },
    });
  }
  const list = { tools };
  server.setRequestHandler(ListToolsRequestSchema, async () => list);
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: "text", text: String(request.params.arguments?.text ?? "") }],
  }));
  return server;
}

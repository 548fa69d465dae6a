// A tiny MCP server on stdio: the default backend of the stdio-to-http example.
// Run on its own with `node dist/demo-server.js`; stdout is the protocol, so log to stderr only.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "demo-stdio-server", version: "1.0.0" });

server.registerTool(
  "greet",
  { description: "Greets someone by name", inputSchema: { name: z.string() } },
  async ({ name }) => ({ content: [{ type: "text", text: `Hello, ${name}!` }] }),
);

server.registerTool("pid", { description: "The process id of this stdio server" }, async () => ({
  content: [{ type: "text", text: String(process.pid) }],
}));

await server.connect(new StdioServerTransport());

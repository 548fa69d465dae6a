// The built-in demo backend of `fastmcp-proxy --demo`: a small, real MCP server. The CLI runs the
// compiled file as a stdio child (`node dist/demo-server.js`), so the demo shows stdio → HTTP bridging.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

export const DEMO_README = `# fastmcp-proxy demo

You are talking to the built-in demo server through fastmcp-proxy. The proxy started this server
as a child process speaking MCP on stdio, and serves it to you on the transport you chose.

- Tools: \`echo\` (returns its text), \`add\` (adds two numbers), \`current_time\` (in any IANA time zone).
- Resource: \`demo://readme\` (this text).
- Prompt: \`greeting\` (greets someone by name).
`;

/** A fresh demo server (one per session: an McpServer holds one connection). */
export function createDemoServer(): McpServer {
  const server = new McpServer(
    { name: "fastmcp-proxy-demo", title: "fastmcp-proxy demo server", version: "1.0.0" },
    { instructions: "A demo server behind fastmcp-proxy. Try the echo, add and current_time tools, the demo://readme resource and the greeting prompt." },
  );

  server.registerTool(
    "echo",
    {
      title: "Echo",
      description: "Returns the text it is given",
      inputSchema: { text: z.string().describe("The text to echo back") },
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );

  server.registerTool(
    "add",
    {
      title: "Add",
      description: "Adds two numbers",
      inputSchema: { a: z.number().describe("First addend"), b: z.number().describe("Second addend") },
      outputSchema: { sum: z.number() },
      annotations: { readOnlyHint: true },
    },
    async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } }),
  );

  server.registerTool(
    "current_time",
    {
      title: "Current time",
      description: "The current date and time, in UTC or in a given IANA time zone",
      inputSchema: { timezone: z.string().optional().describe('An IANA time zone such as "Europe/Paris"; default UTC') },
      outputSchema: { iso: z.string(), timezone: z.string(), local: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ timezone = "UTC" }) => {
      const now = new Date();
      let local: string;
      try {
        local = new Intl.DateTimeFormat("en-US", { timeZone: timezone, dateStyle: "full", timeStyle: "long" }).format(now);
      } catch {
        return { content: [{ type: "text", text: `Unknown time zone "${timezone}": use an IANA name such as "Europe/Paris"` }], isError: true };
      }
      const result = { iso: now.toISOString(), timezone, local };
      return { content: [{ type: "text", text: `${local} (${result.iso})` }], structuredContent: result };
    },
  );

  server.registerResource(
    "readme",
    "demo://readme",
    { title: "Demo README", description: "What this demo server offers", mimeType: "text/markdown" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/markdown", text: DEMO_README }] }),
  );

  server.registerPrompt(
    "greeting",
    {
      title: "Greeting",
      description: "Asks the model to greet someone",
      argsSchema: { name: z.string().describe("Who to greet") },
    },
    ({ name }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Please write a short, friendly greeting for ${name}.` } }],
    }),
  );

  return server;
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // Ends when its parent closes stdin (nothing else keeps it alive) or on a signal.
  await createDemoServer().connect(new StdioServerTransport());
}

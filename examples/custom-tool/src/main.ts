// A ProxyTool subclass, registered through the proxy's DI container, that changes how a tool
// looks and how it is called: `limit` becomes optional for clients and defaults to 10.
//
// Two ways to register it:
//   components: { tool: LimitDefaultTool }          every tool is mirrored with the subclass
//   configure(c) { c.register(Tokens.ToolFactory) } a factory decides per tool
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FastMCPProxy, ProxyTool, type ComponentInit, type ProxyContext, type ProxyOptions, type ResultOf } from "@fastmcp-proxy/core";
import { Tokens } from "@fastmcp-proxy/core/advanced";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

export const DEFAULT_LIMIT = 10;

/** For a tool with a `limit` argument: clients may leave it out, and the backend gets the default. */
export class LimitDefaultTool extends ProxyTool {
  get hasLimit(): boolean {
    return Object.hasOwn(this.definition.inputSchema.properties ?? {}, "limit");
  }

  override toDefinition(): Tool {
    const definition = super.toDefinition(); // the backend's definition under the proxy's name
    if (!this.hasLimit) return definition;
    const { inputSchema } = definition;
    return {
      ...definition,
      description: `${definition.description ?? ""} (limit is optional: the proxy fills in ${DEFAULT_LIMIT})`.trim(),
      inputSchema: { ...inputSchema, required: (inputSchema.required ?? []).filter((name) => name !== "limit") },
    };
  }

  override forward(ctx: ProxyContext<"tools/call">): Promise<ResultOf<"tools/call">> {
    if (this.hasLimit) ctx.params = { ...ctx.params, arguments: { limit: DEFAULT_LIMIT, ...ctx.params.arguments } };
    return super.forward(ctx);
  }
}

/** The backend requires `limit`. */
export function createBackend(): McpServer {
  const server = new McpServer({ name: "search", version: "1.0.0" });
  server.registerTool(
    "search",
    { description: "Searches the catalogue", inputSchema: { query: z.string(), limit: z.number().int() } },
    async ({ query, limit }) => ({ content: [{ type: "text", text: `query=${query} limit=${limit}` }] }),
  );
  server.registerTool("ping", { description: "Answers pong" }, async () => ({ content: [{ type: "text", text: "pong" }] }));
  return server;
}

/** Registration 1: the `components` option puts the subclass in the proxy's container. */
export const viaComponents: ProxyOptions = { components: { tool: LimitDefaultTool } };

/** Registration 2: the last word on the container, a factory choosing the class per tool. */
export const viaConfigure: ProxyOptions = {
  configure(container) {
    container.register(Tokens.ToolFactory, {
      useValue: (init: ComponentInit<Tool>) => (init.definition.name === "search" ? new LimitDefaultTool(init) : new ProxyTool(init)),
    });
  },
};

export interface CustomToolRun {
  tools: Tool[];
  result: CallToolResult;
}

async function runWith(options: ProxyOptions): Promise<CustomToolRun> {
  const proxy = FastMCPProxy.asProxy(createBackend(), options);
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "example-client", version: "1.0.0" });
  await client.connect(clientSide);
  try {
    const { tools } = await client.listTools();
    // No `limit`: the backend would refuse this call; the subclass fills it in on the way.
    const result = (await client.callTool({ name: "search", arguments: { query: "mcp" } })) as CallToolResult;
    return { tools, result };
  } finally {
    await client.close();
    await proxy.close();
  }
}

export async function runExample({ log = console.log }: { log?: (...args: unknown[]) => void } = {}): Promise<{
  components: CustomToolRun;
  configure: CustomToolRun;
}> {
  const components = await runWith(viaComponents);
  const configure = await runWith(viaConfigure);
  for (const [how, run] of Object.entries({ components, configure })) {
    const search = run.tools.find((t) => t.name === "search");
    log(`[${how}] search: ${search?.description}; required: ${JSON.stringify(search?.inputSchema.required)}`);
    log(`[${how}] search({ query: "mcp" }) →`, run.result.content);
  }
  return { components, configure };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  runExample().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

// A FastMCPProxy subclass with both hooks, plus a middleware, and the order they run in:
//
//   beforeForward ─► middleware (in) ─► backend ─► middleware (out) ─► afterForward
//
// beforeForward is the outermost layer, so no middleware (a cache hit, say) can skip the deny
// list; afterForward sees the final result, whoever produced it.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  FastMCPProxy,
  ProxyError,
  ProxyErrorCode,
  type AnsweredContext,
  type AnyProxyContext,
  type Middleware,
  type ProxyContext,
} from "@fastmcp-proxy/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

export const FOOTER = "— served through GuardedProxy";

/** Refuses tools on a deny list, and signs every tool result with a footer. */
export class GuardedProxy extends FastMCPProxy {
  readonly denied = new Set(["delete_everything"]);
  /** What ran, in order, for the example to print (and its test to check). */
  readonly trace: string[] = [];

  protected override beforeForward(ctx: ProxyContext): void {
    this.trace.push(`beforeForward ${ctx.method}`);
    const request = ctx as AnyProxyContext; // a union on `method`: narrowing it narrows `params`
    if (request.method === "tools/call" && this.denied.has(request.params.name)) {
      throw new ProxyError(ProxyErrorCode.Forbidden, `Tool "${request.params.name}" is not allowed through this proxy`);
    }
  }

  protected override afterForward(ctx: AnsweredContext) {
    this.trace.push(`afterForward ${ctx.method}`);
    // Narrowing on the method narrows the result: a tools/call's has content (a task-augmented one's, a task instead).
    if (ctx.method !== "tools/call" || !Array.isArray(ctx.result.content)) return ctx.result;
    return { ...ctx.result, content: [...ctx.result.content, { type: "text" as const, text: FOOTER }] };
  }
}

/** A method-agnostic middleware: a generic function, so it fits every method's chain. */
function tracing(trace: string[]): Middleware {
  return async function tracing(ctx, next) {
    trace.push(`middleware in ${ctx.method}`);
    try {
      return await next();
    } finally {
      trace.push(`middleware out ${ctx.method}`);
    }
  };
}

export function createBackend(): McpServer {
  const server = new McpServer({ name: "files", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes its text", inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool("delete_everything", { description: "Deletes everything (do not expose)" }, async () => ({
    content: [{ type: "text", text: "everything deleted" }],
  }));
  return server;
}

export interface HooksResult {
  result: CallToolResult;
  denied: { code: number; message: string };
  /** The order the hooks and the middleware ran in for the allowed call. */
  order: string[];
}

export async function runExample({ log = console.log }: { log?: (...args: unknown[]) => void } = {}): Promise<HooksResult> {
  const proxy = GuardedProxy.asProxy(createBackend(), { name: "guarded" }); // a GuardedProxy
  proxy.use(tracing(proxy.trace));
  // A middleware for one method: ctx.params is typed as tools/call params.
  proxy.use("tools/call", async function callTool(ctx, next) {
    proxy.trace.push(`tools/call middleware: ${ctx.params.name}`);
    return next();
  });

  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "example-client", version: "1.0.0" });
  await client.connect(clientSide);

  try {
    const result = (await client.callTool({ name: "echo", arguments: { text: "hello" } })) as CallToolResult;
    const order = [...proxy.trace];
    log("echo →", result.content);
    log("order:", order);

    let denied: HooksResult["denied"] | undefined;
    try {
      await client.callTool({ name: "delete_everything", arguments: {} });
    } catch (error) {
      if (!(error instanceof McpError)) throw error;
      denied = { code: error.code, message: error.message };
      log(`delete_everything → error ${error.code}: ${error.message}`);
    }
    if (!denied) throw new Error("delete_everything was not refused");
    return { result, denied, order };
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

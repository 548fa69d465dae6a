import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { FastMCPProxy, ProxyError, ProxyErrorCode, ProxyPrompt, ProxyResource, ProxyTemplate, ProxyTool, type AnsweredContext, type AnyProxyContext, type Middleware, type ProxyContext, type ResultOf } from "@fastmcp-proxy/core";
import { Tokens } from "@fastmcp-proxy/core/advanced";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { connectClient, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

class RecordingProxy extends FastMCPProxy {
  readonly order: string[] = [];
  protected override beforeForward(ctx: AnyProxyContext): void {
    this.order.push(`before:${ctx.method}`);
    if (ctx.method === "tools/call" && ctx.params.name === "fail") throw new ProxyError(ProxyErrorCode.Forbidden, "fail is not allowed");
  }
  protected override afterForward(ctx: AnsweredContext) {
    this.order.push(`after:${ctx.method}`);
    // No cast: narrowing on the method narrows the result.
    if (ctx.method !== "tools/call" || !Array.isArray(ctx.result.content)) return ctx.result;
    return { ...ctx.result, content: [...ctx.result.content, { type: "text" as const, text: "footer" }] };
  }
}

const recorder = (order: string[], name: string): Middleware =>
  async function record(ctx, next) {
    order.push(`${name}:in`);
    try {
      return await next();
    } finally {
      order.push(`${name}:out`);
    }
  };

describe("hooks and middleware", () => {
  it("runs beforeForward outermost, middleware in registration order, afterForward last", async () => {
    const p = RecordingProxy.asProxy(createFixtureServer());
    proxy = p;
    expect(p).toBeInstanceOf(RecordingProxy);
    p.use(recorder(p.order, "first")).use("tools/call", recorder(p.order, "callOnly")).use(recorder(p.order, "last"));
    const client = await connectClient(p);
    const result = await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(result.content.at(-1)).toEqual({ type: "text", text: "footer" });
    expect(p.order).toEqual(["before:tools/call", "first:in", "callOnly:in", "last:in", "last:out", "callOnly:out", "first:out", "after:tools/call"]);
    p.order.length = 0;
    await raw(client, "tools/list");
    expect(p.order).toEqual(["before:tools/list", "first:in", "last:in", "last:out", "first:out", "after:tools/list"]);
  });

  it("lets beforeForward refuse a request before any middleware, with its error code", async () => {
    const p = RecordingProxy.asProxy(createFixtureServer());
    proxy = p;
    const seen: string[] = [];
    p.use(recorder(seen, "mw"));
    const client = await connectClient(p);
    const error = await rejection(raw(client, "tools/call", { name: "fail", arguments: {} }));
    expect(error.code).toBe(ProxyErrorCode.Forbidden);
    expect(error.message).toContain("fail is not allowed");
    expect(seen).toEqual([]);
  });

  it("a middleware short-circuit (a cache hit) still passes through both hooks", async () => {
    const p = RecordingProxy.asProxy(createFixtureServer());
    proxy = p;
    p.use("tools/call", async function cacheHit() {
      return { content: [{ type: "text", text: "cached" }] };
    });
    const client = await connectClient(p);
    const result = await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(result.content).toEqual([{ type: "text", text: "cached" }, { type: "text", text: "footer" }]);
    expect(p.order).toEqual(["before:tools/call", "after:tools/call"]);
  });

  it("middleware sees the component and may rewrite params; errors travel back up", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const observed: unknown[] = [];
    proxy.use("tools/call", async function rewrite(ctx, next) {
      observed.push([ctx.component?.kind, ctx.component?.name, ctx.component?.backend.name]);
      ctx.params = { ...ctx.params, arguments: { text: "rewritten" } };
      return next();
    });
    proxy.use(async function observeErrors(ctx, next) {
      try {
        return await next();
      } catch (error) {
        observed.push(["error", ctx.method, (error as { code?: number }).code]);
        throw error;
      }
    });
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "original" } })).content[0].text).toBe("rewritten");
    await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    expect(observed).toEqual([["tool", "echo", "backend"], ["tool", "explode", "backend"], ["error", "tools/call", -32050]]);
  });

  it("calling next() twice is an error with a stable code", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    proxy.use(async function twice(_ctx, next) {
      await next();
      return next();
    });
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/list"));
    expect(error.code).toBe(ProxyErrorCode.MiddlewareMisuse);
    expect(error.message).toContain('"twice"');
  });

  it("an unsupported method answers MethodNotFound from the proxy", async () => {
    const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js");
    const { z } = await import("zod");
    const toolsOnly = new McpServer({ name: "tools-only", version: "1" });
    toolsOnly.registerTool("t", { inputSchema: { a: z.string() } }, async () => ({ content: [] }));
    proxy = FastMCPProxy.asProxy(toolsOnly);
    const client = await connectClient(proxy);
    expect(client.getServerCapabilities()?.prompts).toBeUndefined();
    const error = await rejection(raw(client, "prompts/list"));
    expect(error.code).toBe(-32601);
  });

});

describe("component classes through dependency injection", () => {
  class LoudTool extends ProxyTool {
    override toDefinition() {
      return { ...super.toDefinition(), description: `LOUD ${this.definition.description}` };
    }
    override forward(ctx: ProxyContext<"tools/call">) {
      ctx.params = { ...ctx.params, arguments: { ...ctx.params.arguments, text: String(ctx.params.arguments?.text).toUpperCase() } };
      return super.forward(ctx);
    }
  }
  class TaggedResource extends ProxyResource {
    override toDefinition() {
      return { ...super.toDefinition(), description: "tagged resource" };
    }
  }
  class TaggedTemplate extends ProxyTemplate {
    override toDefinition() {
      return { ...super.toDefinition(), description: "tagged template" };
    }
  }
  class TaggedPrompt extends ProxyPrompt {
    override toDefinition() {
      return { ...super.toDefinition(), description: "tagged prompt" };
    }
  }

  it("swaps every component class through the `components` option", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), {
      components: { tool: LoudTool, resource: TaggedResource, template: TaggedTemplate, prompt: TaggedPrompt },
    });
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/list")).tools[0].description).toBe("LOUD Echoes its text back");
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "quiet" } })).content[0].text).toBe("QUIET");
    expect((await raw(client, "resources/list")).resources[0].description).toBe("tagged resource");
    expect((await raw(client, "resources/templates/list")).resourceTemplates[0].description).toBe("tagged template");
    expect((await raw(client, "prompts/list")).prompts[0].description).toBe("tagged prompt");
    expect(proxy.registry.tool("echo")).toBeInstanceOf(LoudTool);
  });

  it("swaps a factory token in the proxy's own container through `configure`", async () => {
    let made = 0;
    proxy = FastMCPProxy.asProxy(createFixtureServer(), {
      configure: (container) =>
        container.register(Tokens.ToolFactory, {
          useValue: (init) => {
            made++;
            return new LoudTool(init);
          },
        }),
    });
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "abc" } })).content[0].text).toBe("ABC");
    expect(made).toBe(7);
    // Another proxy's container is untouched.
    const other = FastMCPProxy.asProxy(createFixtureServer());
    const otherClient = await connectClient(other);
    expect((await raw(otherClient, "tools/call", { name: "echo", arguments: { text: "abc" } })).content[0].text).toBe("abc");
    await other.close();
  });
});

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { FastMCPProxy, ProxyError, ProxyErrorCode, type AnyProxyContext } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { FIXTURE, connectClient, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const names = async (client: Awaited<ReturnType<typeof connectClient>>, method: string, key: string, field = "name") =>
  (await raw(client, method))[key].map((c: Record<string, string>) => c[field]).sort();

describe("filters and transforms", () => {
  it("include/exclude globs hide tools, prompts, resources and templates; hidden ones cannot be called", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { rules: { include: ["e*", "whoami", "fixture://static/*", "greet"], exclude: ["explode"] } });
    const client = await connectClient(proxy);
    expect(await names(client, "tools/list", "tools")).toEqual(["echo", "whoami"]);
    expect(await names(client, "prompts/list", "prompts")).toEqual(["greet"]);
    expect(await names(client, "resources/list", "resources", "uri")).toEqual(["fixture://static/hello"]);
    expect(await names(client, "resources/templates/list", "resourceTemplates", "uriTemplate")).toEqual([]);
    const error = await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    expect(error.code).toBe(-32602);
    expect((await rejection(raw(client, "resources/read", { uri: "fixture://items/1" }))).code).toBe(-32002);
  });

  it("renames a tool, overrides its title and description, hides an argument with a fixed value", async () => {
    proxy = FastMCPProxy.asProxy({
      mcpServers: {
        fixture: {
          command: process.execPath,
          args: [FIXTURE, "stdio"],
          tools: {
            echo: { name: "say", title: "Say", description: "Says hello", arguments: { text: { hide: true, default: "fixed text" } } },
            slow: { arguments: { ms: { default: 8, description: "How long" } } },
          },
        },
      },
    });
    const client = await connectClient(proxy);
    const tools = (await raw(client, "tools/list")).tools;
    const say = tools.find((t: { name: string }) => t.name === "say");
    expect(say).toMatchObject({ title: "Say", description: "Says hello", annotations: { readOnlyHint: true }, futureToolField: { kept: true } });
    expect(say.inputSchema.properties.text).toBeUndefined();
    expect(say.inputSchema.required).toBeUndefined();
    expect(tools.some((t: { name: string }) => t.name === "echo")).toBe(false);
    const slow = tools.find((t: { name: string }) => t.name === "slow");
    expect(slow.inputSchema.properties.ms).toEqual({ type: "number", default: 8, description: "How long" });
    // The backend gets its own name and the fixed argument, whatever the client sends.
    expect((await raw(client, "tools/call", { name: "say", arguments: { text: "ignored" } })).content[0].text).toBe("fixed text");
    expect((await raw(client, "tools/call", { name: "slow", arguments: {} })).content[0].text).toBe("slept 8");
    expect((await raw(client, "tools/call", { name: "slow", arguments: { ms: 12 } })).content[0].text).toBe("slept 12");
  });

  it("names the server and field of a bad rule", () => {
    expect(() =>
      FastMCPProxy.asProxy({ mcpServers: { fixture: { command: "x", tools: { echo: { name: "bad name!" } } } } } as never),
    ).toThrow(/server "fixture", field "tools.echo.name": may use only letters/);
    expect(() => FastMCPProxy.asProxy({ mcpServers: { fixture: { command: "x", tools: { echo: { rename: "x" } } } } } as never)).toThrow(
      /server "fixture", field "tools.echo"/,
    );
  });
});

describe("mount", () => {
  it("composes proxies and servers under namespaces, routing each call to its own", async () => {
    class Guarded extends FastMCPProxy {
      protected override beforeForward(ctx: AnyProxyContext) {
        if (ctx.method === "tools/call" && ctx.params.name === "fail") throw new ProxyError(ProxyErrorCode.Forbidden, "inner proxy says no");
      }
    }
    const inner = Guarded.asProxy(createFixtureServer());
    const math = new McpServer({ name: "math", version: "1" });
    math.registerTool("add", { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]).mount(inner, { namespace: "inner" }).mount(math, { namespace: "math" });
    const client = await connectClient(proxy);
    const tools = await names(client, "tools/list", "tools");
    expect(tools).toEqual(expect.arrayContaining(["echo", "inner_echo", "inner_fail", "math_add"]));
    expect((await raw(client, "tools/call", { name: "math_add", arguments: { a: 2, b: 5 } })).content[0].text).toBe("7");
    expect((await raw(client, "tools/call", { name: "inner_echo", arguments: { text: "deep" } })).content[0].text).toBe("deep");
    // The mounted proxy's own hook still runs.
    expect((await rejection(raw(client, "tools/call", { name: "inner_fail", arguments: {} }))).code).toBe(ProxyErrorCode.Forbidden);
    expect((await raw(client, "resources/read", { uri: "fixture://inner/items/3" })).contents[0]).toMatchObject({ uri: "fixture://inner/items/3" });
  });

  it("local components (mounted without a namespace) win over mirrored ones of the same name", async () => {
    const local = new McpServer({ name: "local", version: "1" });
    local.registerTool("echo", { description: "local echo", inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: "text", text: `local: ${text}` }],
    }));
    proxy = FastMCPProxy.asProxy(createFixtureServer()).mount(local);
    const client = await connectClient(proxy);
    const echo = (await raw(client, "tools/list")).tools.filter((t: { name: string }) => t.name === "echo");
    expect(echo).toHaveLength(1);
    expect(echo[0].description).toBe("local echo");
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } })).content[0].text).toBe("local: x");
    expect((await raw(client, "tools/call", { name: "whoami", arguments: {} })).content[0].text).toContain("pid");
  });

  it("refuses to mount after start", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    await proxy.start();
    expect(() => proxy!.mount(createFixtureServer(), { namespace: "late" })).toThrow(/before start/);
  });
});

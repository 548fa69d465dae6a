import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { PROMPTS, RESOURCES, TEMPLATES, TOOLS, createFixtureServer } from "../fixtures/fixture-server.mjs";
import { connectClient, connectDirect, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("an in-process backend", () => {
  it("mirrors every definition losslessly, unknown fields included", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/list")).tools).toEqual(TOOLS);
    expect((await raw(client, "resources/list")).resources).toEqual(RESOURCES);
    expect((await raw(client, "resources/templates/list")).resourceTemplates).toEqual(TEMPLATES);
    expect((await raw(client, "prompts/list")).prompts).toEqual(PROMPTS);
    expect(client.getInstructions()).toBe("Fixture instructions.");
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: { subscribe: true }, prompts: {}, logging: {}, completions: {} });
  });

  it("forwards a call and returns the result unchanged", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    const result = await raw(client, "tools/call", { name: "echo", arguments: { text: "hi" }, _meta: { "example.com/trace": "t1" } });
    expect(result).toEqual({
      content: [{ type: "text", text: "hi", annotations: { audience: ["user"] }, futureContentField: "x" }],
      structuredContent: { echoed: "hi" },
      // The client's _meta reaches the backend as it is: a client that asked for no progress has none asked for.
      _meta: { "example.com/result": "kept", seenMeta: { "example.com/trace": "t1" } },
      futureResultField: 42,
    });
  });

  it("a backend's progress keeps a call alive past the timeout when the client asked for progress", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { timeoutMs: 300 });
    const client = await connectClient(proxy);
    const progress: unknown[] = [];
    // 800 ms in all, progress every 200 ms: each resets the 300 ms timeout.
    const result = await client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 800 } } }, ResultSchema.passthrough(), { onprogress: (p) => progress.push(p), timeout: 5_000 });
    expect(result.isError).toBeUndefined();
    expect(progress).toHaveLength(4);
  });

  it("asks the backend for no progress the client did not ask for, so the timeout is not extended", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { timeoutMs: 300 });
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "slow", arguments: { ms: 800 } }));
    expect(error.code).toBe(ProxyErrorCode.Timeout);
  });

  it("with alwaysAskProgress, a backend's progress keeps a call alive even when the client gave no progress token", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { timeoutMs: 300, alwaysAskProgress: true });
    const client = await connectClient(proxy);
    const result = await raw(client, "tools/call", { name: "slow", arguments: { ms: 800 } });
    expect(result.isError).toBeUndefined();
    // The backend saw the proxy's own token beside the client's _meta.
    const seen = await raw(client, "tools/call", { name: "echo", arguments: { text: "hi" }, _meta: { "example.com/trace": "t1" } });
    expect(seen._meta.seenMeta).toEqual({ "example.com/trace": "t1", progressToken: expect.any(Number) });
  });

  it("passes an isError result through as a result", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    expect(await raw(client, "tools/call", { name: "fail", arguments: {} })).toEqual({ content: [{ type: "text", text: "it failed" }], isError: true });
  });

  it("keeps a backend JSON-RPC error's code, message and data", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    const direct = await rejection(raw(await connectDirect(createFixtureServer()), "tools/call", { name: "explode", arguments: {} }));
    expect(error.code).toBe(-32050);
    expect(error.data).toEqual({ detail: "fixture" });
    // The backend's own message, with the SDK's "MCP error <code>: " once (a direct client sees it twice).
    expect(error.message).toBe(`MCP error -32050: ${direct.message.replace(/^(MCP error -32050: )+/, "")}`);
  });

  it("answers an unknown tool with InvalidParams naming it, without asking the backend", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "nope", arguments: {} }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('Unknown tool: "nope"');
  });

  it("reads resources and template instances, gets prompts and completions", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    expect((await raw(client, "resources/read", { uri: "fixture://static/hello" })).contents[0]).toMatchObject({ text: "hello", _meta: { m: 1 } });
    expect((await raw(client, "resources/read", { uri: "fixture://items/42" })).contents[0].text).toBe('{"id":"42"}');
    const missing = await rejection(raw(client, "resources/read", { uri: "fixture://elsewhere" }));
    expect(missing.code).toBe(-32002);
    expect((await raw(client, "prompts/get", { name: "greet", arguments: { who: "Ada" } })).messages[0].content.text).toBe("Hello, Ada!");
    const completion = await raw(client, "completion/complete", { ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "alb" } });
    expect(completion.completion.values).toEqual(["albert"]);
  });

  it("restores the client's progress token on progress", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const client = await connectClient(proxy);
    const seen: number[] = [];
    const result = await client.callTool({ name: "slow", arguments: { ms: 40 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(result.content).toEqual([{ type: "text", text: "slept 40" }]);
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});

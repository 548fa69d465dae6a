import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { connectClient, raw, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("list_changed from a backend", () => {
  it("refreshes the mirror first, then tells the client: a list right after the notice has the change", async () => {
    const backend = new McpServer({ name: "growing", version: "1" });
    backend.registerTool("first", { inputSchema: { x: z.string() } }, async ({ x }) => ({ content: [{ type: "text", text: x }] }));
    backend.registerPrompt("p1", {}, async () => ({ messages: [] }));
    proxy = FastMCPProxy.asProxy(backend);
    const client = await connectClient(proxy);
    const listsAtNotice: Record<string, string[]> = {};
    client.fallbackNotificationHandler = async (notification) => {
      if (notification.method === "notifications/tools/list_changed") {
        listsAtNotice.tools = (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name);
      }
      if (notification.method === "notifications/prompts/list_changed") {
        listsAtNotice.prompts = (await raw(client, "prompts/list")).prompts.map((p: { name: string }) => p.name);
      }
    };
    backend.registerTool("second", { inputSchema: { y: z.string() } }, async ({ y }) => ({ content: [{ type: "text", text: `2:${y}` }] }));
    backend.registerPrompt("p2", {}, async () => ({ messages: [] }));
    await until(() => listsAtNotice.tools && listsAtNotice.prompts, "both notices");
    expect(listsAtNotice.tools).toEqual(["first", "second"]);
    expect(listsAtNotice.prompts).toEqual(["p1", "p2"]);
    expect((await raw(client, "tools/call", { name: "second", arguments: { y: "new" } })).content[0].text).toBe("2:new");
  });
});

import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { connectClient, raw } from "../helpers.js";

// The reference server of the MCP project, as a real stdio child behind the proxy.
const EVERYTHING = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js");

describe("server-everything as a stdio backend", () => {
  let proxy: FastMCPProxy;
  let client: Client;
  beforeAll(async () => {
    // An empty env: its get-env tool prints the whole environment.
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [EVERYTHING, "stdio"], env: {} });
    client = await connectClient(proxy);
  });
  afterAll(async () => {
    await client.close();
    await proxy.close();
  });

  it("mirrors its tools, prompts, resources and templates", async () => {
    const tools = (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["echo", "get-sum", "get-structured-content", "trigger-long-running-operation"]));
    const prompts = (await raw(client, "prompts/list")).prompts.map((p: { name: string }) => p.name);
    expect(prompts).toEqual(expect.arrayContaining(["simple-prompt", "args-prompt"]));
    const templates = (await raw(client, "resources/templates/list")).resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate);
    expect(templates).toContain("demo://resource/dynamic/text/{resourceId}");
  });

  it("forwards tool calls, structured content, template reads and prompts", async () => {
    expect((await raw(client, "tools/call", { name: "echo", arguments: { message: "hello" } })).content[0].text).toContain("hello");
    expect((await raw(client, "tools/call", { name: "get-sum", arguments: { a: 2, b: 3 } })).content[0].text).toContain("5");
    const structured = await raw(client, "tools/call", { name: "get-structured-content", arguments: { location: "New York" } });
    expect(structured.structuredContent).toBeDefined();
    const read = await raw(client, "resources/read", { uri: "demo://resource/dynamic/text/1" });
    expect(read.contents[0].uri).toBe("demo://resource/dynamic/text/1");
    const prompt = await raw(client, "prompts/get", { name: "args-prompt", arguments: { city: "Paris" } });
    expect(JSON.stringify(prompt.messages)).toContain("Paris");
  });

  it("relays progress of a long-running operation with the client's token", async () => {
    const progress: number[] = [];
    await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3]);
  });
});

// Resource links and embedded resources name the backend's URIs: under a prefix, a gateway shows them
// under the names its clients see, so a link from a tool result (or a prompt's embedded resource)
// read back through the gateway reaches the resource. The backend is server-everything over stdio.
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE, connectClient, raw } from "../helpers.js";

const EVERYTHING = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js");

describe("resource links through a gateway with prefixes", () => {
  let proxy: FastMCPProxy;
  let client: Client;
  beforeAll(async () => {
    // Two servers, so each is mounted under its name. An empty env: get-env prints the environment.
    proxy = FastMCPProxy.asProxy({
      mcpServers: {
        everything: { command: process.execPath, args: [EVERYTHING, "stdio"], env: {} },
        fixture: { command: process.execPath, args: [FIXTURE, "stdio"] },
      },
    }, { logLevel: "error" });
    client = await connectClient(proxy);
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await proxy.close();
  });

  it("a tool result's resource_link names the URI clients read, and reading it works", async () => {
    const result = await raw(client, "tools/call", { name: "everything_get-resource-links", arguments: { count: 2 } });
    const links = (result.content as Array<{ type: string; uri?: string }>).filter((c) => c.type === "resource_link");
    expect(links).toHaveLength(2);
    for (const link of links) {
      expect(link.uri).toMatch(/^demo:\/\/everything\/resource\//);
      const read = await raw(client, "resources/read", { uri: link.uri });
      expect(read.contents[0].uri).toBe(link.uri);
    }
  });

  it("a prompt's embedded resource names the URI clients read", async () => {
    const result = await raw(client, "prompts/get", { name: "everything_resource-prompt", arguments: { resourceType: "Text", resourceId: "2" } });
    const embedded = result.messages.map((m: { content: { type: string; resource?: { uri: string } } }) => m.content).find((c: { type: string }) => c.type === "resource");
    expect(embedded.resource.uri).toMatch(/^demo:\/\/everything\/resource\//);
    const read = await raw(client, "resources/read", { uri: embedded.resource.uri });
    expect(read.contents[0].text).toBe(embedded.resource.text);
  });
});

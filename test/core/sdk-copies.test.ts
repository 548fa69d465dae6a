// An app may hold another copy of the SDK than core's (another version beside core's peer, a
// bundler's copy, or the CommonJS build beside the ESM one): its McpServer, Server and Client are
// other classes. The proxy recognises them by shape, so asProxy() takes them all the same.
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { McpServer as EsmMcpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { connectClient, rejection } from "../helpers.js";

// The SDK's CommonJS build: the same code, other class objects than the ESM build core imports.
const require = createRequire(import.meta.url);
const { McpServer } = require("@modelcontextprotocol/sdk/server/mcp.js") as typeof import("@modelcontextprotocol/sdk/server/mcp.js");
const { Client } = require("@modelcontextprotocol/sdk/client/index.js") as typeof import("@modelcontextprotocol/sdk/client/index.js");
const { InMemoryTransport } = require("@modelcontextprotocol/sdk/inMemory.js") as typeof import("@modelcontextprotocol/sdk/inMemory.js");

function otherCopyServer(): InstanceType<typeof McpServer> {
  const server = new McpServer({ name: "other-copy", version: "1.0.0" });
  server.registerTool("ping", { description: "answers pong" }, () => ({ content: [{ type: "text", text: "pong" }] }));
  return server;
}

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("SDK objects from another copy of the SDK", () => {
  it("is another copy indeed (instanceof would refuse it)", () => {
    expect(otherCopyServer()).not.toBeInstanceOf(EsmMcpServer);
  });

  it("an McpServer from another copy is served", async () => {
    proxy = FastMCPProxy.asProxy(otherCopyServer());
    const client = await connectClient(proxy);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["ping"]);
    expect(await client.callTool({ name: "ping", arguments: {} })).toMatchObject({ content: [{ type: "text", text: "pong" }] });
  });

  it("a low-level Server from another copy is served", async () => {
    proxy = FastMCPProxy.asProxy(otherCopyServer().server);
    const client = await connectClient(proxy);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["ping"]);
  });

  it("a connected Client from another copy is served", async () => {
    const server = otherCopyServer();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const backend = new Client({ name: "app", version: "1.0.0" });
    await backend.connect(clientSide);
    proxy = FastMCPProxy.asProxy(backend);
    const client = await connectClient(proxy);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["ping"]);
  });

  it("a duck-typed server shaped like McpServer (connect, close, server) is served", async () => {
    const real = otherCopyServer();
    const shaped = { connect: (t: never) => real.connect(t), close: () => real.close(), server: real.server };
    proxy = FastMCPProxy.asProxy(shaped as never);
    const client = await connectClient(proxy);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["ping"]);
  });

  it("an object with only some of the shape is still refused, saying what is accepted", async () => {
    const error = await rejection(Promise.resolve().then(() => FastMCPProxy.asProxy({ connect: () => Promise.resolve(), server: {} } as never)));
    expect(error.message).toMatch(/unsupported backend: give a URL, .* an SDK Client or an SDK server/);
  });
});

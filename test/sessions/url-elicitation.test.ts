import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ElicitRequestSchema, McpError, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { connectClient, connectDirect, raw, rejection } from "../helpers.js";

/** A backend using URL-mode elicitation (2025-11-25): a request, a completion notice, and the -32042 error. */
function urlElicitingServer(): Server {
  const server = new Server({ name: "url-elicit", version: "1" }, { capabilities: { tools: {} } });
  const passthrough = { safeParse: (data: unknown) => ({ success: true, data }) } as never;
  server.fallbackRequestHandler = async (request, extra) => {
    const params = request.params as { name?: string };
    if (request.method === "tools/list") {
      return { tools: [{ name: "connect", inputSchema: { type: "object" } }, { name: "needs_auth", inputSchema: { type: "object" } }] };
    }
    if (request.method === "tools/call" && params.name === "connect") {
      const answer = (await extra.sendRequest(
        { method: "elicitation/create", params: { mode: "url", message: "Sign in", url: "https://example.invalid/auth", elicitationId: "e-1" } },
        passthrough,
      )) as ElicitResult;
      await extra.sendNotification({ method: "notifications/elicitation/complete", params: { elicitationId: "e-1" } });
      return { content: [{ type: "text", text: `action=${answer.action}` }] };
    }
    if (request.method === "tools/call" && params.name === "needs_auth") {
      throw new McpError(-32042, "This request requires more information.", {
        elicitations: [{ mode: "url", message: "Authorize", url: "https://example.invalid/oauth", elicitationId: "e-2" }],
      });
    }
    throw new McpError(-32601, "Method not found");
  };
  return server;
}

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("URL-mode elicitation", () => {
  it("relays the request to the client, its answer back, and the completion notice", async () => {
    proxy = FastMCPProxy.asProxy(urlElicitingServer());
    const seen = { requests: [] as unknown[], completions: [] as unknown[] };
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await proxy.connect(serverSide);
    const client = new Client({ name: "url-client", version: "1" }, { capabilities: { elicitation: { form: {}, url: {} } } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      seen.requests.push(request.params);
      return { action: "accept" };
    });
    client.fallbackNotificationHandler = async (notification) => {
      if (notification.method === "notifications/elicitation/complete") seen.completions.push(notification.params);
    };
    await client.connect(clientSide);
    const result = await raw(client, "tools/call", { name: "connect", arguments: {} });
    expect(result.content[0].text).toBe("action=accept");
    expect(seen.requests).toEqual([{ mode: "url", message: "Sign in", url: "https://example.invalid/auth", elicitationId: "e-1" }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.completions).toEqual([{ elicitationId: "e-1" }]);
  });

  it("passes the -32042 URL-elicitation-required error through with its data", async () => {
    proxy = FastMCPProxy.asProxy(urlElicitingServer());
    const client = await connectClient(proxy, { capabilities: { elicitation: { url: {} } } });
    const error = await rejection(raw(client, "tools/call", { name: "needs_auth", arguments: {} }));
    const direct = await rejection(raw(await connectDirect(urlElicitingServer(), { capabilities: { elicitation: { url: {} } } }), "tools/call", { name: "needs_auth", arguments: {} }));
    expect(error.code).toBe(-32042);
    expect(error.data).toEqual(direct.data);
    // The backend's own message, with the SDK's "MCP error <code>: " once (a direct client sees it twice).
    expect(error.message).toBe(`MCP error -32042: ${direct.message.replace(/^(MCP error -32042: )+/, "")}`);
  });
});

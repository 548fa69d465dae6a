import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
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
      return { tools: ["connect", "needs_auth", "sign_in", "wait"].map((name) => ({ name, inputSchema: { type: "object" } })) };
    }
    const args = (request.params as { arguments?: { id?: string; ms?: number } }).arguments ?? {};
    // sign_in: a URL elicitation of the given id (accepted: completed later, out of band); wait: a call that takes ms.
    if (request.method === "tools/call" && params.name === "sign_in") {
      const answer = (await extra.sendRequest({ method: "elicitation/create", params: { mode: "url", message: "Sign in", url: "https://example.invalid/auth", elicitationId: args.id } }, passthrough)) as ElicitResult;
      return { content: [{ type: "text", text: `action=${answer.action}` }] };
    }
    if (request.method === "tools/call" && params.name === "wait") {
      await new Promise((resolve) => setTimeout(resolve, args.ms ?? 0));
      return { content: [{ type: "text", text: "waited" }] };
    }
    if (request.method === "tools/call" && params.name === "needs_auth" && args.id) {
      throw new McpError(-32042, "This request requires more information.", { elicitations: [{ mode: "url", message: "Authorize", url: "https://example.invalid/oauth", elicitationId: args.id }] });
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

describe("URL-mode elicitation on a backend session several clients share", () => {
  const clients: Client[] = [];
  afterEach(async () => void (await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))));

  /** A client over streamable HTTP that accepts URL elicitations; `completions`: the ids it was told completed. */
  async function urlClient(url: string) {
    const completions: string[] = [];
    const client = new Client({ name: "url-client", version: "1" }, { capabilities: { elicitation: { url: {} } } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept" }));
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === "notifications/elicitation/complete") completions.push(String((n.params as { elicitationId: string }).elicitationId));
    };
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    clients.push(client);
    return { client, completions };
  }

  it("the completion of A's elicitation (asked, or in a -32042 error) reaches A, never B, even while B's call is the only one waiting", async () => {
    const backend = urlElicitingServer();
    proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const [a, b] = [await urlClient(url!), await urlClient(url!)];
    expect((await raw(a.client, "tools/call", { name: "sign_in", arguments: { id: "asked-of-a" } })).content[0].text).toBe("action=accept");
    expect((await rejection(raw(a.client, "tools/call", { name: "needs_auth", arguments: { id: "required-of-a" } }))).code).toBe(-32042);

    // A completes both in a browser while B's call waits on the shared session.
    const busy = raw(b.client, "tools/call", { name: "wait", arguments: { ms: 300 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const elicitationId of ["asked-of-a", "required-of-a", "nobody-was-given-this"]) {
      await backend.notification({ method: "notifications/elicitation/complete", params: { elicitationId } });
    }
    await busy;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.completions).toEqual(["asked-of-a", "required-of-a"]);
    expect(b.completions).toEqual([]);
  });
});

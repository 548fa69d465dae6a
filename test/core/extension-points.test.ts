// The public extension points packages build on (docs/extension-points.md), each through real
// clients: front authentication and sessions bound to identity, HTTP statuses from middleware,
// hiding before paging, the frozen mirror, events, per-session credentials, health, CORS.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, HttpError, ProxyResource, identityOf, type Middleware } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { FIXTURE, alive, connectClient, raw, rejection, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };

/** POSTs JSON-RPC with the headers given; the answer's status, headers and body. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A bearer "verifier" for tests: the token names the client. */
const byToken = async (req: { headers: Record<string, string | string[] | undefined> }): Promise<AuthInfo | undefined> => {
  const header = req.headers.authorization;
  if (typeof header !== "string") throw new HttpError(401, "No token", { "www-authenticate": 'Bearer resource_metadata="http://x/.well-known/oauth-protected-resource"' });
  const token = header.replace(/^Bearer /, "");
  return { token, clientId: token, scopes: ["read"], extra: { identity: `test ${token}` } };
};

async function httpClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "ext", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

describe("front authentication", () => {
  it("refuses with the authenticator's status and headers before any session exists, and hands AuthInfo to hooks", async () => {
    const seen: Array<string | undefined> = [];
    class Recording extends FastMCPProxy {
      protected override beforeForward(ctx: Parameters<FastMCPProxy["beforeForward"]>[0]): void {
        seen.push(ctx.authInfo?.clientId);
      }
    }
    proxy = Recording.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0, authenticate: byToken });
    const refused = await post(url!, INIT);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain("resource_metadata=");
    expect(refused.body.error.message).toBe("No token");
    expect(proxy.sessions).toBe(0);

    const client = await httpClient(url!, "alice");
    await raw(client, "tools/list");
    expect(seen).toEqual(["alice"]);
  });

  it("a refusal that passes (429, 503) says when to retry even when the authenticator did not", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const busy = () => Promise.reject(new HttpError(503, "identity provider unreachable"));
    const { url } = await proxy.run({ transport: "http", port: 0, authenticate: busy });
    const refused = await post(url!, INIT, { authorization: "Bearer alice" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.body.error.message).toBe("identity provider unreachable");
  });

  it("binds a session to its identity: another caller on that Mcp-Session-Id gets 404, and the session goes on", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0, authenticate: byToken });
    const opened = await post(url!, INIT, { authorization: "Bearer alice" });
    const sessionId = opened.headers.get("mcp-session-id")!;
    await post(url!, { jsonrpc: "2.0", method: "notifications/initialized" }, { authorization: "Bearer alice", "mcp-session-id": sessionId });
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} };
    const stolen = await post(url!, list, { authorization: "Bearer mallory", "mcp-session-id": sessionId });
    expect(stolen.status).toBe(404);
    const own = await post(url!, list, { authorization: "Bearer alice", "mcp-session-id": sessionId });
    expect(own.status).toBe(200);
    expect(own.body.result.tools.length).toBeGreaterThan(0);
  });

  it("names who is calling with one identity: the authenticator's, else a hash of the token", () => {
    expect(identityOf(undefined)).toBeUndefined();
    expect(identityOf({ token: "t", clientId: "c", scopes: [], extra: { identity: "iss sub" } })).toBe("iss sub");
    const hashed = identityOf({ token: "secret", clientId: "c", scopes: [] })!;
    expect(hashed).toMatch(/^token:/);
    expect(hashed).not.toContain("secret");
  });

  it("answers 403 with the headers an HttpError from middleware carries, on a JSON answer", async () => {
    const stepUp: Middleware = async (ctx, next) => {
      if (ctx.method === "tools/call" && ctx.params.name === "echo") {
        throw new HttpError(403, "needs scope write", { "www-authenticate": 'Bearer error="insufficient_scope", scope="write"' });
      }
      return next();
    };
    proxy = FastMCPProxy.asProxy(createFixtureServer()).use(stepUp);
    const { url } = await proxy.run({ transport: "http", port: 0, stateless: true });
    const call = await post(url!, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } });
    expect(call.status).toBe(403);
    expect(call.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="write"');
    expect(call.body.error.code).toBe(-32012);
    expect(call.body.id).toBe(3);
  });
});

describe("hiding components per caller", () => {
  it("leaves hidden tools out before paging, and answers a hidden tool exactly as an unknown one", async () => {
    const hideEcho: Middleware = async (ctx, next) => {
      ctx.hide((component) => component.name === "echo");
      return next();
    };
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { pageSize: 2 }).use(hideEcho);
    const client = await connectClient(proxy);
    const names: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await raw(client, "tools/list", cursor ? { cursor } : {});
      expect(result.tools.length).toBeLessThanOrEqual(2);
      names.push(...result.tools.map((t: { name: string }) => t.name));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    expect(names).not.toContain("echo");
    expect(names).toContain("whoami");
    const hidden = await rejection(raw(client, "tools/call", { name: "echo", arguments: { text: "x" } }));
    const unknown = await rejection(raw(client, "tools/call", { name: "no-such-tool", arguments: {} }));
    expect(hidden.code).toBe(unknown.code);
    expect(hidden.message).toBe(unknown.message.replace("no-such-tool", "echo"));
  });

  it("keeps the mirror frozen: a filter for one caller never changes what another sees", async () => {
    const mutate: Middleware = async (ctx, next) => {
      const result = await next();
      if (ctx.method === "tools/list" && ctx.clientCapabilities?.experimental?.mutate) (result as { tools: unknown[] }).tools.pop();
      return result;
    };
    const filter: Middleware = async (ctx, next) => {
      const result = await next();
      if (ctx.method !== "tools/list" || !ctx.clientCapabilities?.experimental?.filter) return result;
      return { ...result, tools: (result as { tools: Array<{ name: string }> }).tools.filter((t) => t.name === "echo") } as typeof result;
    };
    proxy = FastMCPProxy.asProxy(createFixtureServer()).use(mutate).use(filter);
    const mutating = await connectClient(proxy, { capabilities: { experimental: { mutate: {} } } });
    const filtering = await connectClient(proxy, { capabilities: { experimental: { filter: {} } } });
    const plain = await connectClient(proxy);
    const before = (await raw(plain, "tools/list")).tools.length;
    expect((await rejection(raw(mutating, "tools/list"))).message).toMatch(/read only|not extensible|Cannot delete/i);
    expect((await raw(filtering, "tools/list")).tools).toHaveLength(1);
    expect((await raw(plain, "tools/list")).tools).toHaveLength(before);
  });
});

describe("events", () => {
  it("tells listeners of a resource update once, and the client gets it under the URI it knows", async () => {
    const stdio = { command: process.execPath, args: [FIXTURE, "stdio"] };
    proxy = FastMCPProxy.asProxy({ mcpServers: { one: stdio, two: stdio } });
    const updates: Array<{ backend: string; uri: string; backendUri: string }> = [];
    proxy.on("resourceUpdated", ({ backend, uri, backendUri }) => void updates.push({ backend: backend.name, uri, backendUri }));
    const client = await connectClient(proxy);
    const received: string[] = [];
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === "notifications/resources/updated") received.push(String(n.params?.uri));
    };
    await raw(client, "resources/subscribe", { uri: "fixture://one/static/hello" });
    await until(() => received.length === 1, "the update");
    expect(received).toEqual(["fixture://one/static/hello"]);
    expect(updates).toEqual([{ backend: "one", uri: "fixture://one/static/hello", backendUri: "fixture://static/hello" }]);
  });

  it("tells listeners of a list change once, after the mirror has it", async () => {
    const server = new McpServer({ name: "growing", version: "1" });
    server.registerTool("first", { description: "first" }, async () => ({ content: [] }));
    proxy = FastMCPProxy.asProxy(server);
    const client = await connectClient(proxy);
    const changes: string[] = [];
    let listedThen: string[] = [];
    proxy.on("listChanged", ({ kind }) => {
      changes.push(kind);
      listedThen = proxy!.registry.list("tools").tools.map((t) => t.name);
    });
    server.registerTool("late", { description: "late" }, async () => ({ content: [] }));
    await until(() => changes.length > 0, "the event");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(changes).toEqual(["tools"]);
    expect(listedThen).toContain("late");
    expect((await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name)).toContain("late");
  });

  it("tells listeners when a backend is lost and when it is back", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "shared", restart: { baseDelayMs: 50 }, logLevel: "silent" });
    const events: string[] = [];
    proxy.on("backendLost", () => void events.push("lost"));
    proxy.on("backendRestarted", () => void events.push("restarted"));
    const client = await connectClient(proxy, { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } });
    const pid = JSON.parse((await raw(client, "tools/call", { name: "whoami" })).content[0].text).pid;
    process.kill(pid, "SIGKILL");
    await until(() => events.includes("restarted"), "the restart");
    expect(events).toEqual(["lost", "restarted"]);
  });
});

describe("per-session backend credentials", () => {
  it("gives each isolated backend session the credentials chosen for its caller, and the proxy's own session none", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"]).credentials((_backend, owner) =>
      owner.authInfo ? { env: { FIXTURE_GREETING: `for ${owner.authInfo.clientId}` } } : undefined,
    );
    const { url } = await proxy.run({ transport: "http", port: 0, authenticate: byToken });
    const whoami = async (client: Client) => JSON.parse((await raw(client, "tools/call", { name: "whoami" })).content[0].text).env;
    const [alice, bob] = [await httpClient(url!, "alice"), await httpClient(url!, "bob")];
    expect(await whoami(alice)).toBe("for alice");
    expect(await whoami(bob)).toBe("for bob");
  });
});

describe("health", () => {
  it("reports each backend, and a probe during recovery leaves the next crash noticed (the backend restarts again)", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "shared", restart: { baseDelayMs: 300 }, logLevel: "silent" });
    const restarted: number[] = [];
    proxy.on("backendRestarted", () => void restarted.push(Date.now()));
    expect((await proxy.health()).started).toBe(false);
    const client = await connectClient(proxy, { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } });
    expect(await proxy.health()).toMatchObject({ started: true, backends: [{ name: "backend", status: "up" }] });
    const pidOf = async () => JSON.parse((await raw(client, "tools/call", { name: "whoami" })).content[0].text).pid as number;
    const first = await pidOf();
    process.kill(first, "SIGKILL");
    await until(async () => (await proxy!.health()).backends[0]!.status === "down", "health to say down");
    await until(() => restarted.length === 1, "the first restart");
    const second = await pidOf();
    expect(second).not.toBe(first);
    process.kill(second, "SIGKILL");
    await until(() => restarted.length === 2, "the second restart (the crash after a probe was noticed)");
    expect(alive(await pidOf())).toBe(true);
  });
});

describe("components and CORS", () => {
  it("routes subscribe and completion through the component, so a backendUri override changes them too", async () => {
    const asked: string[] = [];
    class Renamed extends ProxyResource {
      override backendUri(uri: string): string {
        asked.push(uri);
        return super.backendUri(uri);
      }
    }
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { components: { resource: Renamed } });
    const client = await connectClient(proxy);
    await raw(client, "resources/subscribe", { uri: "fixture://static/hello" });
    await raw(client, "resources/unsubscribe", { uri: "fixture://static/hello" });
    await raw(client, "resources/read", { uri: "fixture://static/hello" });
    expect(asked).toEqual(["fixture://static/hello", "fixture://static/hello", "fixture://static/hello"]);
  });

  it("answers a CORS preflight for an allowed origin, refuses others, and keeps the Host check", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer());
    const { url } = await proxy.run({ transport: "http", port: 0, allowedOrigins: ["https://app.example.com"] });
    const preflight = (origin: string) =>
      fetch(url!, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, mcp-session-id" } });
    const ok = await preflight("https://app.example.com");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toBe("content-type, mcp-session-id");
    expect(ok.headers.get("access-control-expose-headers")).toContain("mcp-session-id");
    expect((await preflight("https://evil.example.com")).status).toBe(403);
    const call = await post(url!, INIT, { origin: "https://app.example.com" });
    expect(call.status).toBe(200);
    expect(call.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect((await post(url!, INIT, { origin: "https://evil.example.com" })).status).toBe(403);
  });
});

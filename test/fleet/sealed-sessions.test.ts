// Replicas sharing a fleet key behind a plain round robin: any replica serves any session, taking
// it up from its sealed id; an id from another fleet, tampered with, made up or presented by
// another caller is 404.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE } from "../helpers.js";

const FLEET_KEY = "the fleet key the replicas share, 32+ bytes";
const proxies: FastMCPProxy[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  for (const proxy of proxies.splice(0)) await proxy.close();
});

/** A bearer token names the caller; no token: anonymous. */
const byToken = (req: { headers: Record<string, string | string[] | undefined> }): AuthInfo | undefined => {
  const token = req.headers.authorization?.toString().replace(/^Bearer /, "");
  return token ? { token, clientId: token, scopes: [], extra: { identity: `user ${token}` } } : undefined;
};

/**
 * `n` replicas of one proxy with a fleet key, and their URLs. Their stdio fixture backend is
 * shared by the sessions of a replica: one child each, whichever replica a call lands on.
 */
async function fleet(n: number, fleetKey = FLEET_KEY): Promise<{ proxy: FastMCPProxy; url: string }[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0, sessions: "shared" });
      proxies.push(proxy);
      const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, fleetKey, authenticate: byToken });
      return { proxy, url: url! };
    }),
  );
}

/** A fetch sending each request to the next URL in turn (what a load balancer without affinity does). */
function roundRobin(urls: () => string[]): typeof fetch {
  let next = 0;
  return (_input, init) => {
    const live = urls();
    return fetch(live[next++ % live.length]!, init);
  };
}

async function connect(fetchVia: typeof fetch, options: { token?: string; sampling?: boolean } = {}): Promise<Client> {
  const client = new Client({ name: "fleet-test", version: "1.0" }, { capabilities: options.sampling ? { sampling: {} } : {} });
  const headers = options.token ? { authorization: `Bearer ${options.token}` } : undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL("http://fleet.invalid/mcp"), { fetch: fetchVia, requestInit: { headers } }));
  clients.push(client);
  return client;
}

const echo = async (client: Client, text: string) => ((await client.callTool({ name: "echo", arguments: { text } })).content as { text: string }[])[0]!.text;

/** A raw JSON-RPC POST with a session id, as a client would send it. */
function post(url: string, sessionId: string, token?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-06-18",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "hi" } } }),
  });
}

describe("a fleet behind round robin", () => {
  it("serves every session on every replica, and carries on when a replica is closed", async () => {
    const replicas = await fleet(3);
    let live = replicas.map((r) => r.url);
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await connect(roundRobin(() => live)));
    for (let round = 0; round < 3; round++) {
      for (const [i, client] of sessions.entries()) expect(await echo(client, `${i}/${round}`)).toBe(`${i}/${round}`);
    }
    expect((await sessions[0]!.listTools()).tools.map((t) => t.name)).toContain("echo");
    // Every replica served some: each holds sessions it took up.
    expect(replicas.every(({ proxy }) => proxy.sessions > 0)).toBe(true);

    // One replica goes away (the load balancer stops sending to it); the clients carry on on the others.
    await replicas[1]!.proxy.close();
    live = [replicas[0]!.url, replicas[2]!.url];
    for (let round = 3; round < 6; round++) {
      for (const [i, client] of sessions.entries()) expect(await echo(client, `${i}/${round}`)).toBe(`${i}/${round}`);
    }
  }, 60_000);

  it("a session taken up elsewhere keeps its client's capabilities: the backend's sampling request reaches the client", async () => {
    const [a, b] = await fleet(2);
    let initialized = false;
    // Initialize on A, everything after it on B.
    const client = await connect((_input, init) => {
      const url = initialized ? b!.url : a!.url;
      initialized = true;
      return fetch(url, init);
    }, { sampling: true });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text: "sampled on B" }, model: "m" }));
    const answer = await client.callTool({ name: "ask", arguments: { what: "sampling" } });
    expect(JSON.stringify(answer.content)).toContain("sampled on B");
    expect(a!.proxy.sessions).toBe(1);
    expect(b!.proxy.sessions).toBe(1);
  });
});

describe("session ids a fleet does not honour", () => {
  it("an id from another fleet, tampered with, or made up is 404; the fleet's own is served", async () => {
    const [ours, sibling] = await fleet(2);
    const [theirs] = await fleet(1, "another fleet's key, also 32+ bytes long");
    const id = async (url: string) => ((await connect(roundRobin(() => [url]))).transport as StreamableHTTPClientTransport).sessionId!;
    const foreign = await id(theirs!.url);
    const sealed = Buffer.from(await id(sibling!.url), "base64url");
    sealed[20]! ^= 1;
    for (const bad of [foreign, sealed.toString("base64url"), "not-a-session", crypto.randomUUID()]) {
      const res = await post(ours!.url, bad);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Session not found/);
    }
    expect(ours!.proxy.sessions).toBe(0);
    expect((await post(ours!.url, await id(sibling!.url))).status).toBe(200);
  });

  it("another caller presenting a session's id on another replica is 404; its own caller is served", async () => {
    const [a, b] = await fleet(2);
    const alice = await connect(roundRobin(() => [a!.url]), { token: "alice" });
    const id = (alice.transport as StreamableHTTPClientTransport).sessionId!;
    expect((await post(b!.url, id, "bob")).status).toBe(404);
    expect((await post(b!.url, id)).status).toBe(404); // anonymous
    expect(b!.proxy.sessions).toBe(0);
    expect((await post(b!.url, id, "alice")).status).toBe(200);
  });

  it("DELETE ends the session where it is held and is refused there afterwards, on the replica that was told", async () => {
    const [a, b] = await fleet(2);
    const client = await connect(roundRobin(() => [a!.url]));
    const id = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const remove = (url: string) => fetch(url, { method: "DELETE", headers: { "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" } });
    expect((await remove(b!.url)).status).toBe(200); // not held on B: B refuses it from now on
    expect((await post(b!.url, id)).status).toBe(404);
    expect((await remove(a!.url)).status).toBe(200);
    expect(a!.proxy.sessions).toBe(0);
    expect((await post(a!.url, id)).status).toBe(404);
  });
});

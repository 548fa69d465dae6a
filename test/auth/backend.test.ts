// The proxy as an OAuth client to its backends: no token passthrough, static credentials per
// backend, client credentials, on-behalf-of token exchange, and (named as against the spec)
// passthrough. Backends are SDK servers behind the SDK's own bearer middleware.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { backendAuth, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { startFront, type Front } from "./setup.js";
import { startProtectedBackend, type ProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function authServer(): Promise<TestAuthServer> {
  const as = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
  cleanup.push(() => as.close());
  return as;
}

async function backend(as: TestAuthServer): Promise<ProtectedBackend> {
  const b = await startProtectedBackend(as);
  cleanup.push(() => b.close());
  return b;
}

/** The proxy in front of `servers`, its front protected by bearerAuth, each backend with `auth[name]`. */
async function proxyFor(as: TestAuthServer, servers: Record<string, ProtectedBackend>, auth: Record<string, BackendAuthSpec>, log?: string[]): Promise<Front> {
  const front = await startFront({
    as,
    rules: false,
    ...(log ? { log } : {}),
    backend: () => ({ mcpServers: Object.fromEntries(Object.entries(servers).map(([name, b]) => [name, { url: b.url }])) }),
    configure: (proxy) => void proxy.credentials(backendAuth(auth, { logger: { warn: (m) => log?.push(`warn: ${m}`) } })),
  });
  cleanup.push(() => front.close());
  return front;
}

async function frontClient(front: Front, token: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "front", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } }));
  cleanup.push(() => client.close());
  return client;
}

const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

describe("no token passthrough", () => {
  it("the client's token and headers never reach a backend; static credentials reach only their own backend", async () => {
    const as = await authServer();
    const [a, b] = [await backend(as), await backend(as)];
    const tokenA = await as.mint({ sub: "svc-a", aud: a.url });
    const tokenB = await as.mint({ sub: "svc-b", aud: b.url });
    const front = await proxyFor(as, { a, b }, { a: { type: "bearer", token: tokenA }, b: { type: "headers", headers: { authorization: `Bearer ${tokenB}` } } });
    const frontToken = await as.mint({ sub: "alice", aud: front.url, scope: "notes:read" });
    const client = await frontClient(front, frontToken, { "x-client-secret": "client-only-value", cookie: "session=client-only" });
    expect(text(await client.callTool({ name: "a_whoami" }))).toBe("svc-a");
    expect(text(await client.callTool({ name: "b_whoami" }))).toBe("svc-b");

    const everything = JSON.stringify([a.seen, b.seen]);
    expect(a.seen.length + b.seen.length).toBeGreaterThan(4);
    expect(everything.split(frontToken).length - 1).toBe(0);
    expect(everything).not.toContain("client-only");
    expect(JSON.stringify(a.seen)).not.toContain(tokenB);
    expect(JSON.stringify(b.seen)).not.toContain(tokenA);
  });

  it("passthrough is opt-in, warned about at start, and then sends the client's token", async () => {
    const as = await authServer();
    const b = await backend(as);
    const log: string[] = [];
    const service = await as.mint({ sub: "svc", aud: b.url });
    const front = await proxyFor(as, { b }, { b: { type: "passthrough", primary: { type: "bearer", token: service } } }, log);
    expect(log.join("\n")).toMatch(/warn: backend "b": auth passthrough .* against the MCP security guidance/);
    // A token whose audience names both the proxy and the backend: the only kind passthrough can work with.
    const frontToken = await as.mint({ sub: "alice", aud: [front.url, b.url] });
    const client = await frontClient(front, frontToken);
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    expect(JSON.stringify(b.seen)).toContain(frontToken);
  });
});

describe("OAuth clients to backends", () => {
  it("token exchange follows a client that refreshes its token mid-session: the new token is the one exchanged", async () => {
    const as = await authServer();
    const b = await backend(as);
    const exchange = { type: "token_exchange" as const, tokenEndpoint: `${as.url}/token`, clientId: "proxy", clientSecret: "proxy-secret", resource: b.url };
    const front = await proxyFor(as, { b }, { b: { ...exchange, primary: { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", issuer: as.issuer } } });
    let token = await as.mint({ sub: "alice", aud: front.url, scope: "notes:read" });
    const first = token;
    // One session throughout; each request carries whatever token the client holds now.
    const client = new Client({ name: "front", version: "1" });
    const fetchWithToken: typeof fetch = (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${token}`);
      return fetch(url, { ...init, headers });
    };
    const transport = new StreamableHTTPClientTransport(new URL(front.url), { fetch: fetchWithToken });
    await client.connect(transport);
    cleanup.push(() => client.close());
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    const exchangedFirst = b.seen.at(-1)?.authorization;
    token = await as.mint({ sub: "alice", aud: front.url, scope: "notes:read notes:write" });
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    const sessionId = transport.sessionId;
    expect(sessionId).toBeDefined();
    const subjects = as.calls("/token").filter((r) => r.form.grant_type === "urn:ietf:params:oauth:grant-type:token-exchange").map((r) => r.form.subject_token);
    expect(subjects).toEqual([first, token]);
    // The backend got the token exchanged for the refreshed one.
    expect(b.seen.at(-1)?.authorization).toMatch(/^Bearer /);
    expect(b.seen.at(-1)?.authorization).not.toBe(exchangedFirst);
  });

  it("client credentials: discovery from the backend's 401, a token for the backend's audience", async () => {
    const as = await authServer();
    const b = await backend(as);
    const front = await proxyFor(as, { b }, { b: { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", issuer: as.issuer } });
    const client = await frontClient(front, await as.mint({ sub: "alice", aud: front.url }));
    expect(text(await client.callTool({ name: "whoami" }))).toBe("proxy");
    const grant = as.calls("/token").find((r) => r.form.grant_type === "client_credentials");
    expect(grant?.form.resource).toBe(b.url);
  });

  it("token exchange: each user reaches the backend as themselves, one exchange per token (cached, single flight)", async () => {
    const as = await authServer();
    const b = await backend(as);
    const front = await proxyFor(as, { b }, {
      b: {
        type: "token_exchange",
        tokenEndpoint: `${as.url}/token`,
        clientId: "proxy",
        clientSecret: "proxy-secret",
        resource: b.url,
        primary: { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", issuer: as.issuer },
      },
    });
    const alice = await frontClient(front, await as.mint({ sub: "alice", aud: front.url, scope: "notes:read" }));
    const bob = await frontClient(front, await as.mint({ sub: "bob", aud: front.url, scope: "notes:read" }));
    const calls = await Promise.all([1, 2, 3].flatMap(() => [alice.callTool({ name: "whoami" }), bob.callTool({ name: "whoami" })]));
    expect(calls.map(text).sort()).toEqual(["alice", "alice", "alice", "bob", "bob", "bob"]);
    const exchanges = as.calls("/token").filter((r) => r.form.grant_type === "urn:ietf:params:oauth:grant-type:token-exchange");
    expect(exchanges.length).toBe(2);
    expect(exchanges.every((r) => r.form.resource === b.url && r.form.subject_token_type === "urn:ietf:params:oauth:token-type:access_token")).toBe(true);
  });
});

// The proxy as an OAuth 2.1 resource server, over real HTTP, with tokens from a real (test)
// authorization server: every front case of issue 10.
import { request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { authorize } from "@fastmcp-proxy/auth";
import { TestAuthServer, type MintOptions } from "../fixtures/auth-server.js";
import { BrowserlessProvider, INIT, RULES, call, openSession, post, startFront, type Front } from "./setup.js";

let front: Front | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await front?.close();
  front = undefined;
});

const challengeOf = (r: { headers: Headers }) => r.headers.get("www-authenticate") ?? "";

describe("protected resource metadata (RFC 9728)", () => {
  it("is served at the path-inserted well-known URL and at the root, with the configured resource", async () => {
    front = await startFront({ bearer: { requiredScopes: ["notes:read"] } });
    const origin = new URL(front.url).origin;
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(await response.json()).toEqual({
        resource: front.url,
        authorization_servers: [front.as.issuer],
        scopes_supported: ["notes:read", "notes:write", "notes:admin"],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("names the JWT verifier's issuer as the authorization server when none is configured", async () => {
    front = await startFront({ bearer: { authorizationServers: undefined } });
    const response = await fetch(`${new URL(front.url).origin}/.well-known/oauth-protected-resource/mcp`);
    expect(((await response.json()) as { authorization_servers: string[] }).authorization_servers).toEqual([front.as.issuer]);
  });

  it("names the external URL behind a reverse proxy, whatever Host says", async () => {
    front = await startFront({ resource: () => "https://mcp.example.com/team/mcp" });
    const { port } = new URL(front.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/.well-known/oauth-protected-resource/team/mcp", headers: { host: "localhost" } }, (res) => {
        let data = "";
        res.on("data", (c) => (data += c)).on("end", () => resolve(data));
      });
      req.on("error", reject).end();
    });
    expect(JSON.parse(body).resource).toBe("https://mcp.example.com/team/mcp");
    const noToken = await post(front.url, INIT);
    expect(challengeOf(noToken)).toContain('resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/team/mcp"');
    // Tokens for that audience are the ones accepted.
    const token = await front.as.mint({ aud: "https://mcp.example.com/team/mcp", scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

describe("refusals", () => {
  it("no token: 401 with resource_metadata and scope, and no error=", async () => {
    front = await startFront({ bearer: { requiredScopes: ["notes:read"] } });
    const r = await post(front.url, INIT);
    expect(r.status).toBe(401);
    expect(challengeOf(r)).toBe(`Bearer scope="notes:read", resource_metadata="${new URL(front.url).origin}/.well-known/oauth-protected-resource/mcp"`);
    expect(r.body.error.code).toBe(-32011);
  });

  it.each([
    ["expired", { expiresIn: -3600 }],
    ["badly signed", { alg: "wrong-key" as const }],
    ["unsigned (alg none)", { alg: "none" as const }],
    ["of another issuer", { iss: "https://evil.example.com" }],
    ["for another audience", { aud: "https://other.example.com/mcp" }],
    ["without an audience", { aud: null }],
    ["without exp", { expiresIn: null }],
  ])("a token %s: 401 invalid_token", async (_what, mint) => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:read", ...mint });
    const r = await post(front.url, INIT, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(401);
    expect(challengeOf(r)).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
  });

  it("garbage and non-Bearer credentials are refused", async () => {
    front = await startFront();
    expect((await post(front.url, INIT, { authorization: "Bearer not-a-jwt" })).status).toBe(401);
    const basic = await post(front.url, INIT, { authorization: "Basic YTpi" });
    expect(basic.status).toBe(401);
    expect(challengeOf(basic)).toContain('error="invalid_request"');
  });

  it("a token in the query string is refused, and neither echoed nor logged", async () => {
    const lines: string[] = [];
    front = await startFront({ log: lines });
    const token = await front.as.mint({ scope: "notes:read" });
    const r = await post(`${front.url}?access_token=${token}`, INIT);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body) + challengeOf(r)).not.toContain(token);
    expect(lines.join("")).not.toContain(token);
  });

  it("the Host and Origin checks still run before authentication", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:read" });
    const evil = await post(front.url, INIT, { authorization: `Bearer ${token}`, origin: "https://evil.example.com" });
    expect(evil.status).toBe(403);
    expect(challengeOf(evil)).toBe("");
  });

  it("allowedOrigins [\"*\"] (--allow-origin '*') keeps the Origin check; an origin named explicitly passes it", async () => {
    front = await startFront({ http: { allowedOrigins: ["*", "https://app.example.com"] } });
    const token = await front.as.mint({ scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}`, origin: "https://evil.example.com" })).status).toBe(403);
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}`, origin: "https://app.example.com" })).status).toBe(200);
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}`, origin: new URL(front.url).origin })).status).toBe(200);
  });

  it("required scopes missing from the token: 403 insufficient_scope", async () => {
    front = await startFront({ bearer: { requiredScopes: ["notes:read"] } });
    const token = await front.as.mint({ scope: "profile" });
    const r = await post(front.url, INIT, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect(challengeOf(r)).toContain('error="insufficient_scope", scope="profile notes:read"');
  });
});

describe("per-tool authorization at the HTTP layer", () => {
  it("a visible tool whose scope the token lacks: HTTP 403 insufficient_scope naming the scopes", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:read" });
    const session = await openSession(front.url, token);
    expect((await call(front.url, token, session, "read_notes")).body.result.content[0].text).toBe("notes");
    const denied = await call(front.url, token, session, "write_note", { text: "x" });
    expect(denied.status).toBe(403);
    expect(challengeOf(denied)).toContain('error="insufficient_scope"');
    expect(challengeOf(denied)).toContain('scope="notes:read notes:write"');
    expect(challengeOf(denied)).toContain("resource_metadata=");
    expect(denied.body.error.code).toBe(-32012);
  });

  it("the 2026-07-28 front answers a missing scope with HTTP 403 and the challenge, as the legacy one does", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:read" });
    const modern = (name: string, args: object) =>
      post(
        front!.url,
        {
          jsonrpc: "2.0",
          id: 7,
          method: "tools/call",
          params: { name, arguments: args, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} } },
        },
        { authorization: `Bearer ${token}`, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name },
      );
    expect((await modern("read_notes", {})).body.result.content[0].text).toBe("notes");
    const denied = await modern("write_note", { text: "x" });
    expect(denied.status).toBe(403);
    expect(challengeOf(denied)).toContain('error="insufficient_scope"');
    expect(challengeOf(denied)).toContain('scope="notes:read notes:write"');
    expect(challengeOf(denied)).toContain("resource_metadata=");
  });

  it("scope implication: notes:admin implies notes:write implies notes:read", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:admin" });
    const session = await openSession(front.url, token);
    expect((await call(front.url, token, session, "write_note", { text: "x" })).body.result.content[0].text).toBe("wrote x");
    expect((await call(front.url, token, session, "read_notes")).status).toBe(200);
    expect((await call(front.url, token, session, "admin_reset")).body.result.content[0].text).toBe("reset");
  });

  it("a hidden tool is not listed, and calling it is indistinguishable from an unknown name", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:write" });
    const session = await openSession(front.url, token);
    const list = await post(front.url, { jsonrpc: "2.0", id: 5, method: "tools/list" }, { authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" });
    expect(list.body.result.tools.map((t: { name: string }) => t.name)).not.toContain("admin_reset");
    const hidden = await call(front.url, token, session, "admin_reset");
    const unknown = await call(front.url, token, session, "no_such_tool");
    expect(hidden.status).toBe(200);
    expect(challengeOf(hidden)).toBe("");
    expect(hidden.body.error.code).toBe(unknown.body.error.code);
    expect(hidden.body.error.message.replace("admin_reset", "X")).toBe(unknown.body.error.message.replace("no_such_tool", "X"));
  });

  it("roles from a claim path and predicates on claims: Forbidden, with no scope challenge", async () => {
    front = await startFront();
    const plain = await front.as.mint({ scope: "notes:read", claims: { tenant: "other", realm_access: { roles: ["user"] } } });
    const s1 = await openSession(front.url, plain);
    for (const name of ["tenant_report", "ops_restart"]) {
      const r = await call(front.url, plain, s1, name);
      expect(r.body.error.code).toBe(-32012);
      expect(challengeOf(r)).toBe("");
    }
    const ops = await front.as.mint({ sub: "bob", scope: "notes:read", claims: { tenant: "acme", realm_access: { roles: ["ops"] } } });
    const s2 = await openSession(front.url, ops);
    expect((await call(front.url, ops, s2, "tenant_report")).body.result.content[0].text).toBe("report");
    expect((await call(front.url, ops, s2, "ops_restart")).body.result.content[0].text).toBe("restarted");
  });
});

describe("resources served by a template", () => {
  it("a rule on a URI prefix judges the concrete URI read or subscribed through a template, not the template", async () => {
    front = await startFront({
      backend: () => {
        const server = new McpServer({ name: "files", version: "1" }, { capabilities: { resources: { subscribe: true } } });
        server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
        server.registerResource("files", new ResourceTemplate("files://{folder}/{name}", { list: undefined }), { mimeType: "text/plain" }, async (uri) => ({ contents: [{ uri: uri.href, text: `content of ${uri.href}` }] }));
        return server;
      },
      rules: { ...RULES, rules: [...RULES.rules, { resources: "files://secret/*", scopes: ["notes:admin"] }] },
    });
    const token = await front.as.mint({ scope: "notes:read" });
    const session = await openSession(front.url, token);
    const headers = { authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
    const read = (uri: string, method = "resources/read") => post(front!.url, { jsonrpc: "2.0", id: 3, method, params: { uri } }, headers);
    expect((await read("files://public/a")).body.result.contents[0].text).toBe("content of files://public/a");
    expect((await read("files://public/a", "resources/subscribe")).body.result).toEqual({});
    for (const method of ["resources/read", "resources/subscribe"]) {
      const denied = await read("files://secret/a", method);
      expect(denied.status, method).toBe(403);
      expect(challengeOf(denied)).toContain('scope="notes:read notes:admin"');
    }
  });
});

describe("sessions and keys", () => {
  it("another principal reusing a session id gets 404, and the session is unaffected", async () => {
    front = await startFront();
    const alice = await front.as.mint({ sub: "alice", scope: "notes:read" });
    const mallory = await front.as.mint({ sub: "mallory", scope: "notes:read" });
    const session = await openSession(front.url, alice);
    expect((await call(front.url, mallory, session, "read_notes")).status).toBe(404);
    expect((await call(front.url, alice, session, "read_notes")).status).toBe(200);
    // The same principal with a fresh token keeps the session.
    const alice2 = await front.as.mint({ sub: "alice", scope: "notes:read" });
    expect((await call(front.url, alice2, session, "read_notes")).status).toBe(200);
  });

  it("JWKS rotation is picked up without a restart; a key dropped from the JWKS stops working", async () => {
    front = await startFront({ jwt: { jwksCacheMaxAgeMs: 0 }, bearer: { cache: { maxEntries: 0 } } });
    const before = await front.as.mint({ scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${before}` })).status).toBe(200);
    await front.as.rotate(true);
    const after = await front.as.mint({ scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${after}` })).status).toBe(200);
    const stale = await post(front.url, INIT, { authorization: `Bearer ${before}` });
    expect(stale.status).toBe(401);
    expect(challengeOf(stale)).toContain('error="invalid_token"');
  });

  it("JWKS unreachable with no key cached: 503 with Retry-After, never allowed", async () => {
    front = await startFront();
    front.as.jwksMode = "down";
    const token = await front.as.mint({ scope: "notes:read" });
    const r = await post(front.url, INIT, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("5");
    front.as.jwksMode = "error";
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(503);
    front.as.jwksMode = "ok";
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("a JWT typed as something else than an access token is refused; with requireAtJwt, only typ at+jwt (RFC 9068 §4)", async () => {
    const as = await TestAuthServer.start();
    const mint = (o: MintOptions) => as.mint({ aud: front!.url, ...o });
    front = await startFront({ as });
    for (const typ of ["at+jwt", "application/at+jwt", "JWT", null]) {
      expect((await post(front.url, INIT, { authorization: `Bearer ${await mint({ scope: "notes:read", typ })}` })).status, String(typ)).toBe(200);
    }
    for (const typ of ["dpop+jwt", "logout+jwt", "id_token+jwt"]) {
      const r = await post(front.url, INIT, { authorization: `Bearer ${await mint({ scope: "notes:read", typ })}` });
      expect(r.status, typ).toBe(401);
      expect(challengeOf(r)).toContain("not an access token");
    }
    await front.close();
    front = await startFront({ as, jwt: { requireAtJwt: true } });
    expect((await post(front.url, INIT, { authorization: `Bearer ${await mint({ scope: "notes:read" })}` })).status).toBe(200);
    expect((await post(front.url, INIT, { authorization: `Bearer ${await mint({ scope: "notes:read", typ: "JWT" })}` })).status).toBe(401);
    expect((await post(front.url, INIT, { authorization: `Bearer ${await mint({ scope: "notes:read", typ: null })}` })).status).toBe(401);
    await as.close();
  });

  it("JWKS down for longer than jwksStaleMaxAgeMs: the stale keys stop verifying (503)", async () => {
    front = await startFront({ jwt: { jwksCacheMaxAgeMs: 0, jwksStaleMaxAgeMs: 300 }, bearer: { cache: { maxEntries: 0 } } });
    const token = await front.as.mint({ scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(200);
    front.as.jwksMode = "down";
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    const r = await post(front.url, INIT, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(503);
  });

  it("JWKS down after keys were fetched: the cached keys keep verifying (stale if error)", async () => {
    front = await startFront({ jwt: { jwksCacheMaxAgeMs: 0 }, bearer: { cache: { maxEntries: 0 } } });
    const token = await front.as.mint({ scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${token}` })).status).toBe(200);
    front.as.jwksMode = "down";
    const second = await front.as.mint({ sub: "bob", scope: "notes:read" });
    expect((await post(front.url, INIT, { authorization: `Bearer ${second}` })).status).toBe(200);
    expect(front.as.jwksFetches).toBeGreaterThanOrEqual(2);
  });

  it("a verified token is not verified again: the JWKS is fetched once for many requests", async () => {
    front = await startFront();
    const token = await front.as.mint({ scope: "notes:read" });
    const session = await openSession(front.url, token);
    for (let i = 0; i < 5; i++) expect((await call(front.url, token, session, "read_notes", {}, 10 + i)).status).toBe(200);
    expect(front.as.jwksFetches).toBe(1);
  });
});

describe("the SDK client's own OAuth flow through the proxy", () => {
  it("401 → metadata → authorization server → token → list and call, then step-up on a tool that needs more scope", async () => {
    front = await startFront({ bearer: { requiredScopes: ["notes:read"] } });
    const provider = new BrowserlessProvider();
    const connect = async () => {
      const client = new Client({ name: "oauth-client", version: "1" });
      const transport = new StreamableHTTPClientTransport(new URL(front!.url), { authProvider: provider });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    };
    const first = new StreamableHTTPClientTransport(new URL(front.url), { authProvider: provider });
    await expect(new Client({ name: "oauth-client", version: "1" }).connect(first)).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizations[0]?.searchParams.get("scope")).toBe("notes:read");
    expect(provider.authorizations[0]?.searchParams.get("resource")).toBe(front.url);
    await first.finishAuth(provider.code as string);

    const { client, transport } = await connect();
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["ops_restart", "read_notes", "tenant_report", "write_note"]);
    expect(((await client.callTool({ name: "read_notes" })).content as { text: string }[])[0]?.text).toBe("notes");

    // write_note needs notes:write: the 403 challenge makes the client authorize again with more scope.
    await expect(client.callTool({ name: "write_note", arguments: { text: "hi" } })).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizations[1]?.searchParams.get("scope")).toBe("notes:read notes:write");
    await transport.finishAuth(provider.code as string);
    const again = await connect();
    expect(((await again.client.callTool({ name: "write_note", arguments: { text: "hi" } })).content as { text: string }[])[0]?.text).toBe("wrote hi");
  });
});

describe("an authorization server that refuses scopes a client did not register", () => {
  it("with every rule scope in scopes_supported, the SDK client registers for them and reaches every tool it may use", async () => {
    const as = await TestAuthServer.start({ refuseUnregisteredScopes: true, scopesSupported: ["notes:read", "notes:write", "notes:admin"] });
    front = await startFront({ as, bearer: { requiredScopes: [], scopesSupported: authorize(RULES).scopes } });
    const provider = new BrowserlessProvider();
    const first = new StreamableHTTPClientTransport(new URL(front.url), { authProvider: provider });
    await expect(new Client({ name: "oauth-client", version: "1" }).connect(first)).rejects.toThrow(UnauthorizedError);
    await first.finishAuth(provider.code as string);
    const client = new Client({ name: "oauth-client", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { authProvider: provider }));
    clients.push(client);
    expect(((await client.callTool({ name: "write_note", arguments: { text: "hi" } })).content as { text: string }[])[0]?.text).toBe("wrote hi");
    await as.close();
  });
});

describe("the legacy SSE front", () => {
  it("refuses GET /sse without a token with the same challenge", async () => {
    front = await startFront({ http: { sse: true } });
    const response = await fetch(`${new URL(front.url).origin}/sse`, { headers: { accept: "text/event-stream" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("resource_metadata=");
    await response.body?.cancel();
  });
});

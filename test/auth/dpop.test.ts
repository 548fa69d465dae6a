// DPoP (RFC 9449) for backend grants, against an authorization server and an MCP server that take
// only DPoP-bound tokens (their proof checks are written from the RFC, apart from the proxy's): a
// fresh proof per request, tokens bound to the grant's key, each server's nonce honoured with one
// retry, and per-caller grants each with their own key.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { decodeJwt, type JWK } from "jose";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { DPoPKey, UserAuthorization, backendAuth, identityString, login } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { DPoPChecker } from "../fixtures/dpop.js";
import { connectClient, rejection } from "../helpers.js";
import { Browser, startFront } from "./setup.js";
import { startProtectedBackend, type ProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

/** The access tokens the backend was shown, with the key each is bound to. */
function presented(backend: ProtectedBackend): { token: string; sub: string; jkt: string; proof: string }[] {
  return backend.seen
    .filter((h) => typeof h.authorization === "string")
    .map((h) => {
      const token = (h.authorization as string).split(" ")[1] as string;
      const claims = decodeJwt(token) as { sub: string; cnf?: { jkt: string } };
      return { token, sub: claims.sub, jkt: claims.cnf?.jkt ?? "", proof: String(h.dpop) };
    });
}

/** One request to the backend as someone holding `token` would make it. */
async function present(backend: ProtectedBackend, authorization: string, proof?: string): Promise<number> {
  const response = await fetch(backend.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization, ...(proof ? { dpop: proof } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "thief", version: "1" } } }),
  });
  await response.body?.cancel();
  return response.status;
}

describe("DPoP for a service account (client_credentials)", () => {
  it("binds the token to the proxy's key, sends a fresh proof with every request, and retries each server's nonce once", async () => {
    const atAs = new DPoPChecker("as-nonce");
    const atBackend = new DPoPChecker("backend-nonce");
    const as = await TestAuthServer.start({ clients: [{ clientId: "svc", clientSecret: "s" }], dpop: atAs });
    cleanup.push(() => as.close());
    const backend = await startProtectedBackend(as, { dpop: atBackend });
    cleanup.push(() => backend.close());
    const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url: backend.url } } });
    proxy.credentials(backendAuth({ api: { type: "client_credentials", clientId: "svc", clientSecret: "s", issuer: as.issuer, dpop: true } }));
    cleanup.push(() => proxy.close());
    await proxy.start();
    const client = await connectClient(proxy);
    for (let i = 0; i < 3; i++) expect(text(await client.callTool({ name: "whoami" }))).toBe("svc");

    // The token endpoint: a proof without the nonce, challenged, then one with it (and no third).
    const tokenRequests = as.calls("/token");
    expect(tokenRequests).toHaveLength(2);
    expect(tokenRequests.every((r) => typeof r.headers.dpop === "string")).toBe(true);
    expect(atAs.nonceChallenges).toBe(1);
    expect(atAs.proofs).toEqual([expect.objectContaining({ htm: "POST", htu: `${as.url}/token`, nonce: "as-nonce" })]);
    // The backend: every token presented as DPoP, bound to the key of the token request's proof.
    const shown = presented(backend);
    expect(shown.length).toBeGreaterThan(3);
    expect(backend.seen.filter((h) => h.authorization).every((h) => /^DPoP /.test(h.authorization as string))).toBe(true);
    expect(new Set(shown.map((s) => s.jkt))).toEqual(new Set([atAs.proofs[0]?.jkt]));
    expect(atBackend.proofs.every((p) => p.nonce === "backend-nonce")).toBe(true);
    expect(backend.refusals.every((reason) => reason === "use the nonce given")).toBe(true);
    // Never a proof twice: every jti the two servers saw is new.
    expect(atBackend.replays + atAs.replays).toBe(0);
    const jtis = [...atAs.proofs, ...atBackend.proofs].map((p) => p.jti);
    expect(new Set(jtis).size).toBe(jtis.length);
    expect(new Set(shown.map((s) => s.proof)).size).toBe(shown.length);
  });

  it("a token taken from the wire is no use: not as a bearer token, not with another key, not with a replayed proof", async () => {
    const as = await TestAuthServer.start({ clients: [{ clientId: "svc", clientSecret: "s" }], dpop: new DPoPChecker() });
    cleanup.push(() => as.close());
    const backend = await startProtectedBackend(as, { dpop: new DPoPChecker() });
    cleanup.push(() => backend.close());
    const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url: backend.url } } });
    proxy.credentials(backendAuth({ api: { type: "client_credentials", clientId: "svc", clientSecret: "s", issuer: as.issuer, dpop: true } }));
    cleanup.push(() => proxy.close());
    await proxy.start();
    expect(text(await (await connectClient(proxy)).callTool({ name: "whoami" }))).toBe("svc");
    const [stolen] = presented(backend);
    const { token, proof } = stolen as { token: string; proof: string };
    const thief = await DPoPKey.generate();
    expect(await present(backend, `Bearer ${token}`)).toBe(401);
    expect(await present(backend, `DPoP ${token}`, await thief.proof("POST", new URL(backend.url), token))).toBe(401);
    expect(await present(backend, `DPoP ${token}`, proof)).toBe(401);
    expect(backend.refusals).toEqual(["a DPoP-bound token is presented with the DPoP scheme", "the token is bound to another key", "a replayed proof (jti seen before)"]);
  });

  it("the key never shows in a log line or a JSON dump", async () => {
    const key = await DPoPKey.generate(true);
    const { d } = await key.privateJwk();
    for (const shown of [inspect(key, { depth: 5, showHidden: true }), JSON.stringify({ key }), String(key)]) expect(shown).not.toContain(d as string);
  });
});

describe("DPoP for a signed-in backend (authorization_code)", () => {
  it("the login makes the grant's key and keeps it in the 0600 token file; the proxy presents the token with it, and refreshes it with a proof", async () => {
    const atAs = new DPoPChecker();
    const as = await TestAuthServer.start({ tokenLifetimeSec: 2, dpop: atAs });
    cleanup.push(() => as.close());
    const backend = await startProtectedBackend(as, { dpop: new DPoPChecker() });
    cleanup.push(() => backend.close());
    const dir = mkdtempSync(join(tmpdir(), "auth-dpop-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, "api.json");
    const open = async (url: URL) => void (await fetch((await fetch(url, { redirect: "manual" })).headers.get("location") as string));
    await login("api", { serverUrl: backend.url, tokenFile, open, dpop: true });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, "utf8")) as { dpopKey: JWK; tokens: { token_type: string } };
    expect(stored.tokens.token_type).toBe("DPoP");
    const jkt = await (await DPoPKey.fromPrivateJwk(stored.dpopKey)).thumbprint();
    expect(atAs.proofs.map((p) => p.jkt)).toEqual([jkt]);

    const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url: backend.url } } });
    proxy.credentials(backendAuth({ api: { type: "authorization_code", tokenFile, dpop: true } }));
    cleanup.push(() => proxy.close());
    await proxy.start();
    const client = await connectClient(proxy);
    await new Promise((r) => setTimeout(r, 1100)); // past half the 2 s lifetime: refreshed before the call
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    const refreshes = as.calls("/token").filter((r) => r.form.grant_type === "refresh_token");
    expect(refreshes.length).toBeGreaterThanOrEqual(1);
    expect(refreshes.every((r) => typeof r.headers.dpop === "string")).toBe(true);
    expect(new Set(atAs.proofs.map((p) => p.jkt))).toEqual(new Set([jkt]));
    expect(new Set(presented(backend).map((s) => s.jkt))).toEqual(new Set([jkt]));
  });
});

describe("DPoP for per-user grants (per_user)", () => {
  it("each caller's grant has its own key: bob's key cannot present alice's token", async () => {
    const atAs = new DPoPChecker();
    const as = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }], dpop: atAs });
    cleanup.push(() => as.close());
    const backend = await startProtectedBackend(as, { dpop: new DPoPChecker() });
    cleanup.push(() => backend.close());
    let users: UserAuthorization | undefined;
    const front = await startFront({
      as,
      rules: false,
      backend: () => backend.url,
      configure: (proxy, _as, base) => {
        users = new UserAuthorization({ callbackUrl: `${base}/oauth/callback` });
        const primary = { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", dpop: true } as const;
        proxy.use(users.middleware).credentials(backendAuth({ backend: { type: "per_user", primary, dpop: true } }, { users }));
        return [users.route];
      },
    });
    cleanup.push(() => front.close());
    const signedIn = async (sub: string) => {
      const client = new Client({ name: sub, version: "1" }, { capabilities: { elicitation: { url: {} } } });
      await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { requestInit: { headers: { authorization: `Bearer ${await as.mint({ sub, aud: front.url })}` } } }));
      cleanup.push(() => client.close());
      const needed = await rejection(client.callTool({ name: "whoami" }));
      expect(needed).toBeInstanceOf(McpError);
      expect((await new Browser(sub).open(needed.data.elicitations[0].url)).status).toBe(200);
      expect(text(await client.callTool({ name: "whoami" }))).toBe(sub);
    };
    await signedIn("alice");
    await signedIn("bob");

    const byUser = (sub: string) => presented(backend).filter((s) => s.sub === sub);
    const alice = byUser("alice");
    const bob = byUser("bob");
    expect(new Set(alice.map((s) => s.jkt)).size).toBe(1);
    expect(new Set(bob.map((s) => s.jkt)).size).toBe(1);
    expect(alice[0]?.jkt).not.toBe(bob[0]?.jkt);
    // The service account (the proxy's own discovery session) has a key of its own too.
    expect(new Set(byUser("proxy").map((s) => s.jkt))).not.toContain(alice[0]?.jkt);
    // Bob's key, as kept with his grant, cannot present alice's token; alice's own can.
    const keyOf = (sub: string) => (users as UserAuthorization).dpopKey("backend", identityString({ issuer: as.issuer, subject: sub }))();
    const token = (alice[0] as { token: string }).token;
    expect(await present(backend, `DPoP ${token}`, await (await keyOf("bob")).proof("POST", new URL(backend.url), token))).toBe(401);
    expect(backend.refusals.at(-1)).toBe("the token is bound to another key");
    expect(await (await keyOf("bob")).thumbprint()).toBe(bob[0]?.jkt);
    expect(await present(backend, `DPoP ${token}`, await (await keyOf("alice")).proof("POST", new URL(backend.url), token))).toBe(200);
  });
});

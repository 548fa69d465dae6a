// The other verifiers over real HTTP: RFC 7662 introspection (cached briefly, outage → 503),
// hashed API keys, a custom function, several at once, and the optional (anonymous) mode.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidTokenError, apiKeys, introspectionVerifier, type Verifier } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { INIT, call, openSession, post, startFront, type Front } from "./setup.js";

let front: Front | undefined;
const extra: TestAuthServer[] = [];
afterEach(async () => {
  await front?.close();
  front = undefined;
  await Promise.all(extra.splice(0).map((s) => s.close()));
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("introspection (RFC 7662)", () => {
  it("accepts active tokens for this resource, caches the answer briefly, and answers 503 when it cannot ask", async () => {
    const as = await TestAuthServer.start({ clients: [{ clientId: "rs", clientSecret: "rs-secret" }] });
    extra.push(as);
    front = await startFront({
      as,
      bearer: { verifier: introspectionVerifier({ endpoint: `${as.url}/introspect`, clientId: "rs", clientSecret: "rs-secret", issuer: as.issuer, cacheTtlMs: 1500 }) },
    });
    const token = await as.mint({ aud: front.url, scope: "notes:read" });
    const session = await openSession(front.url, token);
    expect((await call(front.url, token, session, "read_notes")).status).toBe(200);
    expect(as.calls("/introspect").length).toBe(1);
    // client_secret_basic, form-encoded as RFC 6749 §2.3.1 says.
    const basic = Buffer.from((as.calls("/introspect")[0]?.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
    expect(basic.split(":").map(decodeURIComponent)).toEqual(["rs", "rs-secret"]);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await call(front.url, token, session, "read_notes", {}, 3)).status).toBe(200);
    expect(as.calls("/introspect").length).toBe(2);

    expect((await post(front.url, INIT, bearer(await as.mint({ aud: "https://other/mcp" })))).status).toBe(401);
    expect((await post(front.url, INIT, bearer("opaque-garbage"))).status).toBe(401);
    // RFC 7662/9068: a refresh token, or a token with no audience, is not an access token for this resource.
    const refresh = await post(front.url, INIT, bearer(await as.mint({ aud: front.url, claims: { token_type: "refresh_token" } })));
    expect(refresh.status).toBe(401);
    expect(refresh.headers.get("www-authenticate")).toContain("not an access token");
    const audienceless = await post(front.url, INIT, bearer(await as.mint({ aud: null })));
    expect(audienceless.status).toBe(401);
    expect(audienceless.headers.get("www-authenticate")).toContain("names no audience");
    await as.close();
    extra.splice(0);
    expect((await post(front.url, INIT, bearer(await front.as.mint({ aud: front.url, sub: "new" }).catch(() => "x")))).status).toBe(503);
  });
});

describe("API keys, custom verifiers, several at once", () => {
  it("tries each verifier in order; a key is compared by hash", async () => {
    const custom: Verifier = async (token) => {
      if (token !== "letmein") throw new InvalidTokenError("not the magic word");
      return { issuer: "custom", subject: "wizard", scopes: ["notes:write"] };
    };
    front = await startFront({ bearer: { verifier: [apiKeys([{ key: "k-123", subject: "ci", scopes: ["notes:read"] }]), custom] } });
    const ci = await openSession(front.url, "k-123");
    expect((await call(front.url, "k-123", ci, "read_notes")).status).toBe(200);
    expect((await call(front.url, "k-123", ci, "write_note", { text: "x" })).status).toBe(403);
    const wizard = await openSession(front.url, "letmein");
    expect((await call(front.url, "letmein", wizard, "write_note", { text: "x" })).body.result.content[0].text).toBe("wrote x");
    expect((await post(front.url, INIT, bearer("k-124"))).status).toBe(401);
  });

  it("optional mode lets anonymous callers in, where the rules still apply; a bad token is still refused", async () => {
    front = await startFront({ bearer: { optional: true } });
    const anonymous = await post(front.url, INIT);
    expect(anonymous.status).toBe(200);
    const session = anonymous.headers.get("mcp-session-id") as string;
    const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
    await post(front.url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
    const denied = await post(front.url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "read_notes", arguments: {} } }, headers);
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toContain('scope="notes:read"');
    expect((await post(front.url, INIT, bearer("garbage"))).status).toBe(401);
  });
});

// Enterprise-managed authorization to a backend (SEP-990), against the project's jose servers: an
// enterprise IdP and the backend's own authorization server, which trusts the IdP's ID-JAGs. Each
// caller signs in to the proxy with the IdP's ID token; the proxy exchanges it at the IdP for an
// ID-JAG (RFC 8693) and redeems that at the backend's authorization server (RFC 7523 jwt-bearer).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { anyOf, apiKeys, backendAuth, jwtVerifier, requestIdJag, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { post, startFront, INIT, type Front } from "./setup.js";
import { startProtectedBackend, type ProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

interface World {
  idp: TestAuthServer;
  as: TestAuthServer;
  backend: ProtectedBackend;
  front: Front;
  /** A user's ID token from the IdP, issued to the proxy's client there. */
  idToken(sub: string): Promise<string>;
}

async function world(idJag: Partial<BackendAuthSpec & { type: "id_jag" }> = {}): Promise<World> {
  const idp = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "idp-secret" }] });
  cleanup.push(() => idp.close());
  const as = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "as-secret" }, { clientId: "other", clientSecret: "other-secret" }], trustedIdp: { issuer: idp.issuer, jwksUri: `${idp.url}/jwks` } });
  cleanup.push(() => as.close());
  const backend = await startProtectedBackend(as);
  cleanup.push(() => backend.close());
  const spec: BackendAuthSpec = {
    type: "id_jag",
    idpTokenEndpoint: `${idp.url}/token`,
    idpClientId: "proxy",
    idpClientSecret: "idp-secret",
    clientId: "proxy",
    clientSecret: "as-secret",
    // The proxy's own session (tool discovery) runs as its service account.
    primary: { type: "client_credentials", clientId: "proxy", clientSecret: "as-secret", issuer: as.issuer },
    ...idJag,
  } as BackendAuthSpec;
  // The front accepts the IdP's ID tokens issued to the proxy's client there.
  const front = await startFront({
    as: idp,
    rules: false,
    // ...and, for one test, an API key.
    bearer: { verifier: anyOf(jwtVerifier({ issuer: idp.issuer, jwksUri: `${idp.url}/jwks`, audience: "proxy" }), apiKeys([{ key: "ci-key-0123456789", subject: "ci" }])) },
    backend: () => ({ mcpServers: { b: { url: backend.url } } }),
    configure: (proxy) => void proxy.credentials(backendAuth({ b: spec })),
  });
  cleanup.push(() => front.close());
  return { idp, as, backend, front, idToken: (sub) => idp.mint({ sub, aud: "proxy", typ: "JWT" }) };
}

async function frontClient(front: Front, token: string): Promise<Client> {
  const client = new Client({ name: "front", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(front.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  cleanup.push(() => client.close());
  return client;
}

describe("id_jag backend auth (SEP-990) against the jose IdP and authorization server", () => {
  it("each caller reaches the backend as themselves: ID token → ID-JAG at the IdP → access token at the backend's AS", async () => {
    const w = await world();
    const [aliceToken, bobToken] = [await w.idToken("alice"), await w.idToken("bob")];
    const alice = await frontClient(w.front, aliceToken);
    const bob = await frontClient(w.front, bobToken);
    const calls = await Promise.all([1, 2].flatMap(() => [alice.callTool({ name: "whoami" }), bob.callTool({ name: "whoami" })]));
    expect(calls.map(text).sort()).toEqual(["alice", "alice", "bob", "bob"]);

    const jagRequests = w.idp.calls("/token").filter((r) => r.form.requested_token_type === ID_JAG);
    expect(jagRequests.map((r) => r.form.subject_token).sort()).toEqual([aliceToken, bobToken].sort());
    for (const r of jagRequests) {
      expect(r.form).toMatchObject({ subject_token_type: "urn:ietf:params:oauth:token-type:id_token", audience: w.as.issuer, resource: w.backend.url });
      expect(r.headers.authorization).toMatch(/^Basic /);
    }
    const redeemed = w.as.calls("/token").filter((r) => r.form.grant_type === JWT_BEARER);
    expect(redeemed.length).toBe(2);
    expect(redeemed.every((r) => r.form.assertion && r.headers.authorization?.startsWith("Basic "))).toBe(true);
    // The ID tokens go to the IdP only.
    const elsewhere = JSON.stringify([w.as.requests, w.backend.seen]);
    expect(elsewhere).not.toContain(aliceToken);
    expect(elsewhere).not.toContain(bobToken);
  });

  it("caller B cannot use A's ID-JAG or A's backend token, at the front or through the proxy", async () => {
    const w = await world();
    const aliceToken = await w.idToken("alice");
    const alice = await frontClient(w.front, aliceToken);
    expect(text(await alice.callTool({ name: "whoami" }))).toBe("alice");
    const aliceBackendToken = (w.backend.seen.findLast((h) => String(h.authorization).startsWith("Bearer "))?.authorization as string).slice(7);
    const aliceJag = await requestIdJag({ idpTokenEndpoint: `${w.idp.url}/token`, idpClientId: "proxy", idpClientSecret: "idp-secret", clientId: "proxy", clientSecret: "as-secret" }, aliceToken, {
      audience: w.as.issuer,
      resource: w.backend.url,
    });
    // Neither is an ID token for the proxy: the front refuses both.
    for (const stolen of [aliceJag, aliceBackendToken]) {
      const r = await post(w.front.url, INIT, { authorization: `Bearer ${stolen}` });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/invalid_token/);
    }
    // Bob with his own ID token is Bob, with a backend token of his own.
    const bob = await frontClient(w.front, await w.idToken("bob"));
    expect(text(await bob.callTool({ name: "whoami" }))).toBe("bob");
    const bobBackendToken = (w.backend.seen.findLast((h) => String(h.authorization).startsWith("Bearer "))?.authorization as string).slice(7);
    expect(bobBackendToken).not.toBe(aliceBackendToken);
    // And an ID-JAG is bound to the client it was issued for: another client cannot redeem Alice's.
    const stolenRedeem = await fetch(`${w.as.url}/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("other:other-secret").toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: aliceJag }),
    });
    expect(stolenRedeem.status).toBe(400);
  });

  it("a caller signed in otherwise than with an ID token (an API key) is refused, and its key never reaches the IdP", async () => {
    const w = await world();
    const ci = await frontClient(w.front, "ci-key-0123456789");
    await expect(ci.callTool({ name: "whoami" })).rejects.toThrow(/backend "b" \(id_jag\) needs each caller's ID token/);
    expect(JSON.stringify(w.idp.requests)).not.toContain("ci-key-0123456789");
  });

  it("an IdP that refuses the exchange gives the caller an error naming the ID-JAG request, not a hang", async () => {
    const w = await world({ idpClientSecret: "wrong-secret" });
    const alice = await frontClient(w.front, await w.idToken("alice"));
    await expect(alice.callTool({ name: "whoami" })).rejects.toThrow(/ID-JAG request at http:\/\/127\.0\.0\.1:\d+\/token failed: invalid_client/);
  });
});

import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { DPoPKey, dpopFetch } from "./dpop.js";

const servers: { close(): void }[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

/** A loopback server answering each request with `answer(n)` (n from 1), recording the headers. */
async function server(answer: (n: number) => { status: number; headers?: Record<string, string>; body?: unknown }) {
  const seen: IncomingHttpHeaders[] = [];
  const http = createServer((req, res) => {
    seen.push(req.headers);
    req.resume().on("end", () => {
      const { status, headers, body } = answer(seen.length);
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body ?? {}));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  servers.push(http);
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, seen };
}

describe("DPoPKey proofs", () => {
  it("carry htm, htu without query or fragment, iat, ath for a token, the public key only, and a new jti each time", async () => {
    const key = await DPoPKey.generate();
    const proof = await key.proof("GET", new URL("https://rs.example.com/mcp?session=1#frag"), "the-token");
    const header = decodeProtectedHeader(proof);
    expect(header).toMatchObject({ typ: "dpop+jwt", alg: "ES256", jwk: { kty: "EC", crv: "P-256" } });
    expect(header.jwk).not.toHaveProperty("d");
    const claims = decodeJwt(proof);
    expect(claims).toMatchObject({ htm: "GET", htu: "https://rs.example.com/mcp", ath: createHash("sha256").update("the-token").digest("base64url") });
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    const jtis = await Promise.all(Array.from({ length: 50 }, () => key.proof("POST", new URL("https://as.example.com/token")).then((p) => decodeJwt(p).jti)));
    expect(new Set(jtis).size).toBe(50);
  });
});

describe("dpopFetch", () => {
  const binding = (key: DPoPKey, bound = true) => ({ key: async () => key, bound: async () => bound });

  it("retries a nonce challenge once with the nonce given, and not again when the server keeps asking", async () => {
    const backend = await server((n) => ({ status: 401, headers: { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": `nonce-${n}` } }));
    const key = await DPoPKey.generate();
    const response = await dpopFetch(fetch, binding(key))(backend.url, { method: "POST", headers: { authorization: "Bearer t" }, body: "{}" });
    expect(response.status).toBe(401);
    expect(backend.seen).toHaveLength(2);
    expect(backend.seen.map((h) => h.authorization)).toEqual(["DPoP t", "DPoP t"]);
    expect(backend.seen.map((h) => decodeJwt(h.dpop as string).nonce)).toEqual([undefined, "nonce-1"]);
  });

  it("retries a token endpoint's use_dpop_nonce (400) once, with the proof for the token request", async () => {
    const as = await server((n) => (n === 1 ? { status: 400, headers: { "dpop-nonce": "as-nonce" }, body: { error: "use_dpop_nonce" } } : { status: 200, body: { access_token: "t", token_type: "DPoP" } }));
    const key = await DPoPKey.generate();
    const response = await dpopFetch(fetch, binding(key))(as.url, { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials" }) });
    expect(await response.json()).toEqual({ access_token: "t", token_type: "DPoP" });
    expect(as.seen.map((h) => decodeJwt(h.dpop as string)).map((c) => [c.htm, c.nonce, c.ath])).toEqual([
      ["POST", undefined, undefined],
      ["POST", "as-nonce", undefined],
    ]);
  });

  it("leaves a token that is not bound (issued as Bearer) and other requests as they are", async () => {
    const backend = await server(() => ({ status: 200 }));
    const key = await DPoPKey.generate();
    await dpopFetch(fetch, binding(key, false))(backend.url, { method: "POST", headers: { authorization: "Bearer plain" }, body: "{}" });
    await dpopFetch(fetch, binding(key))(backend.url);
    expect(backend.seen.map((h) => [h.authorization, h.dpop])).toEqual([
      ["Bearer plain", undefined],
      [undefined, undefined],
    ]);
  });
});

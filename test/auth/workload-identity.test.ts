// Workload identity federation (SEP-1933) to a backend: the platform's JWT for this workload, read
// from a file, is the RFC 7523 jwt-bearer grant at the backend's authorization server.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { backendAuth } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { DPoPChecker } from "../fixtures/dpop.js";
import { connectClient } from "../helpers.js";
import { startProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const PLATFORM = "https://platform.example.com";
const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

/** The platform that issues the workload's JWTs, the backend's AS that trusts it, the backend, and the JWT's file. */
async function world(o: { dpop?: DPoPChecker } = {}) {
  const platform = await generateKeyPair("ES256");
  const as = await TestAuthServer.start({ clients: [{ clientId: "workload" }], trustedWorkload: { issuer: PLATFORM, jwk: await exportJWK(platform.publicKey) }, ...(o.dpop ? { dpop: o.dpop } : {}) });
  cleanup.push(() => as.close());
  const backend = await startProtectedBackend(as, o.dpop ? { dpop: new DPoPChecker() } : {});
  cleanup.push(() => backend.close());
  const dir = mkdtempSync(join(tmpdir(), "workload-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, "token");
  const issue = async (sub: string, audience = as.issuer) =>
    writeFileSync(tokenFile, await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setIssuer(PLATFORM).setSubject(sub).setAudience(audience).setIssuedAt().setExpirationTime("5m").sign(platform.privateKey));
  const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url: backend.url } } });
  proxy.credentials(backendAuth({ api: { type: "workload_identity", clientId: "workload", tokenFile, issuer: as.issuer, ...(o.dpop ? { dpop: true } : {}) } }));
  cleanup.push(() => proxy.close());
  return { as, backend, proxy, tokenFile, issue };
}

describe("workload_identity backend auth", () => {
  it("presents the workload's JWT with the jwt-bearer grant, as a public client; the backend sees the workload", async () => {
    const { as, proxy, tokenFile, issue } = await world();
    await issue("spiffe://example.com/ns/prod/sa/agent");
    await proxy.start();
    expect(text(await (await connectClient(proxy)).callTool({ name: "whoami" }))).toBe("spiffe://example.com/ns/prod/sa/agent");
    const [grant, ...more] = as.calls("/token");
    expect(more).toEqual([]);
    expect(grant?.form).toMatchObject({ grant_type: JWT_BEARER, client_id: "workload" });
    expect(grant?.form.assertion).toBe((await import("node:fs")).readFileSync(tokenFile, "utf8"));
    expect(grant?.headers.authorization).toBeUndefined();
  });

  it("a JWT the authorization server refuses is an error naming the backend, sent once (no retry, no other grant)", async () => {
    const { as, proxy, issue } = await world();
    await issue("agent", "https://another-as.example.com");
    const error = await proxy.start().then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/api/);
    expect(error?.message).toMatch(/refused the workload's JWT; it is not sent again until it changes/);
    expect(as.calls("/token").map((r) => r.form.grant_type)).toEqual([JWT_BEARER]);
  });

  it("with dpop, the token it gets is bound to the proxy's key", async () => {
    const atAs = new DPoPChecker();
    const { backend, proxy, issue } = await world({ dpop: atAs });
    await issue("agent");
    await proxy.start();
    expect(text(await (await connectClient(proxy)).callTool({ name: "whoami" }))).toBe("agent");
    expect(atAs.proofs).toHaveLength(1);
    expect(backend.seen.filter((h) => h.authorization).every((h) => /^DPoP /.test(h.authorization as string))).toBe(true);
  });
});

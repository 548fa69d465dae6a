// Credentials for 2026-07-28 backends, the same as for legacy HTTP ones: configured headers, the
// credentials provider's headers (proxy.credentials), and an OAuth client (the auth package's
// client_credentials, against the test authorization server): a 2026-only backend that wants a bearer.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { backendAuth } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { connectClient } from "../helpers.js";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const text = (r: any) => r.content?.[0]?.text;

/** A 2026-only backend that accepts one static bearer; it records the bearers it saw. */
async function staticBackend(token: string) {
  const seen: (string | undefined)[] = [];
  const backend = await startDualEraServer({ modernOnly: true, authorize: (bearer?: string) => (seen.push(bearer), bearer === token) });
  cleanup.push(() => backend.close());
  return { ...backend, seen };
}

function proxyFor(url: string, protocol: "2026-07-28" | "auto", headers?: Record<string, string>) {
  const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url, protocol, ...(headers ? { headers } : {}) } } }, { logLevel: "error" });
  cleanup.push(() => proxy.close());
  return proxy;
}

describe("credentials for a 2026-07-28 backend", () => {
  for (const protocol of ["2026-07-28", "auto"] as const) {
    it(`configured headers (protocol ${protocol}): the bearer on every request; a wrong one is an auth failure naming the fix`, async () => {
      const backend = await staticBackend("s3cret");
      const proxy = proxyFor(backend.url, protocol, { authorization: "Bearer s3cret" });
      const client = await connectClient(proxy);
      expect(text(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
      expect(backend.seen.every((b) => b === "s3cret")).toBe(true);

      const wrong = proxyFor(backend.url, protocol, { authorization: "Bearer nope" });
      const error = await wrong.start().then(() => undefined, (e: any) => e);
      expect(error?.code).toBe(ProxyErrorCode.Unauthorized);
      expect(error?.message).toMatch(/refused the proxy's credentials \(HTTP 401\)/);
    }, 30_000);
  }

  it("the credentials provider's headers (proxy.credentials), as for a legacy HTTP backend", async () => {
    const backend = await staticBackend("from-provider");
    const proxy = proxyFor(backend.url, "2026-07-28");
    proxy.credentials(() => ({ headers: { authorization: "Bearer from-provider" } }));
    const client = await connectClient(proxy);
    expect(text(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
    expect(backend.seen.length).toBeGreaterThan(0);
    expect(backend.seen.every((b) => b === "from-provider")).toBe(true);
  }, 30_000);

  for (const protocol of ["2026-07-28", "auto"] as const) {
    it(`OAuth client_credentials (auth package, protocol ${protocol}): a 401 runs the flow, then the token is sent`, async () => {
      const as = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
      cleanup.push(() => as.close());
      let url = "";
      const subjects: string[] = [];
      const backend = await startDualEraServer({
        modernOnly: true,
        authorizationServer: as.issuer,
        authorize: async (bearer?: string) => {
          if (!bearer) return false;
          const jwks = (await (await fetch(`${as.url}/jwks`)).json()) as JSONWebKeySet;
          try {
            const { payload } = await jwtVerify(bearer, createLocalJWKSet(jwks), { issuer: as.issuer, audience: url });
            subjects.push(String(payload.sub));
            return true;
          } catch {
            return false;
          }
        },
      });
      url = backend.url;
      cleanup.push(() => backend.close());
      const proxy = proxyFor(backend.url, protocol);
      proxy.credentials(backendAuth({ api: { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", issuer: as.issuer } }));
      const client = await connectClient(proxy);
      expect(text(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
      expect(as.calls("/token").some((r) => r.form.grant_type === "client_credentials")).toBe(true);
      expect(subjects.length).toBeGreaterThan(0);
    }, 30_000);
  }
});

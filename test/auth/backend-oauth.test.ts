// OAuth clients to backends that need more than a static token: private_key_jwt service
// accounts, and authorization code + PKCE through `login` with a 0600 token file bound to its issuer.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportJWK, generateKeyPair } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { backendAuth, frontAuthFromConfig, login, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { connectClient } from "../helpers.js";
import { startProtectedBackend } from "./protected-backend.js";

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function world(clients: NonNullable<ConstructorParameters<typeof Object>[0]>[] = []) {
  const as = await TestAuthServer.start({ clients: clients as { clientId: string }[] });
  cleanup.push(() => as.close());
  const backend = await startProtectedBackend(as);
  cleanup.push(() => backend.close());
  return { as, backend };
}

async function proxyWith(url: string, spec: BackendAuthSpec, options: Parameters<typeof backendAuth>[1] = {}): Promise<FastMCPProxy> {
  const proxy = FastMCPProxy.asProxy({ mcpServers: { api: { url } } });
  proxy.credentials(backendAuth({ api: spec }, options));
  cleanup.push(() => proxy.close());
  return proxy;
}

const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0] as { text: string }).text;

describe("private_key_jwt", () => {
  it("a service account signs its client assertion; the backend sees the proxy's client", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), alg: "ES256" };
    const { as, backend } = await world([{ clientId: "svc", jwk }]);
    const proxy = await proxyWith(backend.url, { type: "private_key_jwt", clientId: "svc", privateKey: await exportJWK(privateKey), algorithm: "ES256", issuer: as.issuer });
    await proxy.start();
    const client = await connectClient(proxy);
    expect(text(await client.callTool({ name: "whoami" }))).toBe("svc");
    const grant = as.calls("/token").find((r) => r.form.grant_type === "client_credentials");
    expect(grant?.form.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  });
});

describe("authorization code + PKCE with `login`", () => {
  it("without a login the error names the backend and the command that fixes it", async () => {
    const { backend } = await world();
    const dir = mkdtempSync(join(tmpdir(), "auth-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const proxy = await proxyWith(backend.url, { type: "authorization_code", tokenFile: join(dir, "api.json") });
    const error = await proxy.start().then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/api/);
    expect(error?.message).toMatch(/fastmcp-proxy auth login api/);
  });

  it("login stores tokens in a 0600 file; the proxy then reaches the backend as the user", async () => {
    const { as, backend } = await world();
    const dir = mkdtempSync(join(tmpdir(), "auth-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, "tokens", "api.json");
    // The "browser": follows the authorization URL to the proxy's loopback callback.
    const open = async (url: URL) => {
      const approved = await fetch(url, { redirect: "manual" });
      const callback = await fetch(approved.headers.get("location") as string);
      expect(await callback.text()).toMatch(/Signed in/);
    };
    const result = await login("api", { serverUrl: backend.url, tokenFile, open, issuer: as.issuer });
    expect(result).toEqual({ tokenFile, issuer: as.issuer });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "tokens")).mode & 0o777).toBe(0o700);
    const authorize = as.calls("/authorize")[0];
    expect(authorize?.form.code_challenge_method).toBe("S256");
    expect(authorize?.form.resource).toBe(backend.url);

    const proxy = await proxyWith(backend.url, { type: "authorization_code", tokenFile, issuer: as.issuer });
    await proxy.start();
    const client = await connectClient(proxy);
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
  });

  it("a backend that wants more scope while serving: without signIn the error names the login and the scope; with it, the operator signs in again and the retry goes through (here the start, so started again)", async () => {
    const as = await TestAuthServer.start();
    cleanup.push(() => as.close());
    const required = ["backend:read"];
    const backend = await startProtectedBackend(as, { requiredScopes: required });
    cleanup.push(() => backend.close());
    const dir = mkdtempSync(join(tmpdir(), "auth-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, "api.json");
    const browser = async (url: URL) => void (await (await fetch((await fetch(url, { redirect: "manual" })).headers.get("location") as string)).text());
    await login("api", { serverUrl: backend.url, tokenFile, open: browser });
    expect(as.calls("/authorize")[0]?.form.scope).toBe("backend:read");

    const plain = await proxyWith(backend.url, { type: "authorization_code", tokenFile });
    await plain.start();
    const client = await connectClient(plain);
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    required.push("backend:write"); // the backend now wants more
    const refused = await client.callTool({ name: "whoami" }).then(() => undefined, (e: Error) => e);
    expect(refused?.message).toMatch(/backend "api" needs you to sign in \(scope "backend:read backend:write"\): run `fastmcp-proxy auth login api/);

    // With signIn: the operator is shown the URL. Every request needs the new scope here, so the
    // one that needed it is the proxy's start; started again, it goes through.
    const shown: URL[] = [];
    const signIn = async (_name: string, url: URL) => {
      shown.push(url);
      await browser(url);
    };
    const proxy = await proxyWith(backend.url, { type: "authorization_code", tokenFile }, { signIn });
    await expect(proxy.start()).rejects.toThrow(/backend "api" asked for a new authorization \(scope "backend:read backend:write"\): signed in again, retry the request/);
    await proxy.close();
    const restarted = await proxyWith(backend.url, { type: "authorization_code", tokenFile }, { signIn });
    await restarted.start();
    expect(text(await (await connectClient(restarted)).callTool({ name: "whoami" }))).toBe("alice");
    expect(shown.length).toBe(1);
    // The new authorization kept the scope granted before and added the challenged one (SEP-2350), at the login's callback.
    expect(shown[0]?.searchParams.get("scope")?.split(" ").sort()).toEqual(["backend:read", "backend:write"]);
    expect(shown[0]?.searchParams.get("redirect_uri")).toBe(as.calls("/authorize")[0]?.form.redirect_uri);
  });

  it("stored tokens are refreshed shortly before they expire, not after a failure", async () => {
    const as = await TestAuthServer.start({ tokenLifetimeSec: 2 });
    cleanup.push(() => as.close());
    const backend = await startProtectedBackend(as);
    cleanup.push(() => backend.close());
    const dir = mkdtempSync(join(tmpdir(), "auth-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, "api.json");
    const open = async (url: URL) => void (await fetch((await fetch(url, { redirect: "manual" })).headers.get("location") as string));
    await login("api", { serverUrl: backend.url, tokenFile, open });
    const proxy = await proxyWith(backend.url, { type: "authorization_code", tokenFile });
    await proxy.start();
    const client = await connectClient(proxy);
    await new Promise((r) => setTimeout(r, 1100)); // past half the 2 s lifetime
    expect(text(await client.callTool({ name: "whoami" }))).toBe("alice");
    const refreshes = as.calls("/token").filter((r) => r.form.grant_type === "refresh_token");
    expect(refreshes.length).toBeGreaterThanOrEqual(1);
    expect(refreshes[0]?.form.resource).toBe(backend.url);
  });

  it("refuses a callback whose iss is another issuer (RFC 9207), and a login to an issuer not allowed", async () => {
    const { as, backend } = await world();
    const dir = mkdtempSync(join(tmpdir(), "auth-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const mixUp = async (url: URL) => {
      const approved = new URL((await fetch(url, { redirect: "manual" })).headers.get("location") as string);
      approved.searchParams.set("iss", "https://evil.example.com");
      expect((await fetch(approved)).status).toBe(400);
    };
    await expect(login("api", { serverUrl: backend.url, tokenFile: join(dir, "a.json"), open: mixUp, timeoutMs: 5000 })).rejects.toThrow(/RFC 9207/);
    await expect(login("api", { serverUrl: backend.url, tokenFile: join(dir, "b.json"), open: () => {}, issuer: "https://idp.example.com", timeoutMs: 5000 })).rejects.toThrow(
      /which is not allowed \(allowed: https:\/\/idp\.example\.com\)/,
    );
    expect(as.calls("/token").length).toBe(0);
  });
});

describe("the front from the config file", () => {
  it("jwks_uri is found from the issuer's metadata", async () => {
    const as = await TestAuthServer.start();
    cleanup.push(() => as.close());
    const auth = frontAuthFromConfig({ issuer: as.issuer, resource: "https://mcp.example.com/mcp" }).bearer!;
    const info = await auth.verify(await as.mint({ aud: "https://mcp.example.com/mcp", scope: "a b" }));
    expect(info.scopes).toEqual(["a", "b"]);
    expect(info.extra?.identity).toBe(`${as.issuer} alice`);
    expect(as.calls("/.well-known/oauth-authorization-server").length).toBe(1);
    await expect(auth.verify(await as.mint({ aud: "https://other.example.com/mcp" }))).rejects.toMatchObject({ status: 401 });
  });
});

// What a backend can make the proxy's OAuth client reach: every hop of its discovery is checked
// before anything is sent (blind SSRF), the metadata's issuer must be the URL it was fetched for
// (RFC 8414 §3.3), and a client secret stays with the authorization server it was first used with.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { FastMCPProxy, type Backend } from "@fastmcp-proxy/core";
import { backendAuth, guardedFetch, login, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** A loopback HTTP server that records every request and answers with `answer`. */
async function recorder(answer: (req: IncomingMessage, res: ServerResponse, base: string) => void = (_q, s) => void s.writeHead(404).end()) {
  const seen: string[] = [];
  let base = "";
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    answer(req, res, base);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { seen, port, base };
}

/**
 * A backend that refuses every MCP request with 401, naming `metadataUrl()` as its resource
 * metadata, which names `authorizationServer()`.
 */
async function refusingBackend(o: { metadataUrl?: (base: string) => string; authorizationServer: () => string }) {
  return recorder((req, res, base) => {
    if (req.url === "/.well-known/oauth-protected-resource/mcp") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ resource: `${base}/mcp`, authorization_servers: [o.authorizationServer()] }));
      return;
    }
    const metadata = o.metadataUrl?.(base) ?? `${base}/.well-known/oauth-protected-resource/mcp`;
    res.writeHead(401, { "www-authenticate": `Bearer resource_metadata="${metadata}"` }).end();
  });
}

/** One backend session opened with what backendAuth gives, as core opens it (SDK transport, the credentials' fetch). */
async function connectOnce(spec: BackendAuthSpec, url: string): Promise<Error | undefined> {
  const credentials = await backendAuth({ api: spec })({ name: "api", connector: { label: url } } as Backend, {} as never);
  const client = new Client({ name: "probe", version: "1" });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: credentials?.authProvider, ...(credentials?.fetch ? { fetch: credentials.fetch } : {}) } as never));
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await client.close().catch(() => {});
  }
}

const secretSpec: BackendAuthSpec = { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret" };

describe("blind SSRF from a backend's OAuth discovery", () => {
  it("a resource_metadata URL on a special address is never fetched (through the proxy)", async () => {
    const internal = await recorder();
    // 0.0.0.0 reaches this host's own services on Linux: an address a loopback check alone lets through.
    const backend = await refusingBackend({ metadataUrl: () => `http://0.0.0.0:${internal.port}/latest/meta-data`, authorizationServer: () => internal.base });
    const proxy = FastMCPProxy.asProxy(`${backend.base}/mcp`).credentials(backendAuth({ backend: secretSpec }));
    cleanup.push(() => proxy.close());
    const error = await proxy.start().then(() => undefined, (e: Error) => e);
    expect(String(error?.message ?? "")).not.toBe("");
    expect(internal.seen).toEqual([]);
    expect(backend.seen.length).toBeGreaterThan(0);
  });

  it("every hop is checked: a redirect to a special address is not followed", async () => {
    const internal = await recorder();
    const redirecting = await recorder((_q, res) => void res.writeHead(302, { location: `http://0.0.0.0:${internal.port}/x` }).end());
    const guarded = guardedFetch("http://127.0.0.1:1/mcp");
    await expect(guarded(`${redirecting.base}/.well-known/oauth-authorization-server`)).rejects.toThrow(/refused http:\/\/0\.0\.0\.0/);
    expect(redirecting.seen).toHaveLength(1);
    expect(internal.seen).toEqual([]);
  });

  it("names are checked on what they resolve to, at connect time: loopback only for a backend on loopback", async () => {
    const internal = await recorder();
    const forRemote = guardedFetch("https://mcp.example.com/mcp");
    await expect(forRemote(`http://localhost:${internal.port}/x`)).rejects.toThrow(/127\.0\.0\.1 is a loopback address, and the backend is not on loopback/);
    await expect(forRemote(`http://127.0.0.1:${internal.port}/x`)).rejects.toThrow(/loopback/);
    await expect(forRemote(`http://[::ffff:127.0.0.1]:${internal.port}/x`)).rejects.toThrow(/loopback/);
    expect(internal.seen).toEqual([]);
    // The same backend on loopback may use a loopback authorization server.
    expect((await guardedFetch("http://127.0.0.1:1/mcp")(`http://localhost:${internal.port}/x`)).status).toBe(404);
    expect(internal.seen).toEqual(["GET /x"]);
  });

  it("plain http only on loopback; the operator can allow private ranges", async () => {
    const forRemote = guardedFetch("https://mcp.example.com/mcp");
    await expect(forRemote("http://idp.example.com/.well-known/oauth-authorization-server")).rejects.toThrow(/an https URL is needed/);
    await expect(forRemote("https://169.254.169.254/latest")).rejects.toThrow(/169\.254\.169\.254 is a private, link-local or reserved address/);
    await expect(forRemote("https://[fd00:ec2::254]/latest")).rejects.toThrow(/reserved address/);
    await expect(forRemote("https://10.1.2.3/token")).rejects.toThrow(/egress\.allowPrivate/);
  });
});

describe("the client secret goes only to the authorization server it belongs to", () => {
  it("metadata whose issuer is not the URL it was fetched for is refused before any token request (RFC 8414 §3.3)", async () => {
    const real = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    cleanup.push(() => real.close());
    // A rogue server that claims to be the real one, with its own token endpoint.
    const rogue = await recorder((req, res, base) => {
      if (req.url?.startsWith("/.well-known/")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...real.metadata(), token_endpoint: `${base}/token` }));
      } else res.writeHead(400).end();
    });
    const backend = await refusingBackend({ authorizationServer: () => rogue.base });
    const error = await connectOnce(secretSpec, `${backend.base}/mcp`);
    expect(error?.message).toMatch(/RFC 8414 §3\.3/);
    expect(rogue.seen.filter((r) => r.startsWith("POST"))).toEqual([]);
  });

  it("a service account's secret is not sent to the next authorization server a backend names", async () => {
    const first = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    const second = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    cleanup.push(() => first.close(), () => second.close());
    let current = first;
    const backend = await refusingBackend({ authorizationServer: () => current.issuer });
    const credentials = backendAuth({ api: secretSpec });
    const open = async () => {
      const c = await credentials({ name: "api", connector: { label: `${backend.base}/mcp` } } as Backend, {} as never);
      const client = new Client({ name: "probe", version: "1" });
      const error = await client.connect(new StreamableHTTPClientTransport(new URL(`${backend.base}/mcp`), { authProvider: c?.authProvider, fetch: c?.fetch } as never)).then(() => undefined, (e: Error) => e);
      await client.close().catch(() => {});
      return error;
    };
    await open(); // the backend refuses every token; what matters is where the secret went
    expect(first.calls("/token")).toHaveLength(1);
    current = second;
    expect((await open())?.message).toMatch(/client credentials stay with|bound to/);
    expect(second.calls("/token")).toHaveLength(0);
  });

  it("a login with a configured client secret is pinned to the issuer of the first login (no `issuer` set)", async () => {
    const first = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    const second = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    cleanup.push(() => first.close(), () => second.close());
    let current = first;
    const backend = await refusingBackend({ authorizationServer: () => current.issuer });
    const dir = mkdtempSync(join(tmpdir(), "auth-pin-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const options = { serverUrl: `${backend.base}/mcp`, tokenFile: join(dir, "api.json"), clientId: "proxy", clientSecret: "proxy-secret", timeoutMs: 10_000 };
    // The operator's browser: the authorization server approves, and comes back to the login's callback.
    const open = async (url: URL) => {
      const approved = await fetch(url, { redirect: "manual" });
      await (await fetch(approved.headers.get("location") as string)).text();
    };
    expect((await login("api", { ...options, open })).issuer).toBe(first.issuer);
    expect(first.calls("/token").filter((r) => r.headers.authorization?.startsWith("Basic "))).toHaveLength(1);
    current = second;
    await expect(login("api", { ...options, open })).rejects.toThrow(/client credentials stay with/);
    expect(second.calls("/token")).toHaveLength(0);
    expect(second.calls("/authorize")).toHaveLength(0);
  });
});

// docs/auth.md "Five minutes", followed as written: the test authorization server stands for the
// identity provider, a plain HTTP MCP server for the server you don't control, and the proxy runs
// with proxy.run() exactly as the guide shows (loopback addresses instead of example.com).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterAll, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { silentLogger } from "@fastmcp-proxy/core/advanced";
import { authorize, bearerAuth, jwtVerifier } from "@fastmcp-proxy/auth";
import { serveHttp } from "../fixtures/serve.mjs";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { BrowserlessProvider } from "./setup.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of cleanup.reverse()) await close();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function files(): McpServer {
  const server = new McpServer({ name: "files", version: "1.0.0" });
  server.registerTool("read_file", { description: "read" }, async () => ({ content: [{ type: "text", text: "contents" }] }));
  server.registerTool("delete_file", { description: "delete" }, async () => ({ content: [{ type: "text", text: "deleted" }] }));
  return server;
}

it("the guide's five-minute path works as written: challenge, metadata, sign-in, calls, per-tool step-up", async () => {
  const idp = await TestAuthServer.start({ scopesSupported: ["mcp", "mcp:admin"] });
  cleanup.push(() => idp.close());
  const internal = (await serveHttp(files)) as { url: string; close(): Promise<void> };
  cleanup.push(() => internal.close());
  const port = await freePort();

  // ---- the guide's code, with this machine's URLs ----
  const resource = `http://127.0.0.1:${port}/mcp`;
  const auth = bearerAuth({
    resource,
    authorizationServers: [idp.issuer],
    verifier: jwtVerifier({ issuer: idp.issuer }), // jwks_uri from the issuer's metadata
    requiredScopes: ["mcp"],
  });
  const proxy = FastMCPProxy.asProxy(internal.url, { logger: silentLogger }).use(authorize({ rules: [{ tools: "delete_*", scopes: ["mcp:admin"] }] }));
  await proxy.run({ transport: "http", host: "127.0.0.1", port, allowedHosts: [`127.0.0.1:${port}`], authenticate: auth, routes: [auth.route] });
  cleanup.push(() => proxy.close());
  // ----

  // "Check it by hand": curl -i <url> -d '{}' and the metadata document.
  const challenge = await fetch(resource, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  expect(challenge.status).toBe(401);
  expect(challenge.headers.get("www-authenticate")).toBe(`Bearer scope="mcp", resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`);
  const metadata = await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)).json();
  expect(metadata).toMatchObject({ resource, authorization_servers: [idp.issuer], scopes_supported: ["mcp"], bearer_methods_supported: ["header"] });

  // 1-3: an MCP client with OAuth signs in at the IdP and comes back with a token for `resource`.
  const provider = new BrowserlessProvider();
  const first = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await expect(new Client({ name: "client", version: "1" }).connect(first)).rejects.toThrow(UnauthorizedError);
  expect(provider.authorizations[0]?.searchParams.get("scope")).toBe("mcp");
  expect(provider.authorizations[0]?.searchParams.get("resource")).toBe(resource);
  await first.finishAuth(provider.code as string);
  const client = new Client({ name: "client", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await client.connect(transport);
  cleanup.push(() => client.close());
  expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["delete_file", "read_file"]);
  expect(await client.callTool({ name: "read_file" })).toMatchObject({ content: [{ text: "contents" }] });

  // 4: delete_file without mcp:admin is a 403 naming the wider scope; the client asks for it and retries.
  await expect(client.callTool({ name: "delete_file" })).rejects.toThrow(UnauthorizedError);
  expect(provider.authorizations[1]?.searchParams.get("scope")).toBe("mcp mcp:admin");
  await transport.finishAuth(provider.code as string);
  const again = new Client({ name: "client", version: "1" });
  await again.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
  cleanup.push(() => again.close());
  expect(await again.callTool({ name: "delete_file" })).toMatchObject({ content: [{ text: "deleted" }] });
});

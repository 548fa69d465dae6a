// The CLI's auth flags: --auth-issuer/--auth-jwks-uri/--auth-audience/--auth-required-scopes/
// --auth-resource-url for a JWT front, --api-key-env for an API key read from the environment.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { parseCliArgs } from "@fastmcp-proxy/cli";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { startProtectedBackend } from "../auth/protected-backend.js";
import { FIXTURE_STDIO, SERVING_HTTP, startCli, stopAll } from "./process.js";
import { refused } from "./refused.js";

const servers: TestAuthServer[] = [];
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  await stopAll();
  for (const close of cleanup.splice(0).reverse()) await close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
const post = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(INIT) });


/** The status of an initialize sent with this Host (and Origin) header, which fetch cannot set. */
function statusWithHost(url: string, host: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { host, ...(origin ? { origin } : {}), "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(JSON.stringify(INIT));
  });
}

describe("auth flags: parsing", () => {
  it("reads the flags (and only the variable's name for --api-key-env)", () => {
    const command = parseCliArgs([
      "--transport", "http", "--auth-issuer", "https://idp.example.com", "--auth-jwks-uri", "https://idp.example.com/jwks",
      "--auth-audience", "https://mcp.example.com/mcp", "--auth-required-scopes", "a,b", "--auth-resource-url", "https://mcp.example.com/mcp",
      "--api-key-env", "PROXY_KEY", "--", "node", "s.js",
    ]);
    expect(command.action === "run" && command.options.auth).toEqual({
      issuer: "https://idp.example.com",
      jwksUri: "https://idp.example.com/jwks",
      audience: "https://mcp.example.com/mcp",
      requiredScopes: ["a", "b"],
      resourceUrl: "https://mcp.example.com/mcp",
      apiKeyEnv: "PROXY_KEY",
    });
  });

  it("reads --allowed-host (repeatable), --auth-jwks-cooldown and --auth-rules; --auth-rules also works without an HTTP front", () => {
    const command = parseCliArgs(["--transport", "http", "--allowed-host", "mcp.example.com", "--allowed-host=mcp.example.com:443", "--auth-jwks-cooldown", "5000", "--auth-rules", "rules.json", "--", "node", "s.js"]);
    expect(command.action === "run" && command.options.allowedHosts).toEqual(["mcp.example.com", "mcp.example.com:443"]);
    expect(command.action === "run" && command.options.auth).toEqual({ jwksCooldownMs: 5000, rulesFile: "rules.json" });
    expect(parseCliArgs(["--auth-rules", "rules.json", "--", "node", "s.js"])).toMatchObject({ options: { auth: { rulesFile: "rules.json" } } });
    expect(refused("--transport", "http", "--allowed-host", "http://mcp.example.com", "--demo")).toMatch(/--allowed-host takes a host name/);
    expect(refused("--allowed-host", "mcp.example.com", "--demo")).toMatch(/applies only to an HTTP front/);
    expect(refused("--transport", "http", "--auth-jwks-cooldown", "soon", "--demo")).toMatch(/--auth-jwks-cooldown must be a whole number/);
  });

  it("refuses bad values, and auth on a stdio front", () => {
    expect(refused("--transport", "http", "--auth-issuer", "idp", "--demo")).toMatch(/--auth-issuer must be an http\(s\) URL/);
    expect(refused("--transport", "http", "--api-key-env", "my key", "--demo")).toMatch(/--api-key-env takes the name of an environment variable/);
    expect(refused("--auth-issuer", "https://idp.example.com", "--demo")).toMatch(/applies only to an HTTP front/);
    expect(refused("--transport", "http", "--fleet-key-env", "k=abc", "--demo")).toMatch(/--fleet-key-env takes the name of an environment variable/);
    expect(refused("--fleet-key-env", "FLEET_KEY", "--demo")).toMatch(/applies only to an HTTP front/);
  });
});

describe("auth flags: the running CLI", () => {
  it("--auth-issuer: 401 with the metadata, then tokens from the issuer are accepted", async () => {
    const as = await TestAuthServer.start();
    servers.push(as);
    const cli = startCli(["--transport", "http", "--port", "0", "--auth-issuer", as.issuer, "--auth-audience", "https://mcp.example.com/mcp", "--auth-resource-url", "https://mcp.example.com/mcp", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const anonymous = await post(url!);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain('resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"');
    const metadata = await (await fetch(`${new URL(url!).origin}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(metadata).toMatchObject({ resource: "https://mcp.example.com/mcp", authorization_servers: [as.issuer] });
    const token = await as.mint({ aud: "https://mcp.example.com/mcp" });
    expect((await post(url!, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await post(url!, { authorization: `Bearer ${await as.mint({ aud: "https://other.example.com" })}` })).status).toBe(401);
  });

  it("--api-key-env: the key comes from the environment and never shows in the logs", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--api-key-env", "PROXY_KEY", "--", ...FIXTURE_STDIO], { env: { ...process.env, PROXY_KEY: "k-very-secret-123" } });
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    expect((await post(url!)).status).toBe(401);
    expect((await post(url!, { authorization: "Bearer k-wrong" })).status).toBe(401);
    expect((await post(url!, { authorization: "Bearer k-very-secret-123" })).status).toBe(200);
    // The same key in X-API-Key, as other proxies' clients send it.
    expect((await post(url!, { "x-api-key": "k-very-secret-123" })).status).toBe(200);
    expect((await post(url!, { "x-api-key": "k-wrong" })).status).toBe(401);
    expect(cli.stderr()).not.toContain("k-very-secret-123");
  });

  it("--allowed-host: behind a load balancer, Host and Origin must name an allowed host", async () => {
    const cli = startCli(["--transport", "http", "--host", "127.0.0.1", "--port", "0", "--allowed-host", "mcp.example.com", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    expect(await statusWithHost(url!, "mcp.example.com")).toBe(200);
    expect(await statusWithHost(url!, "mcp.example.com", "https://mcp.example.com")).toBe(200);
    expect(await statusWithHost(url!, "evil.example.com")).toBe(403);
    expect(await statusWithHost(url!, "mcp.example.com", "https://evil.example.com")).toBe(403);
  });

  it("--auth-rules with -- <command>: rules from a file hide and guard the command's tools", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-rules-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "rules.json"), JSON.stringify([{ tools: "crash", hide: true }, { tools: "echo", scopes: ["admin"] }]));
    const cli = startCli(["--transport", "http", "--port", "0", "--api-key-env", "PROXY_KEY", "--auth-rules", join(dir, "rules.json"), "--", ...FIXTURE_STDIO], { env: { ...process.env, PROXY_KEY: "k-rules-123" } });
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const client = new Client({ name: "rules", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { authorization: "Bearer k-rules-123" } } }));
    cleanup.push(() => client.close());
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("whoami");
    expect(names).not.toContain("crash");
    await expect(client.callTool({ name: "echo", arguments: {} })).rejects.toThrow(/403|insufficient_scope|admin/);
  });

  it("--auth-rules naming a bad file fails at start, naming the file and the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-rules-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "rules.json"), JSON.stringify([{ tool: "x" }]));
    const cli = startCli(["--auth-rules", join(dir, "rules.json"), "--", ...FIXTURE_STDIO]);
    expect((await cli.exited()).code).toBe(1);
    expect(cli.stderr()).toMatch(/--auth-rules .*rules\.json\.rules\.0/);
  });

  it("--auth-ops: /readyz and /metrics need the front's credentials; /healthz stays open", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--metrics", "--auth-ops", "--api-key-env", "PROXY_KEY", "--", ...FIXTURE_STDIO], { env: { ...process.env, PROXY_KEY: "k-ops-123" } });
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const origin = new URL(url!).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    for (const path of ["/readyz", "/metrics"]) {
      const anonymous = await fetch(`${origin}${path}`);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get("www-authenticate"), path).toContain("Bearer");
      expect((await fetch(`${origin}${path}`, { headers: { authorization: "Bearer k-wrong" } })).status, path).toBe(401);
      expect((await fetch(`${origin}${path}`, { headers: { authorization: "Bearer k-ops-123" } })).status, path).toBe(200);
    }
    expect(refused("--auth-ops", "--demo")).toMatch(/applies only to an HTTP front/);
  });

  it("--ops-port: /healthz, /readyz and /metrics on a listener of their own, not on the MCP one", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--metrics", "--ops-port", "0", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const [, ops] = await cli.waitForStderr(/health on (http:\/\/\S+)\/healthz/);
    expect(new URL(ops!).port).not.toBe(new URL(url!).port);
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect((await fetch(`${ops}${path}`)).status, path).toBe(200);
      expect((await fetch(`${new URL(url!).origin}${path}`)).status, path).toBe(404);
    }
    expect(refused("--ops-port", "99999", "--transport", "http", "--demo")).toMatch(/--ops-port must be a whole number from 0 to 65535/);
  });

  it("--auth-ops without auth on the front fails at start, naming the fix", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--auth-ops", "--", ...FIXTURE_STDIO]);
    expect((await cli.exited()).code).toBe(2);
    expect(cli.stderr()).toMatch(/--auth-ops needs auth on the front: add --auth-issuer or --api-key-env/);
  });

  it("--api-key-env naming an unset variable fails at start, naming the variable", async () => {
    const env = { ...process.env };
    delete env.PROXY_KEY_UNSET;
    const cli = startCli(["--transport", "http", "--port", "0", "--api-key-env", "PROXY_KEY_UNSET", "--", ...FIXTURE_STDIO], { env });
    const exit = await cli.exited();
    expect(exit.code).toBe(1);
    expect(cli.stderr()).toMatch(/PROXY_KEY_UNSET is not set/);
  });
});

describe("fastmcp-proxy auth login", () => {
  it("prints the sign-in URL, stores the tokens (0600), and the proxy then reaches the backend as the user", async () => {
    const as = await TestAuthServer.start();
    servers.push(as);
    const backend = await startProtectedBackend(as);
    cleanup.push(() => backend.close());
    const dir = mkdtempSync(join(tmpdir(), "cli-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, "api.json");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ mcpServers: { api: { url: backend.url, auth: { type: "authorization_code", tokenFile, issuer: as.issuer } } } }));

    const cli = startCli(["auth", "login", "api", config]);
    const [, url] = await cli.waitForStderr(/sign in to "api":\n {2}(\S+)\n/);
    const approved = await fetch(url!, { redirect: "manual" });
    expect(await (await fetch(approved.headers.get("location") as string)).text()).toMatch(/Signed in/);
    expect((await cli.exited()).code).toBe(0);
    expect(cli.stderr()).toContain(`tokens in ${tokenFile}`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const proxy = startCli(["--transport", "http", "--port", "0", config]);
    const [, served] = await proxy.waitForStderr(SERVING_HTTP);
    const client = new Client({ name: "cli-login-test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(served!)));
    cleanup.push(() => client.close());
    const result = (await client.callTool({ name: "whoami" })) as { content: { text: string }[] };
    expect(result.content[0]?.text).toBe("alice");
  });

  it("refuses a server without authorization_code auth, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-login-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ mcpServers: { api: { url: "http://127.0.0.1:1/mcp" } } }));
    const cli = startCli(["auth", "login", "api", config]);
    expect((await cli.exited()).code).toBe(1);
    expect(cli.stderr()).toMatch(/server "api" needs a url and auth: \{ "type": "authorization_code" \}/);
    expect(refused("auth", "login", "api")).toMatch(/usage: fastmcp-proxy auth login <server> <config.json>/);
  });
});

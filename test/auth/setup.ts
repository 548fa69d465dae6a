// Shared set-up for the auth end-to-end tests: a backend with tools of every kind of rule, the
// proxy in front of it over real HTTP on 127.0.0.1, and an SDK OAuth client that completes the
// authorization redirect the way a browser would (no user, the test server auto-approves).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { z } from "zod";
import { FastMCPProxy, type Authenticate, type HttpRoute, stderrLogger } from "@fastmcp-proxy/core";
import type { HttpFrontOptions } from "@fastmcp-proxy/core/advanced";
import { authorize, bearerAuth, jwtVerifier, type AuthorizeOptions, type BearerAuthOptions } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";

/** A backend whose tools the rules below address. */
export function notesServer(): McpServer {
  const server = new McpServer({ name: "notes", version: "1.0.0" });
  const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });
  server.registerTool("read_notes", { description: "read" }, async () => text("notes"));
  server.registerTool("write_note", { description: "write", inputSchema: { text: z.string() } }, async ({ text: t }) => text(`wrote ${t}`));
  server.registerTool("admin_reset", { description: "admin only", annotations: { destructiveHint: true } }, async () => text("reset"));
  server.registerTool("tenant_report", { description: "acme only" }, async () => text("report"));
  server.registerTool("ops_restart", { description: "ops role" }, async () => text("restarted"));
  return server;
}

/** The rules the front tests use. */
export const RULES: AuthorizeOptions = {
  implies: { "notes:admin": ["notes:write"], "notes:write": ["notes:read"] },
  rules: [
    { tools: "read_*", scopes: ["notes:read"] },
    { tools: "write_*", scopes: ["notes:write"] },
    { tools: "admin_*", scopes: ["notes:admin"], hide: true },
    { tools: "tenant_*", when: (p) => p?.claims.tenant === "acme" },
    { tools: "ops_*", roles: ["ops"], rolesClaim: "realm_access.roles" },
  ],
};

export interface Front {
  as: TestAuthServer;
  proxy: FastMCPProxy;
  /** The MCP endpoint. */
  url: string;
  auth: ReturnType<typeof bearerAuth>;
  close(): Promise<void>;
}

/** The proxy over HTTP, protected by bearerAuth with a JWT verifier on the test authorization server. */
export async function startFront(
  o: { bearer?: Partial<BearerAuthOptions>; rules?: AuthorizeOptions | false; resource?: (base: string) => string; http?: Partial<HttpFrontOptions>; as?: TestAuthServer; jwt?: object; log?: string[]; backend?: (as: TestAuthServer) => Promise<unknown> | unknown; configure?: (proxy: FastMCPProxy, as: TestAuthServer, base: string) => HttpRoute[] | void; authenticate?: (auth: Authenticate) => Authenticate } = {},
): Promise<Front> {
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => void s.writeHead(503).end();
  const server: Server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = o.resource?.(base) ?? `${base}/mcp`;
  const as = o.as ?? (await TestAuthServer.start({ defaultAudience: resource, scopesSupported: ["notes:read", "notes:write", "notes:admin"] }));
  const auth = bearerAuth({
    resource,
    authorizationServers: [as.issuer],
    verifier: jwtVerifier({ issuer: as.issuer, jwksUri: `${as.url}/jwks`, jwksCooldownMs: 0, ...o.jwt }),
    scopesSupported: ["notes:read", "notes:write", "notes:admin"],
    implies: RULES.implies,
    ...o.bearer,
  });
  const proxy = FastMCPProxy.asProxy((o.backend ? await o.backend(as) : notesServer()) as McpServer, o.log ? { logger: stderrLogger("debug", (line) => void o.log?.push(line)) } : {});
  if (o.rules !== false) proxy.use(authorize(o.rules ?? RULES));
  const extraRoutes = o.configure?.(proxy, as, base) ?? [];
  await proxy.start();
  const handler = proxy.httpHandler({ authenticate: o.authenticate?.(auth) ?? auth, routes: [auth.route, ...extraRoutes], allowedHosts: ["127.0.0.1", "localhost"], ...o.http });
  handle = (req, res) => void handler(req, res);
  return {
    as,
    proxy,
    url: `${base}/mcp`,
    auth,
    async close() {
      await proxy.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (!o.as) await as.close();
    },
  };
}

/** A raw JSON-RPC POST, so tests see status, headers and body exactly. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    const data = /^data: (.*)$/m.exec(text);
    if (data) parsed = JSON.parse(data[1] as string);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };

/** Opens a session with a raw initialize and returns its id. */
export async function openSession(url: string, token: string): Promise<string> {
  const r = await post(url, INIT, { authorization: `Bearer ${token}` });
  if (r.status !== 200) throw new Error(`initialize: ${r.status} ${JSON.stringify(r.body)}`);
  const id = r.headers.get("mcp-session-id") as string;
  await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, { authorization: `Bearer ${token}`, "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" });
  return id;
}

export function call(url: string, token: string, session: string, name: string, args: Record<string, unknown> = {}, id = 2) {
  return post(url, { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }, { authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" });
}

/**
 * An SDK OAuthClientProvider that plays the browser: it follows the authorization redirect with
 * fetch (the test server approves at once) and keeps the code for `transport.finishAuth`.
 */
export class BrowserlessProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = "";
  code: string | undefined;
  readonly authorizations: URL[] = [];
  readonly redirectUrl = "http://127.0.0.1:1/callback";

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "browserless", redirect_uris: [this.redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    // No refresh token kept: SDK 1.32.2 answers a 403 step-up by refreshing the old grant, which
    // cannot widen the scope; without one it authorizes again with the challenged scope.
    const { refresh_token: _dropped, ...rest } = tokens;
    this.#tokens = rest;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    const response = await fetch(url, { redirect: "manual" });
    const location = new URL(response.headers.get("location") as string);
    this.code = location.searchParams.get("code") ?? undefined;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
}

/**
 * A user's browser: follows redirects (at most 8), keeps cookies per origin, and signs in at the
 * authorization server as `login` (its login_hint stands for the login page).
 */
export class Browser {
  readonly #jar = new Map<string, Map<string, string>>();
  readonly visited: URL[] = [];
  constructor(readonly login = "alice") {}

  /** One request; the cookies it sets are kept. */
  async get(href: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = new URL(href);
    if (url.pathname === "/authorize") url.searchParams.set("login_hint", this.login);
    this.visited.push(url);
    const jar = this.#jar.get(url.origin) ?? new Map<string, string>();
    this.#jar.set(url.origin, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(url, { redirect: "manual", headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(";");
      const eq = (pair as string).indexOf("=");
      jar.set((pair as string).slice(0, eq), (pair as string).slice(eq + 1));
    }
    return response;
  }

  /** Follows redirects from `href` until a page answers, or until it reaches a URL that `stop` accepts. */
  async open(href: string, stop: (url: URL) => boolean = () => false, headers: Record<string, string> = {}): Promise<Response & { stoppedAt?: URL }> {
    let next = href;
    for (let hop = 0; hop < 8; hop++) {
      if (stop(new URL(next))) return Object.assign(new Response(null, { status: 204 }), { stoppedAt: new URL(next) });
      const response = await this.get(next, headers);
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) return response;
      next = new URL(location, next).href;
    }
    throw new Error("too many redirects");
  }
}

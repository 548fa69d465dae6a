// An MCP server behind the SDK's own bearer middleware (express, requireBearerAuth with
// expectedResource), accepting only tokens of the test authorization server for its own URL, and
// recording every header of every request it receives. With a DPoP checker, it takes only DPoP-bound
// tokens, each presented with a fresh proof of the key it is bound to (RFC 9449 §7).
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { TestAuthServer } from "../fixtures/auth-server.js";
import { UseDPoPNonce, type DPoPChecker } from "../fixtures/dpop.js";

// Express's request and response, as far as used here (the test package has no @types/express).
type Req = IncomingMessage & { originalUrl: string; body?: unknown };
type Res = ServerResponse & { json(body: unknown): void };
type NextFn = (error?: unknown) => void;

export interface ProtectedBackend {
  url: string;
  /** Every request's headers, in order. */
  readonly seen: Record<string, string | string[] | undefined>[];
  /** The subjects of the tokens it accepted. */
  readonly subjects: string[];
  /** Why DPoP presentations were refused, in order. */
  readonly refusals: string[];
  close(): Promise<void>;
}

export async function startProtectedBackend(as: TestAuthServer, o: { requiredScopes?: string[]; dpop?: DPoPChecker } = {}): Promise<ProtectedBackend> {
  const app = createMcpExpressApp({ host: "127.0.0.1" });
  const seen: ProtectedBackend["seen"] = [];
  const subjects: string[] = [];
  const refusals: string[] = [];
  let url = "";
  app.use((req: Req, _res: Res, next: NextFn) => {
    seen.push({ ...req.headers, "x-recorded-url": req.originalUrl });
    next();
  });
  app.get("/.well-known/oauth-protected-resource/mcp", (_req: Req, res: Res) => {
    res.json({ resource: url, authorization_servers: [as.issuer], scopes_supported: ["backend:read"], bearer_methods_supported: ["header"] });
  });
  const verifier = {
    async verifyAccessToken(token: string) {
      const jwks = (await (await fetch(`${as.url}/jwks`)).json()) as JSONWebKeySet;
      try {
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: as.issuer, audience: url });
        subjects.push(String(payload.sub));
        return { token, clientId: String(payload.client_id ?? payload.sub), scopes: String(payload.scope ?? "").split(" ").filter(Boolean), expiresAt: payload.exp, resource: new URL(url), extra: { sub: payload.sub } };
      } catch (error) {
        throw new InvalidTokenError((error as Error).message);
      }
    },
  };
  const gate = () =>
    requireBearerAuth({ verifier, requiredScopes: o.requiredScopes ?? [], resourceMetadataUrl: `${new URL(url).origin}/.well-known/oauth-protected-resource/mcp`, expectedResource: new URL(url) });
  /** A DPoP presentation: the proof checked, the token bound to its key; then the bearer gate checks the token itself. */
  const proofOfPossession = async (req: Req, res: Res, next: NextFn) => {
    const authorization = req.headers.authorization;
    if (!o.dpop || !authorization) return next();
    const refuse = (error: string, reason: string, headers: Record<string, string> = {}) => {
      refusals.push(reason);
      res.writeHead(401, { "www-authenticate": `DPoP error="${error}", error_description="${reason}"`, "content-type": "application/json", ...headers }).end(JSON.stringify({ error }));
    };
    const [scheme, token = ""] = authorization.split(" ");
    if (scheme?.toLowerCase() !== "dpop") return refuse("invalid_token", "a DPoP-bound token is presented with the DPoP scheme");
    try {
      const jkt = await o.dpop.check(req.headers.dpop as string | undefined, req.method ?? "", url, token);
      if ((decodeJwt(token).cnf as { jkt?: string } | undefined)?.jkt !== jkt) return refuse("invalid_token", "the token is bound to another key");
    } catch (error) {
      if (error instanceof UseDPoPNonce) return refuse("use_dpop_nonce", "use the nonce given", { "dpop-nonce": error.nonce });
      return refuse("invalid_dpop_proof", (error as Error).message);
    }
    req.headers.authorization = `Bearer ${token}`;
    next();
  };
  app.all("/mcp", proofOfPossession, (req: Req, res: Res, next: NextFn) => gate()(req as never, res as never, next), async (req: Req, res: Res) => {
    const server = new McpServer({ name: "protected", version: "1.0.0" });
    server.registerTool("whoami", { description: "who the backend sees", annotations: { readOnlyHint: true } }, async (extra) => ({
      content: [{ type: "text", text: String(extra.authInfo?.extra?.sub ?? "anonymous") }],
    }));
    server.registerTool("write_note", { description: "writes", annotations: { readOnlyHint: false, destructiveHint: false } }, async () => ({ content: [{ type: "text", text: "written" }] }));
    server.registerTool("delete_all", { description: "deletes everything", annotations: { destructiveHint: true } }, async () => ({ content: [{ type: "text", text: "deleted" }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => void transport.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    url,
    seen,
    subjects,
    refusals,
    close: () => {
      http.closeAllConnections();
      return new Promise((resolve) => http.close(() => resolve()));
    },
  };
}

// The isolation matrix: every front × session mode × kind of backend credentials, with two principals
// (alice, bob) and an anonymous caller calling a backend that echoes the credential and the backend
// session it saw. One caller never gets another's credential, backend session or result; nobody gets
// the operator's credentials for a backend that acts with each caller's own; an anonymous caller of
// such a backend is refused (401 on HTTP). Real HTTP on 127.0.0.1, a real authorization server (jose).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { HttpHandler } from "@fastmcp-proxy/core/advanced";
import { UserAuthorization, backendAuth, bearerAuth, jwtVerifier, memoryGrants, type BackendAuthSpec } from "@fastmcp-proxy/auth";
import { serveStdioFront } from "../../packages/core/src/eras/index.js";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { PipeTransport } from "../helpers.js";

const OPERATOR_TOKEN = "operator-static-token";
const OPERATOR = `static:${OPERATOR_TOKEN}`;
/** The proxy's resource identifier (the audience of the callers' tokens), the same for every proxy of the matrix. */
const RESOURCE = "https://gateway.test/mcp";

/** What the backend saw: the credential (a JWT's subject, or the static token) and its own session id. */
interface Seen {
  credential: string;
  session: string;
}

/**
 * A stateful streamable HTTP backend whose `whoami` answers what it saw. It asks for a bearer token
 * (401 naming the authorization server), and takes any it is given: it only reports.
 */
async function startEchoBackend(issuer: string): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const credentialOf = (req: IncomingMessage) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!bearer) return "none";
    try {
      return `sub:${decodeJwt(bearer).sub}`;
    } catch {
      return `static:${bearer}`;
    }
  };
  let origin = "";
  const http: Server = createServer(async (req, res) => {
    if (req.url === "/.well-known/oauth-protected-resource/mcp") {
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [issuer] }));
    }
    if (!req.headers.authorization) {
      return void res.writeHead(401, { "www-authenticate": `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` }).end();
    }
    const id = req.headers["mcp-session-id"] as string | undefined;
    let transport = id ? sessions.get(id) : undefined;
    if (!transport) {
      if (id) return void res.writeHead(404).end();
      const made = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => void sessions.set(sid, made) });
      const server = new McpServer({ name: "echo", version: "1.0.0" });
      server.registerTool("whoami", { description: "what the backend saw" }, async (extra) => {
        const seen: Seen = { credential: credentialOf({ headers: extra.requestInfo?.headers ?? {} } as IncomingMessage), session: String(extra.sessionId) };
        return { content: [{ type: "text", text: JSON.stringify(seen) }] };
      });
      await server.connect(made);
      transport = made;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url: `${origin}/mcp`,
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

type Kind = "bearer" | "client_credentials" | "token_exchange" | "per_user";
type Mode = "isolated" | "shared";
type Caller = "alice" | "bob" | "anonymous";
type FrontName = "legacy HTTP" | "stateless HTTP" | "SSE" | "stdio" | "2026 HTTP, declared" | "2026 HTTP, none declared";

const KINDS: Kind[] = ["bearer", "client_credentials", "token_exchange", "per_user"];
const PER_CALLER = new Set<Kind>(["token_exchange", "per_user"]);
const MODES: Mode[] = ["isolated", "shared"];
const FRONTS: FrontName[] = ["legacy HTTP", "stateless HTTP", "SSE", "stdio", "2026 HTTP, declared", "2026 HTTP, none declared"];

/** What one call gave: what the backend saw, or how it was refused. */
type Outcome = { seen: Seen } | { refused: { status?: number; code?: number; message: string } };

describe("the isolation matrix", () => {
  let as: TestAuthServer;
  let backend: Awaited<ReturnType<typeof startEchoBackend>>;
  const tokens = {} as Record<"alice" | "bob", string>;
  const closers: Array<() => Promise<unknown>> = [];
  /** Every outcome, by kind, mode, front and caller. */
  const outcomes = new Map<string, Outcome>();
  const keyOf = (kind: Kind, mode: Mode, front: FrontName, caller: Caller) => `${kind}|${mode}|${front}|${caller}`;

  beforeAll(async () => {
    as = await TestAuthServer.start({ clients: [{ clientId: "proxy", clientSecret: "proxy-secret" }] });
    closers.push(() => as.close());
    backend = await startEchoBackend(as.issuer);
    tokens.alice = await as.mint({ sub: "alice", aud: RESOURCE });
    tokens.bob = await as.mint({ sub: "bob", aud: RESOURCE });
    closers.push(() => backend.close());
    for (const kind of KINDS) for (const mode of MODES) await runCell(kind, mode);
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  /** One proxy of this kind and mode, every front on it, every caller on every front. */
  async function runCell(kind: Kind, mode: Mode): Promise<void> {
    const http: Server = createServer((req, res) => void handler(req, res));
    const stateless: Server = createServer((req, res) => void statelessHandler(req, res));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => stateless.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const statelessUrl = `http://127.0.0.1:${(stateless.address() as AddressInfo).port}/mcp`;
    const primary: BackendAuthSpec = { type: "bearer", token: OPERATOR_TOKEN };
    const grants = memoryGrants();
    const users = new UserAuthorization({ callbackUrl: `${base}/oauth/callback`, store: grants });
    // Each principal has signed in to the backend already (their own tokens, as the sign-in flow would leave them).
    for (const sub of ["alice", "bob"]) {
      grants.write(`backend\n${as.issuer} ${sub}`, { issuer: as.issuer, tokens: { access_token: await as.mint({ sub, aud: backend.url }), token_type: "Bearer" } });
    }
    const spec: Record<Kind, BackendAuthSpec> = {
      bearer: primary,
      client_credentials: { type: "client_credentials", clientId: "proxy", clientSecret: "proxy-secret", issuer: as.issuer },
      token_exchange: { type: "token_exchange", tokenEndpoint: `${as.url}/token`, clientId: "proxy", clientSecret: "proxy-secret", audience: backend.url, primary },
      per_user: { type: "per_user", primary },
    };
    const proxy = FastMCPProxy.asProxy(backend.url, { sessions: mode, logLevel: "error" });
    proxy.credentials(backendAuth({ backend: spec[kind] }, { users }));
    if (kind === "per_user") proxy.use(users.middleware);
    await proxy.start();
    const auth = bearerAuth({ resource: RESOURCE, authorizationServers: [as.issuer], verifier: jwtVerifier({ issuer: as.issuer, jwksUri: `${as.url}/jwks` }), optional: true });
    const common = { authenticate: auth, allowedHosts: ["127.0.0.1"] };
    const handler: HttpHandler = proxy.httpHandler({ ...common, sse: true });
    const statelessHandler: HttpHandler = proxy.httpHandler({ ...common, stateless: true });
    closers.push(async () => {
      await proxy.close();
      for (const server of [http, stateless]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    const callers: Caller[] = ["alice", "bob", "anonymous"];
    for (const front of FRONTS) {
      for (const caller of callers) {
        if (front === "stdio" && caller !== "anonymous") continue; // a stdio front has no HTTP authentication
        const token = caller === "anonymous" ? undefined : tokens[caller];
        const outcome = await callThrough(front, { base, statelessUrl, proxy, token }).catch((error: Error): Outcome => ({ refused: { message: `${front} failed: ${error.message}` } }));
        outcomes.set(keyOf(kind, mode, front, caller), outcome);
      }
    }
  }

  async function callThrough(front: FrontName, o: { base: string; statelessUrl: string; proxy: FastMCPProxy; token: string | undefined }): Promise<Outcome> {
    const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
    const url = `${o.base}/mcp`;
    switch (front) {
      case "legacy HTTP":
        return legacyCall(url, headers, true);
      case "stateless HTTP":
        return legacyCall(o.statelessUrl, headers, false);
      case "2026 HTTP, declared":
        return modernCall(url, headers, { elicitation: {}, sampling: {}, roots: {} });
      case "2026 HTTP, none declared":
        return modernCall(url, headers, {});
      case "SSE": {
        const client = new Client({ name: "sse", version: "1" });
        const fetchWith = (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } });
        await client.connect(new SSEClientTransport(new URL(`${o.base}/sse`), { requestInit: { headers }, eventSourceInit: { fetch: fetchWith } }));
        try {
          return await sdkCall(client);
        } finally {
          await client.close();
        }
      }
      case "stdio": {
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        const served = serveStdioFront(o.proxy.modernFrontHost(), new StdioFrontTransport(stdin, stdout));
        const client = new Client({ name: "stdio", version: "1" });
        await client.connect(new PipeTransport(stdin, stdout) as never);
        try {
          return await sdkCall(client);
        } finally {
          await client.close();
          await served.close();
        }
      }
    }
  }

  async function sdkCall(client: Client): Promise<Outcome> {
    try {
      const result = await client.request({ method: "tools/call", params: { name: "whoami", arguments: {} } }, ResultSchema.passthrough());
      return { seen: JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Seen };
    } catch (error) {
      return { refused: { code: (error as { code?: number }).code, message: String((error as Error).message) } };
    }
  }

  /** A legacy session (initialize, then the call) in raw HTTP, so the status is seen as sent. */
  async function legacyCall(url: string, headers: Record<string, string>, stateful: boolean): Promise<Outcome> {
    const post = async (body: unknown, extra: Record<string, string> = {}) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18", ...headers, ...extra },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      const json = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}");
      return { status: response.status, session: response.headers.get("mcp-session-id"), body: JSON.parse(json) };
    };
    const init = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const session: Record<string, string> = stateful ? { "mcp-session-id": init.session ?? "" } : {};
    if (stateful) await post({ jsonrpc: "2.0", method: "notifications/initialized" }, session);
    const answer = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } }, session);
    if (answer.body.error) return { refused: { status: answer.status, code: answer.body.error.code, message: answer.body.error.message } };
    return { seen: JSON.parse(answer.body.result.content[0].text) as Seen };
  }

  async function modernCall(url: string, headers: Record<string, string>, capabilities: object): Promise<Outcome> {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" },
      "io.modelcontextprotocol/clientCapabilities": capabilities,
    };
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "whoami", ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "whoami", arguments: {}, _meta: meta } }),
    });
    const text = await response.text();
    const json = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}");
    const body = JSON.parse(json);
    if (body.error) return { refused: { status: response.status, code: body.error.code, message: body.error.message } };
    return { seen: JSON.parse(body.result.content[0].text) as Seen };
  }

  const seenOf = (outcome: Outcome | undefined): Seen => {
    if (!outcome || !("seen" in outcome)) throw new Error(`expected an answer, got ${JSON.stringify(outcome)}`);
    return outcome.seen;
  };

  for (const kind of KINDS) {
    for (const mode of MODES) {
      describe(`${kind} credentials, ${mode} sessions`, () => {
        for (const front of FRONTS) {
          it(`${front}: each principal is served as itself or as the operator, as the backend's kind says; never as another`, () => {
            if (front === "stdio") return;
            const alice = seenOf(outcomes.get(keyOf(kind, mode, front, "alice")));
            const bob = seenOf(outcomes.get(keyOf(kind, mode, front, "bob")));
            if (PER_CALLER.has(kind)) {
              expect(alice.credential).toBe("sub:alice");
              expect(bob.credential).toBe("sub:bob");
              // Their backend sessions are their own.
              expect(alice.session).not.toBe(bob.session);
            } else {
              const operator = kind === "bearer" ? OPERATOR : "sub:proxy";
              expect(alice.credential).toBe(operator);
              expect(bob.credential).toBe(operator);
              // Isolated sessions: each principal its own backend session; shared: one, by the operator's choice.
              if (mode === "isolated") expect(alice.session).not.toBe(bob.session);
              else expect(alice.session).toBe(bob.session);
            }
          });

          it(`${front}: an anonymous caller never gets the operator's credentials for a per-caller backend`, () => {
            const outcome = outcomes.get(keyOf(kind, mode, front, "anonymous"));
            if (!PER_CALLER.has(kind)) {
              expect(seenOf(outcome).credential).toBe(kind === "bearer" ? OPERATOR : "sub:proxy");
              return;
            }
            expect(outcome && "refused" in outcome, JSON.stringify(outcome)).toBe(true);
            const refused = (outcome as { refused: { status?: number; code?: number; message: string } }).refused;
            expect(refused.message).toMatch(/acts with each caller's own credentials/);
            expect(refused.code).toBe(-32011);
            // On HTTP the answer's status says so too (SSE answers travel on the event stream; stdio has none).
            if (front !== "SSE" && front !== "stdio") expect(refused.status).toBe(401);
          });
        }
      });
    }
  }
});

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../logger.js";
import type { FrontSession } from "./front-session.js";

export interface HttpFrontOptions {
  /** Streamable HTTP endpoint. Default `/mcp`. */
  path?: string;
  /** Also serve the legacy HTTP+SSE transport (GET `/sse`, POST `/messages`). Default false. */
  sse?: boolean;
  /** Streamable HTTP without sessions: a fresh front session per request. Default false (stateful). */
  stateless?: boolean;
  /** Accepted Host (and Origin) hostnames; requests naming another get 403. Undefined: no check. */
  allowedHosts?: string[];
  /** Largest accepted request body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Extra routes tried first (e.g. /metrics, /healthz); each returns true when it answered. */
  routes?: HttpRoute[];
}

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpFrontHost {
  readonly logger: Logger;
  /** A new front session, not yet connected to a transport. */
  newSession(options?: { shared?: boolean }): FrontSession;
}

export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"];

export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** Open front sessions. */
  readonly sessions: number;
  /** Closes every open session. */
  close(): Promise<void>;
};

/** A Node HTTP request handler serving MCP: mount it in `http.createServer` or an Express app. */
export function createHttpHandler(host: HttpFrontHost, options: HttpFrontOptions = {}): HttpHandler {
  const path = options.path ?? "/mcp";
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const streams = new Map<string, { transport: StreamableHTTPServerTransport; session: FrontSession }>();
  const sse = new Map<string, { transport: SSEServerTransport; session: FrontSession }>();

  async function streamable(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (options.stateless) {
      if (req.method !== "POST") return reply(res, 405, -32000, "Method not allowed: this endpoint is stateless, use POST");
      // No session to hold a backend session of its own: use the shared one.
      const session = host.newSession({ shared: true });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on("close", () => void session.close());
      await session.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    const id = header(req, "mcp-session-id");
    if (id !== undefined) {
      const found = streams.get(id);
      if (!found) return reply(res, 404, -32001, "Session not found: start a new session with initialize");
      return found.transport.handleRequest(req, res, body);
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      return reply(res, 400, -32000, "Bad request: no Mcp-Session-Id header, and the request is not initialize");
    }
    const session = host.newSession();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sessionId) => void streams.set(sessionId, { transport, session }),
    });
    transport.onclose = () => {
      if (transport.sessionId) streams.delete(transport.sessionId);
    };
    await session.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function legacySse(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === "GET" && url.pathname === "/sse") {
      const session = host.newSession();
      const transport = new SSEServerTransport("/messages", res);
      sse.set(transport.sessionId, { transport, session });
      transport.onclose = () => sse.delete(transport.sessionId);
      await session.connect(transport);
      return;
    }
    const found = sse.get(url.searchParams.get("sessionId") ?? "");
    if (!found) return reply(res, 404, -32001, "Session not found: open GET /sse first and post to the endpoint it names");
    const body = await readJson(req, res, maxBody);
    if (body !== NO_BODY) await found.transport.handlePostMessage(req, res, body);
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (options.allowedHosts && !hostAllowed(req, options.allowedHosts)) {
        return reply(res, 403, -32000, `Forbidden: Host or Origin not allowed (allowed: ${options.allowedHosts.join(", ")})`);
      }
      if (options.routes?.some((route) => route(req, res))) return;
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === path) {
        const body = req.method === "POST" ? await readJson(req, res, maxBody) : undefined;
        if (body === NO_BODY) return;
        return await streamable(req, res, body);
      }
      if (options.sse && (url.pathname === "/sse" || url.pathname === "/messages")) return await legacySse(req, res, url);
      return reply(res, 404, -32000, `Not found: the MCP endpoint is ${path}`);
    } catch (error) {
      host.logger.error(`HTTP front: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, -32603, "Internal error");
    }
  };

  return Object.assign(handler, {
    get sessions() {
      return streams.size + sse.size;
    },
    async close() {
      const open = [...streams.values(), ...sse.values()];
      streams.clear();
      sse.clear();
      await Promise.all(open.map(({ session }) => session.close()));
    },
  });
}

const NO_BODY = Symbol("no body");

/** Reads a JSON body within a size limit; on failure answers the request itself and returns NO_BODY. */
async function readJson(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const pre = (req as { body?: unknown }).body; // already parsed by Express
  if (pre !== undefined) return pre;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      reply(res, 413, -32600, `Request body larger than ${maxBytes} bytes`);
      return NO_BODY;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    reply(res, 400, -32700, `Parse error: ${(error as Error).message}`);
    return NO_BODY;
  }
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** DNS-rebinding protection: the Host (and Origin, when sent) must name an allowed host. */
function hostAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const hostname = (value: string) => {
    try {
      return new URL(value).hostname;
    } catch {
      return undefined;
    }
  };
  const host = req.headers.host && hostname(`http://${req.headers.host}`);
  if (!host || !allowed.includes(host)) return false;
  const origin = header(req, "origin");
  if (origin === undefined) return true;
  const originHost = hostname(origin);
  return originHost !== undefined && allowed.includes(originHost);
}

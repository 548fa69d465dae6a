import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../logger.js";
import type { FrontSession } from "./front-session.js";
import { DEFAULT_MAX_BODY, StreamableHttpTransport, readJsonBody, replyError, type EventStore } from "./streamable-http.js";

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
  /**
   * Resumability: an event store for each new session (e.g. `() => new MemoryEventStore()`). POST
   * answers to clients of protocol 2025-11-25 or later are then SSE streams with event ids, and a
   * client that lost a stream resumes it with Last-Event-ID. Default: none (answers in JSON when they can).
   */
  eventStore?: () => EventStore;
  /** `retry:` (ms) suggested to clients in priming events (with `eventStore`). */
  retryInterval?: number;
  /** Interval of SSE keep-alive comments, in ms. Default 15,000; 0 disables them. */
  keepAliveMs?: number;
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
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const streams = new Map<string, { transport: StreamableHttpTransport; session: FrontSession }>();
  const sse = new Map<string, { transport: SSEServerTransport; session: FrontSession }>();
  const transportOptions = { retryInterval: options.retryInterval, keepAliveMs: options.keepAliveMs, maxBodyBytes: maxBody };

  async function streamable(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (options.stateless) {
      if (req.method !== "POST") return reply(res, 405, -32000, "Method not allowed: this endpoint is stateless, use POST");
      // No session to hold a backend session of its own: use the shared one.
      const session = host.newSession({ shared: true });
      const transport = new StreamableHttpTransport(transportOptions);
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
    const transport = new StreamableHttpTransport({
      ...transportOptions,
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sessionId) => void streams.set(sessionId, { transport, session }),
      eventStore: options.eventStore?.(),
    });
    transport.onclose = () => {
      if (transport.sessionId) streams.delete(transport.sessionId);
    };
    await session.connect(transport);
    await transport.handleRequest(req, res, body);
    // Refused before initialize was accepted (406, 415, ...): nothing will ever reach this session.
    if (transport.sessionId === undefined) await session.close();
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
      // The path alone, without building a URL on every call.
      const target = req.url ?? "/";
      const query = target.indexOf("?");
      const pathname = query < 0 ? target : target.slice(0, query);
      if (pathname === path) {
        const body = req.method === "POST" ? await readJson(req, res, maxBody) : undefined;
        if (body === NO_BODY) return;
        return await streamable(req, res, body);
      }
      if (options.sse && (pathname === "/sse" || pathname === "/messages")) return await legacySse(req, res, new URL(target, "http://localhost"));
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
  const read = await readJsonBody(req, maxBytes);
  if ("body" in read) return read.body;
  replyError(res, read);
  return NO_BODY;
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  replyError(res, { status, code, message });
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

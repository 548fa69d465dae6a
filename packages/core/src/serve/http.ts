import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { isInitializeRequest, type InitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { HttpError, identityOf, plainMessage, type ConnectionHold } from "../errors.js";
import type { Logger } from "../logger.js";
import { corsHeaders, type Cors } from "./cors.js";
import type { FrontSession, FrontSessionOptions } from "./front-session.js";
import type { EventStore } from "./event-store.js";
import { header } from "./http-io.js";
import { holdConnection } from "./hold.js";
import { HTTP_LIMITS, SessionBudget, hostGuard, type HttpLimits } from "./http-guards.js";
import { DEFAULT_MAX_BODY, readBody, refuse, replyError } from "../wire/body.js";
import { checkMessage } from "../wire/message.js";
import { StreamableHttpTransport } from "./streamable-http.js";
import { fleetSubkey, type FleetKey } from "./fleet-key.js";
import { SessionIds, boundTo, newSessionKey, type SessionClaims } from "./session-ids.js";
import { createModernFront, isModernRequest, resumesHeldCall, type ModernFrontHost, type ModernFrontOptions } from "../eras/index.js";

export interface HttpFrontOptions {
  /** Streamable HTTP endpoint. Default `/mcp`. */
  path?: string;
  /** Also serve the legacy HTTP+SSE transport (GET `/sse`, POST `/messages`). Default false. */
  sse?: boolean;
  /** Streamable HTTP without sessions: a fresh front session per request. Default false (stateful). */
  stateless?: boolean;
  /** Accepted Host (and Origin) hostnames; requests naming another get 403. Undefined: no check. */
  allowedHosts?: string[];
  /** Largest accepted request body. Default 4 MiB; past it 413, and the connection is closed unread. */
  maxBodyBytes?: number;
  /** Bounds on sessions, requests in flight and slow readers (defaults in docs/limits.md). */
  limits?: HttpLimits;
  /** Extra routes tried first (e.g. /metrics, /healthz); each returns true when it answered. */
  routes?: HttpRoute[];
  /**
   * Resumability: an event store for each new session (e.g. `() => new MemoryEventStore()`). POST
   * answers to clients of protocol 2025-11-25 or later are then SSE streams with event ids, and a
   * client that lost a stream resumes it with Last-Event-ID. Default: none (answers in JSON when they can).
   * `session.key` is the same on every replica that serves the session: a store shared by the fleet
   * namespaced by it replays on any of them (`(session) => events.create(session.key)`).
   */
  eventStore?: (session: { key: string }) => EventStore;
  /** `retry:` (ms) suggested to clients in priming events (with `eventStore`). */
  retryInterval?: number;
  /** Interval of SSE keep-alive comments, in ms. Default 15,000; 0 disables them. */
  keepAliveMs?: number;
  /**
   * Who is calling, decided before a session is looked up or created (see docs/extension-points.md).
   * Return the caller's AuthInfo, or undefined for an anonymous caller; throw an HttpError to refuse.
   */
  authenticate?: Authenticate;
  /** Browser clients: the origins allowed to call (CORS), e.g. ["https://app.example.com"], or ["*"]. */
  allowedOrigins?: string[];
  /**
   * 2026-07-28 clients on the same endpoint (see docs/forwarding.md, "Protocol eras and the bridge"):
   * options for their front and the input_required bridge, or false to leave them to the legacy path.
   */
  modern?: ModernFrontOptions | false;
  /**
   * The key the replicas of a fleet share (at least 32 bytes): what one replica seals (session ids,
   * requestState) another can open, so any replica serves any session. Default: a random key per
   * process. See docs/deployment.md, "Sessions across replicas".
   */
  fleetKey?: FleetKey;
}

/**
 * Who is calling. `front.holdAfterAnswer(hold)`: an admitted caller that should send nothing more
 * before its next turn has its connection offered to `hold` once this request is answered (the same
 * hold as `HttpError.hold`; `false` leaves the connection as it is). See docs/extension-points.md.
 */
export type Authenticate = (req: IncomingMessage, front?: { holdAfterAnswer(hold: ConnectionHold): void }) => AuthInfo | undefined | Promise<AuthInfo | undefined>;

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpFrontHost {
  readonly logger: Logger;
  /** Connects the backends, once; a handler mounted before start() waits for it on its first request. */
  start(): Promise<void>;
  /** A new front session, not yet connected to a transport. */
  newSession(options?: FrontSessionOptions): FrontSession;
  /** What 2026-07-28 requests are served through. */
  readonly modern: ModernFrontHost;
}

/** A front session on its transport, and the identity it is bound to. */
interface Entry<T> {
  transport: T;
  session: FrontSession;
  identity: string | undefined;
  /** Until the session sends something after initialize: its eviction timer. */
  fresh?: NodeJS.Timeout | undefined;
  /** When its client last sent a request (ms since the epoch). */
  lastSeen: number;
}

export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"];

export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** Open front sessions. */
  readonly sessions: number;
  /** Shutting down: new sessions get 503, the open ones are served on. */
  drain(): void;
  /** Closes every open session. */
  close(): Promise<void>;
};

/** A Node HTTP request handler serving MCP: mount it in `http.createServer` or an Express app. */
export function createHttpHandler(host: HttpFrontHost, options: HttpFrontOptions = {}): HttpHandler {
  const path = options.path ?? "/mcp";
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const streams = new Map<string, Entry<StreamableHttpTransport>>();
  const sse = new Map<string, Entry<SSEServerTransport>>();
  const limits = { ...HTTP_LIMITS, ...options.limits };
  const budget = new SessionBudget(limits.maxSessions, limits.maxSessionsPerIdentity);
  let draining = false;
  const shuttingDown = "Service Unavailable: the proxy is shutting down";
  const transportOptions = {
    retryInterval: options.retryInterval,
    keepAliveMs: options.keepAliveMs,
    maxBodyBytes: maxBody,
    maxInFlight: limits.maxInFlightPerSession,
    writeLimits: { maxBufferedBytes: limits.maxStreamBufferBytes, sendTimeoutMs: limits.sendTimeoutMs },
  };
  const cors: Cors | undefined = options.allowedOrigins?.length ? { origins: options.allowedOrigins } : undefined;
  const hostAllowed = options.allowedHosts && hostGuard(options.allowedHosts);
  // Session ids are sealed: a replica that does not hold a session takes it up from its id.
  const ids = new SessionIds(options.fleetKey !== undefined ? fleetSubkey(options.fleetKey, "session-id") : randomBytes(32));
  /** Keys of sessions ended here (DELETE, silent after initialize), the latest ones: their ids are refused here from now on. */
  const ended = new Set<string>();
  /** Sessions being taken up here: requests arriving together share one. */
  const takingUp = new Map<string, Promise<Entry<StreamableHttpTransport> | string>>();
  let started = false;
  // Sessions of clients that went without a DELETE: closed once idle (no request, no open stream) for sessionIdleMs.
  const idleMs = limits.sessionIdleMs;
  const sweep = Number.isFinite(idleMs) && idleMs > 0 ? setInterval(() => expireIdle(Date.now()), Math.min(idleMs / 2, 60_000)) : undefined;
  sweep?.unref();
  function expireIdle(now: number): void {
    for (const entry of streams.values()) {
      if (now - entry.lastSeen < idleMs || entry.transport.busy) continue;
      host.logger.debug(`closing session ${entry.transport.sessionId}: idle for ${now - entry.lastSeen} ms with no stream open`);
      void entry.transport.close();
    }
  }
  // Replicas sharing a fleet key open each other's requestState (a held call's retry may reach any of them).
  const fleetState = options.fleetKey === undefined ? undefined : { key: fleetSubkey(options.fleetKey, "request-state") };
  const modern = options.modern === false ? undefined : createModernFront(host.modern, { ...options.modern, requestState: { ...fleetState, ...options.modern?.requestState } });

  /** A session found by id, if the caller is the one it is bound to: to anyone else it does not exist. */
  function bound<T>(map: Map<string, Entry<T>>, id: string, authInfo: AuthInfo | undefined): Entry<T> | undefined {
    const found = map.get(id);
    return found && found.identity === identityOf(authInfo) ? found : undefined;
  }

  /** What a sealed id says, if it is this fleet's, bound to this caller, and not ended here. */
  function claimsOf(id: string, authInfo: AuthInfo | undefined): SessionClaims | undefined {
    const claims = ids.open(id);
    return claims && boundTo(claims, identityOf(authInfo)) && !ended.has(claims.key) ? claims : undefined;
  }

  function endHere(key: string): void {
    ended.add(key);
    if (ended.size > MAX_ENDED) ended.delete(ended.values().next().value!);
  }

  /**
   * A front session on a new transport, with a place among the open ones (or why there is none).
   * Its key is the one its sealed id carries: the same tenant and event store on every replica.
   */
  function openSession(authInfo: AuthInfo | undefined, key: string): { session: FrontSession; transport: StreamableHttpTransport; entry: Entry<StreamableHttpTransport> } | string {
    if (draining) return shuttingDown;
    const identity = identityOf(authInfo);
    const place = budget.take(identity);
    if (place.refused !== undefined) return place.refused;
    const session = host.newSession({ authInfo, sessionKey: key });
    const transport = new StreamableHttpTransport({
      ...transportOptions,
      sessionIdGenerator: (initialize: InitializeRequest["params"]) => ids.issue({ initialize, identity, key }),
      onsessioninitialized: (sessionId) => void streams.set(sessionId, entry),
      // The client's stream went away with nothing in flight: it has most likely gone. Its backend
      // sessions are let go now, not at the idle timeout (they reopen if it comes back).
      onstreamsclosed: () => session.releaseIdle(),
      onsessionclosed: () => endHere(key),
      eventStore: options.eventStore?.({ key }),
    });
    const entry: Entry<StreamableHttpTransport> = { transport, session, identity, lastSeen: Date.now() };
    transport.onclose = () => {
      clearTimeout(entry.fresh);
      if (transport.sessionId) streams.delete(transport.sessionId);
      place.release();
    };
    return { session, transport, entry };
  }

  /** Takes up here a session another replica opened (or this one, before it expired), from its id. */
  function takeUp(id: string, claims: SessionClaims, authInfo: AuthInfo | undefined): Promise<Entry<StreamableHttpTransport> | string> {
    let pending = takingUp.get(id);
    if (!pending) {
      pending = (async () => {
        const opened = openSession(authInfo, claims.key);
        if (typeof opened === "string") return opened;
        try {
          await opened.session.connect(opened.transport);
          await opened.transport.restore(id, claims.initialize);
        } catch (error) {
          await opened.session.close();
          throw error;
        }
        streams.set(id, opened.entry);
        host.logger.debug(`session ${id.slice(0, 12)}... taken up from its id`);
        return opened.entry;
      })().finally(() => takingUp.delete(id));
      takingUp.set(id, pending);
    }
    return pending;
  }

  async function streamable(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo: AuthInfo | undefined): Promise<void> {
    if (options.stateless) {
      if (req.method !== "POST") return reply(res, 405, -32000, "Method not allowed: this endpoint is stateless, use POST");
      if (draining) return reply(res, 503, -32000, shuttingDown);
      // A front session for this one request: its tenant is its principal, or this request alone.
      const session = host.newSession({ stateless: true, authInfo });
      const transport = new StreamableHttpTransport(transportOptions);
      res.on("close", () => void session.close());
      await session.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    const id = header(req, "mcp-session-id");
    if (id !== undefined) {
      let found: Entry<StreamableHttpTransport> | string | undefined = bound(streams, id, authInfo);
      const claims = found ? undefined : claimsOf(id, authInfo);
      if (!found && claims && req.method === "DELETE") {
        // Not held here: nothing to end but the id, here (another replica holding it expires it when idle).
        endHere(claims.key);
        return void res.writeHead(200).end();
      }
      if (!found && claims) found = await takeUp(id, claims, authInfo);
      if (!found) return reply(res, 404, -32001, "Session not found: start a new session with initialize");
      if (typeof found === "string") return reply(res, 503, -32000, found);
      clearTimeout(found.fresh); // it has sent something after initialize
      found.lastSeen = Date.now();
      return found.transport.handleRequest(req, res, body);
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      // An initialize the envelope check refuses (a wrong `_meta`, say) is told why.
      const invalid = req.method === "POST" && (body as { method?: unknown } | undefined)?.method === "initialize" ? checkMessage(body).error : undefined;
      if (invalid) return reply(res, 400, invalid.error.code, invalid.error.message);
      return reply(res, 400, -32000, "Bad request: no Mcp-Session-Id header, and the request is not initialize");
    }
    // A place among the open sessions (overall and this caller's), refused fast when there is none.
    const key = newSessionKey();
    const opened = openSession(authInfo, key);
    if (typeof opened === "string") return reply(res, 503, -32000, opened);
    const { session, transport, entry } = opened;
    // A session that sends nothing after initialize is closed soon: such sessions cost memory and give nothing.
    entry.fresh = setTimeout(() => {
      endHere(key);
      void transport.close();
    }, limits.uninitializedTtlMs);
    entry.fresh.unref();
    await session.connect(transport);
    await transport.handleRequest(req, res, body);
    // Refused before initialize was accepted (406, 415, ...): nothing will ever reach this session.
    if (transport.sessionId === undefined) await session.close();
  }

  async function legacySse(req: IncomingMessage, res: ServerResponse, url: URL, authInfo: AuthInfo | undefined): Promise<void> {
    if (req.method === "GET" && url.pathname === "/sse") {
      if (draining) return reply(res, 503, -32000, shuttingDown);
      const place = budget.take(identityOf(authInfo));
      if (place.refused !== undefined) return reply(res, 503, -32000, place.refused);
      const session = host.newSession({ authInfo });
      const transport = new SSEServerTransport("/messages", res);
      sse.set(transport.sessionId, { transport, session, identity: identityOf(authInfo), lastSeen: Date.now() });
      transport.onclose = () => {
        sse.delete(transport.sessionId);
        place.release();
      };
      await session.connect(transport);
      return;
    }
    const found = bound(sse, url.searchParams.get("sessionId") ?? "", authInfo);
    if (!found) return reply(res, 404, -32001, "Session not found: open GET /sse first and post to the endpoint it names");
    const body = await readJson(req, res, maxBody);
    if (body !== NO_BODY) await found.transport.handlePostMessage(req, res, body);
  }

  /** The caller's AuthInfo, or undefined when anonymous; false when refused (answered already). */
  async function caller(req: IncomingMessage, res: ServerResponse): Promise<AuthInfo | undefined | false> {
    if (!options.authenticate) return undefined;
    try {
      let holdAfter: ConnectionHold | undefined;
      const authInfo = await options.authenticate(req, { holdAfterAnswer: (hold) => void (holdAfter = hold) });
      if (holdAfter) holdConnection(res, holdAfter);
      // Where the transports (ours and the SDK's SSE one) read it from.
      if (authInfo) (req as { auth?: AuthInfo }).auth = authInfo;
      return authInfo;
    } catch (error) {
      // Refused unread (a rate limit's 429 too): the body is dropped as it comes, within the body
      // limit and for a few seconds, so a keep-alive connection stays usable; past that it is closed.
      if (error instanceof HttpError) {
        // A refusal that holds its connection, or closes it when the holder will not.
        const close = error.hold !== undefined && !holdConnection(res, error.hold);
        refuse(res, error.status, { jsonrpc: "2.0", id: null, error: { code: error.code, message: plainMessage(error) } }, true, close ? { ...error.headers, connection: "close" } : { ...error.headers }, maxBody);
      } else {
        req.resume();
        host.logger.error(`HTTP front: authenticate failed: ${plainMessage(error)}`);
        reply(res, 500, -32603, "Internal error while authenticating the request");
      }
      return false;
    }
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const origin = header(req, "origin");
      const corsAllowed = cors !== undefined && origin !== undefined && corsHeaders(cors, origin, req, res);
      // Only an origin named in allowedOrigins passes the Origin check; "*" does not switch it off.
      if (hostAllowed && !hostAllowed(req, corsAllowed && cors.origins.includes(origin))) {
        return reply(res, 403, -32000, `Forbidden: Host or Origin not allowed (allowed: ${options.allowedHosts!.join(", ")})`);
      }
      // Routes first: one may answer its own preflight (the auth metadata document is public).
      if (options.routes?.some((route) => route(req, res))) return;
      if (req.method === "OPTIONS") {
        if (!corsAllowed) return reply(res, 403, -32000, "Forbidden: this origin is not allowed (set allowedOrigins, --allow-origin)");
        return void res.writeHead(204).end();
      }
      // The path alone, without building a URL on every call.
      const target = req.url ?? "/";
      const query = target.indexOf("?");
      const pathname = query < 0 ? target : target.slice(0, query);
      const mcp = pathname === path;
      if (!mcp && !(options.sse && (pathname === "/sse" || pathname === "/messages"))) {
        return reply(res, 404, -32000, `Not found: the MCP endpoint is ${path}`);
      }
      const authInfo = options.authenticate ? await caller(req, res) : undefined;
      if (authInfo === false) return;
      // Started once: later requests do not wait a turn for it.
      if (!started) {
        await host.start().catch((error: unknown) => {
          throw new HttpError(503, `The proxy could not start: ${plainMessage(error)}`);
        });
        started = true;
      }
      if (!mcp) return await legacySse(req, res, new URL(target, "http://localhost"), authInfo);
      // An unknown session is refused before its body is read: the body is dropped unread (within the body limit), never buffered.
      const sessionId = options.stateless ? undefined : header(req, "mcp-session-id");
      if (sessionId !== undefined && req.method === "POST" && !bound(streams, sessionId, authInfo) && !claimsOf(sessionId, authInfo)) {
        const notFound = { jsonrpc: "2.0" as const, id: null, error: { code: -32001, message: "Session not found: start a new session with initialize" } };
        return refuse(res, 404, notFound, true, {}, maxBody);
      }
      const body = req.method === "POST" ? await readJson(req, res, maxBody) : undefined;
      if (body === NO_BODY) return;
      if (modern && isModernRequest(req, body)) {
        // Draining: a 2026 request is a new session of its own, but a retry resumes a held call.
        if (draining && !resumesHeldCall(body)) return reply(res, 503, -32000, shuttingDown);
        return await modern.handle(req, res, body, authInfo);
      }
      return await streamable(req, res, body, authInfo);
    } catch (error) {
      if (error instanceof HttpError) return reply(res, error.status, error.code, plainMessage(error));
      host.logger.error(`HTTP front: ${plainMessage(error)}`);
      if (!res.headersSent) reply(res, 500, -32603, "Internal error");
    }
  };

  // defineProperty, not Object.assign: assign would copy the getter's value once.
  Object.defineProperty(handler, "sessions", { get: () => streams.size + sse.size });
  return Object.assign(handler as typeof handler & { readonly sessions: number }, {
    drain() {
      draining = true;
    },
    async close() {
      clearInterval(sweep);
      const open = [...streams.values(), ...sse.values()];
      streams.clear();
      sse.clear();
      await Promise.all([...open.map(({ session }) => session.close()), modern?.close()]);
    },
  });
}

const NO_BODY = Symbol("no body");
/** Ended sessions each replica remembers (their keys, 22 characters each). */
const MAX_ENDED = 10_000;

/**
 * Reads a JSON body within a size limit (strict UTF-8, bounded depth); on failure answers the
 * request itself (413 closes the connection, the rest unread) and returns NO_BODY. A body a
 * framework already parsed is used as it is.
 */
async function readJson(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== undefined) return parsed;
  if (req.readableEnded) return refuse(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: the body was read already" } }), NO_BODY;
  const read = await readBody(req, maxBytes);
  if (!read.failure) return read.value;
  refuse(res, read.failure.status, read.failure.reply, read.failure.close);
  return NO_BODY;
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  replyError(res, { status, code, message });
}

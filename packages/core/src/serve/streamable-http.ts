// A streamable HTTP server transport on plain node:http, behind the SDK's `Transport` interface.
//
// It keeps what clients and the conformance suite rely on from the SDK's
// StreamableHTTPServerTransport (status codes, session and protocol-version checks, the standalone
// GET stream, DELETE, keep-alive, priming events and Last-Event-ID resumability with an event
// store) without its Web-standard detour: no Request/Response objects, no ReadableStream per POST,
// no zod parse of every envelope. The main difference is "lazy SSE": a POST is answered with plain
// JSON when its response is the first message produced for it, and becomes an SSE stream only
// when something related to it (progress, logging, sampling, ...) has to go first. The spec lets
// the server choose the content type per response, and the common call then pays for no stream.
// A client whose Accept header prefers text/event-stream, or that can resume with an event store,
// gets a stream from the start, as from the SDK.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  ErrorCode,
  SUPPORTED_PROTOCOL_VERSIONS,
  isInitializeRequest,
  type InitializeRequest,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type RequestInfo,
} from "@modelcontextprotocol/sdk/types.js";

import type { EventStore } from "./event-store.js";
import { header, isJsonContentType, prefersSse } from "./http-io.js";
import { DEFAULT_MAX_BODY, readBody, refuse, replyError, type Failure } from "../wire/body.js";
import { checkBatch, checkMessage, checkParams } from "../wire/message.js";
import { paramsShapeOf } from "../methods.js";
import { SSE_KEEPALIVE, formatSseEvent } from "../wire/sse.js";
import { endBounded, writeBounded, type WriteLimits } from "./http-guards.js";
import { encodeMessage, encodedLength } from "../wire/raw.js";
import { httpStatusOf } from "../errors.js";
import { InFlightMap } from "../in-flight.js";

export interface StreamableHttpTransportOptions {
  /** Issues the session id on initialize, given its params. Absent: stateless (no session id; one transport per request). */
  sessionIdGenerator?: (() => string) | ((initialize: InitializeRequest["params"]) => string) | undefined;
  /** Called with the new session id once initialize has been accepted. */
  onsessioninitialized?: ((sessionId: string) => void | Promise<void>) | undefined;
  /** Called when the standalone GET stream has closed while no request was waiting for an answer. */
  onstreamsclosed?: (() => void) | undefined;
  /** Called when the client ends the session with DELETE. */
  onsessionclosed?: ((sessionId: string | undefined) => void | Promise<void>) | undefined;
  /** Enables priming events, event ids and Last-Event-ID resumption. Use one store per session. */
  eventStore?: EventStore | undefined;
  /** `retry:` (ms) sent to the client in priming events. */
  retryInterval?: number | undefined;
  /** Interval of SSE keep-alive comments, in ms. Default 15,000; below 1 disables them. */
  keepAliveMs?: number | undefined;
  /** Largest request body read by `handleRequest` itself. Default 4 MiB. */
  maxBodyBytes?: number | undefined;
  /** Slow readers: bytes an SSE stream may have waiting, and how long a write may wait (then that stream is closed). */
  writeLimits?: WriteLimits | undefined;
  /** Requests of this session in flight at once; past it a POST gets 429 at once, nothing is queued. Default 100. */
  maxInFlight?: number | undefined;
}

/** The stream id the SDK uses for the standalone GET stream (kept, so stores stay interchangeable). */
const STANDALONE = "_GET_stream";
const MAX_BATCH = 100;
const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

/** Where the messages of one POST (or of the standalone GET stream) go, across reconnections. */
interface Stream {
  /** Its id in the event store. */
  readonly id: string;
  /** The HTTP response carrying it now; undefined while the client is away. */
  res: ServerResponse | undefined;
  /** Its headers went out as text/event-stream (else it is still free to answer in JSON). */
  sse: boolean;
  /** Requests of this POST not answered yet. */
  open: number;
  /** Responses held for a JSON answer until the whole batch is answered. */
  held: JSONRPCMessage[] | undefined;
  /** The client's protocol version: priming events need 2025-11-25 or later. */
  readonly version: string;
  readonly openedAt: number;
  /** Event ids a resumption already replayed on `res`, not to be written twice. */
  replayed: Set<string> | undefined;
  /** With an event store, writes wait for their event id: this keeps them in order. */
  queue: Promise<void> | undefined;
}

/**
 * One streamable HTTP session (or one stateless request): feed it requests with `handleRequest`.
 * Host/Origin checks and routing between sessions are the caller's (see `createHttpHandler`).
 */
export class StreamableHttpTransport implements Transport {
  sessionId: string | undefined;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  readonly #options: StreamableHttpTransportOptions;
  readonly #store: EventStore | undefined;
  readonly #keepAliveMs: number;
  readonly #standalone: Stream;
  /** Unanswered request id → the stream its response goes to. */
  readonly #byRequest = new InFlightMap<RequestId, Stream>();
  /** Open POST streams by id, for resumption (kept only with an event store). */
  readonly #streams = new Map<string, Stream>();
  #timer: NodeJS.Timeout | undefined;
  #protocolVersion: string | undefined;
  /** The initialize request waiting for its result, which names the negotiated version. */
  #initId: RequestId | undefined;
  #started = false;
  #initialized = false;
  /** A replayed initialize (restore) waiting for its answer, which goes nowhere. */
  #restoring: { id: RequestId; answered: (message: JSONRPCMessage) => void } | undefined;
  #used = false;
  #closed = false;

  constructor(options: StreamableHttpTransportOptions = {}) {
    this.#options = options;
    this.#store = options.eventStore;
    const keepAlive = options.keepAliveMs ?? 15_000;
    this.#keepAliveMs = Number.isFinite(keepAlive) && keepAlive >= 1 ? Math.min(keepAlive, 2 ** 31 - 1) : 0;
    this.#standalone = newStream(STANDALONE, "", 0);
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error("Transport already started");
    this.#started = true;
  }

  /** The protocol version negotiated at initialize (read from the initialize result as it goes out). */
  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  /**
   * Takes up a session initialized elsewhere (another replica issued its id): the server is given
   * its initialize again, as if it had been served here, and the answer is dropped. Resolves once
   * the server has answered; then requests carrying `sessionId` are served.
   */
  async restore(sessionId: string, initialize: InitializeRequest["params"]): Promise<void> {
    if (this.#initialized || !this.onmessage) throw new Error("restore() takes a connected transport that is not initialized");
    this.sessionId = sessionId;
    this.#initialized = true;
    const id = `restore-${randomUUID()}`;
    const answer = await new Promise<JSONRPCMessage>((answered) => {
      this.#restoring = { id, answered };
      this.onmessage?.({ jsonrpc: "2.0", id, method: "initialize", params: initialize });
    });
    const negotiated = (answer as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
    if (typeof negotiated !== "string") throw new Error(`the server refused the session's initialize: ${JSON.stringify(answer)}`);
    this.setProtocolVersion(negotiated);
    this.onmessage?.({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  /** Whether the client is here now: a request of its unanswered, or its standalone stream open. */
  get busy(): boolean {
    return this.#byRequest.size > 0 || live(this.#standalone);
  }

  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  /** Serves one HTTP request: POST, GET or DELETE. `parsedBody`: the body, when already read. */
  async handleRequest(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, parsedBody?: unknown): Promise<void> {
    if (this.#closed) return this.#fail(res, { status: 404, code: -32001, message: "Session not found" });
    // A stateless transport answers one request: reused, two clients' request ids would collide.
    if (!this.#options.sessionIdGenerator && this.#used) {
      throw new Error("Stateless transport cannot be reused across requests. Create a new transport per request.");
    }
    this.#used = true;
    switch (req.method) {
      case "POST":
        return this.#post(req, res, parsedBody);
      case "GET":
        return this.#get(req, res);
      case "DELETE":
        return this.#delete(req, res);
      default:
        res.setHeader("allow", "GET, POST, DELETE");
        return this.#fail(res, { status: 405, code: -32000, message: "Method not allowed." });
    }
  }

  async #post(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, parsedBody: unknown): Promise<void> {
    const accept = req.headers.accept;
    if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) {
      return this.#fail(res, { status: 406, code: -32000, message: "Not Acceptable: Client must accept both application/json and text/event-stream" });
    }
    if (!isJsonContentType(req.headers["content-type"])) {
      return this.#fail(res, { status: 415, code: -32000, message: "Unsupported Media Type: Content-Type must be application/json" });
    }
    let body = parsedBody;
    if (body === undefined) {
      // Read here (no router read it): strict UTF-8 and bounded depth, as on every transport.
      const read = await readBody(req, this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY);
      if (read.failure) {
        this.onerror?.(new Error(read.failure.reply.error.message));
        return refuse(res, read.failure.status, read.failure.reply, read.failure.close);
      }
      body = read.value;
    }
    if (Array.isArray(body)) {
      // Batches only on revisions that have them (before 2025-06-18); no header: the negotiated one, else 2025-03-26.
      const refused = checkBatch(body, header(req, "mcp-protocol-version") ?? this.#protocolVersion ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION, MAX_BATCH);
      if (refused) return this.#fail(res, { status: 400, code: refused.error.code, message: refused.error.message });
    }
    const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
    // The ids of a batch, to refuse one that comes twice (a lone message needs no set).
    const ids = messages.length > 1 ? new Set<RequestId>() : undefined;
    for (const m of messages) {
      // JSON that is not a message: -32600 (or -32602 for bad params), never -32700, which is for bytes that are not JSON.
      const invalid = checkMessage(m).error;
      if (invalid) return this.#fail(res, { status: 400, code: invalid.error.code, message: invalid.error.message });
      // An id already in flight in this session (or twice in one batch) is refused: two answers with one id could not be told apart.
      if ("method" in m && "id" in m) {
        if (this.#byRequest.has(m.id) || ids?.has(m.id)) {
          return this.#fail(res, { status: 400, code: -32600, message: `Invalid Request: a request with id ${JSON.stringify(m.id)} is already in flight in this session` });
        }
        ids?.add(m.id);
      }
    }
    if (this.#closed) return this.#fail(res, { status: 404, code: -32001, message: "Session not found" });

    let init: InitializeRequest | undefined;
    for (const m of messages) if ("method" in m && m.method === "initialize" && isInitializeRequest(m)) init ??= m as InitializeRequest;
    if (init) {
      if (this.#initialized && this.sessionId !== undefined) {
        return this.#fail(res, { status: 400, code: -32600, message: "Invalid Request: Server already initialized" });
      }
      if (messages.length > 1) {
        return this.#fail(res, { status: 400, code: -32600, message: "Invalid Request: Only one initialization request is allowed" });
      }
      this.sessionId = this.#options.sessionIdGenerator?.(init.params);
      this.#initialized = true;
      this.#initId = (init as { id?: RequestId }).id;
      if (this.sessionId !== undefined) await this.#options.onsessioninitialized?.(this.sessionId);
    } else {
      const refused = this.#checkSession(req) ?? checkProtocolVersion(req);
      if (refused) return this.#fail(res, refused);
    }
    if (this.#closed) return this.#fail(res, { status: 404, code: -32001, message: "Session not found" });

    // A lone request whose params have the wrong types is answered here, -32602 with a plain
    // message, rather than forwarded for a backend's validation dump.
    const lone = messages.length === 1 ? messages[0]! : undefined;
    const badParams = lone && "method" in lone && "id" in lone ? checkParams(lone.method, paramsShapeOf(lone.method), lone.params) : undefined;
    if (badParams) {
      const headers: Record<string, string> = { "content-type": "application/json", ...(this.sessionId === undefined ? {} : { "mcp-session-id": this.sessionId }) };
      return void res.writeHead(200, headers).end(JSON.stringify({ jsonrpc: "2.0", id: (lone as { id: RequestId }).id, error: badParams }));
    }
    const extra: MessageExtraInfo = { authInfo: req.auth, requestInfo: new NodeRequestInfo(req) };
    let requests = 0;
    for (const m of messages) if ("method" in m && "id" in m) requests++;
    const maxInFlight = this.#options.maxInFlight ?? 100;
    if (requests > 0 && this.#byRequest.size + requests > maxInFlight) {
      return this.#fail(res, { status: 429, code: -32000, message: `Too Many Requests: ${this.#byRequest.size} requests in flight in this session (at most ${maxInFlight})` });
    }
    if (requests === 0) {
      // Notifications and responses only: nothing to answer but "accepted".
      res.writeHead(202).end();
      for (const m of messages) this.onmessage?.(m, extra);
      return;
    }

    // Without a header, the version negotiated at initialize (what the spec suggests), else its default.
    const version = init?.params.protocolVersion ?? header(req, "mcp-protocol-version") ?? this.#protocolVersion ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    const stream = newStream(this.#store ? randomUUID() : "", version, requests);
    stream.res = res;
    for (const m of messages) if ("method" in m && "id" in m) this.#byRequest.set(m.id, stream);
    if (this.#store) this.#streams.set(stream.id, stream);
    // A stream from the start, as from the SDK, for a client that can resume (with a store: the
    // priming event lets even a plain call be picked up again after a dropped connection), and for
    // one whose Accept header prefers text/event-stream.
    if ((this.#store && version >= "2025-11-25") || prefersSse(accept)) this.#toSse(stream);
    this.#armKeepAlive();
    for (const m of messages) {
      if (this.#store && version >= "2025-11-25" && "method" in m && "id" in m) {
        const id = m.id;
        this.onmessage?.(m, { ...extra, closeSSEStream: () => this.#hangUp(this.#byRequest.get(id)), closeStandaloneSSEStream: () => this.#hangUp(this.#standalone) });
      } else {
        this.onmessage?.(m, extra);
      }
    }
  }

  async #get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!req.headers.accept?.includes("text/event-stream")) {
      return this.#fail(res, { status: 406, code: -32000, message: "Not Acceptable: Client must accept text/event-stream" });
    }
    const refused = this.#checkSession(req) ?? checkProtocolVersion(req);
    if (refused) return this.#fail(res, refused);
    const lastEventId = header(req, "last-event-id");
    if (this.#store && lastEventId) {
      const resumed = await this.#resume(res, lastEventId);
      if (resumed) return;
    }
    if (live(this.#standalone)) {
      return this.#fail(res, { status: 409, code: -32000, message: "Conflict: Only one SSE stream is allowed per session" });
    }
    this.#attach(this.#standalone, res, undefined);
    res.writeHead(200, this.#sseHeaders());
    res.flushHeaders();
    this.#armKeepAlive();
  }

  /**
   * Replays what the client missed after `lastEventId` on `res` and makes `res` carry the rest of
   * that stream. False when the store does not know the event (then a fresh GET stream is opened).
   */
  async #resume(res: ServerResponse, lastEventId: string): Promise<boolean> {
    const store = this.#store!;
    try {
      if (store.getStreamIdForEventId) {
        const streamId = await store.getStreamIdForEventId(lastEventId);
        if (!streamId) return false;
        if (live(this.#streamById(streamId))) {
          this.#fail(res, { status: 409, code: -32000, message: "Conflict: Stream already has an active connection" });
          return true;
        }
      }
      // Held until the store has told which stream they belong to: an unknown id gets a fresh stream.
      const replay: string[] = [];
      const replayed = new Set<string>();
      const streamId = await store.replayEventsAfter(lastEventId, {
        send: async (eventId, message) => {
          if (!("jsonrpc" in message)) return; // a priming event carries nothing to replay
          replay.push(sseEvent(JSON.stringify(message), eventId));
          replayed.add(eventId);
        },
      });
      if (!streamId) return false;
      if (this.#closed || res.destroyed) {
        if (!res.headersSent) this.#fail(res, { status: 404, code: -32001, message: "Session not found" });
        return true;
      }
      res.writeHead(200, this.#sseHeaders());
      for (const event of replay) res.write(event);
      const stream = this.#streamById(streamId);
      if (stream && (stream === this.#standalone || stream.open > 0)) {
        this.#attach(stream, res, replayed);
        this.#armKeepAlive();
      } else {
        res.end(); // that POST is fully answered: nothing more will come on it
      }
      return true;
    } catch (error) {
      this.onerror?.(error as Error);
      if (!res.headersSent) this.#fail(res, { status: 500, code: -32000, message: "Error replaying events" });
      else res.end();
      return true;
    }
  }

  async #delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = this.#checkSession(req) ?? checkProtocolVersion(req);
    if (refused) return this.#fail(res, refused);
    try {
      await this.#options.onsessionclosed?.(this.sessionId);
      res.writeHead(200).end();
    } finally {
      await this.close();
    }
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.#closed) return;
    const response = "result" in message || "error" in message;
    const requestId = response ? (message as { id?: RequestId }).id : options?.relatedRequestId;
    if (response && this.#restoring && requestId === this.#restoring.id) {
      this.#restoring.answered(message);
      this.#restoring = undefined;
      return;
    }
    if (requestId === undefined) {
      // Not about any request: the standalone GET stream (dropped when there is none and no store).
      if (response) throw new Error("Cannot send a response on a standalone SSE stream unless resuming a previous client request");
      return this.#emit(this.#standalone, message, false);
    }
    const stream = this.#byRequest.get(requestId);
    if (!stream) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    if (response) {
      this.#byRequest.delete(requestId);
      if (requestId === this.#initId) {
        this.#initId = undefined;
        const negotiated = (message as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
        if (typeof negotiated === "string") this.setProtocolVersion(negotiated);
      }
    }
    if (!stream.sse) {
      if (response) return this.#answerJson(stream, message);
      this.#toSse(stream); // something comes before the response: this POST becomes a stream
    }
    return this.#emit(stream, message, response);
  }

  /** Ends every stream (requests still waiting get a ConnectionClosed error) and the session. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const streams = new Set(this.#byRequest.values());
    for (const [id, stream] of this.#byRequest) {
      if (!live(stream)) continue;
      const error = { jsonrpc: "2.0", id, error: { code: ErrorCode.ConnectionClosed, message: "Session closed" } } as JSONRPCMessage;
      if (stream.sse) stream.res!.write(sseEvent(JSON.stringify(error)));
      else (stream.held ??= []).push(error);
    }
    for (const stream of streams) {
      if (!live(stream)) continue;
      if (stream.sse) stream.res!.end();
      else this.#writeJson(stream, stream.held!);
    }
    this.#byRequest.clear();
    this.#streams.clear();
    if (live(this.#standalone)) this.#standalone.res!.end();
    this.#standalone.res = undefined;
    this.onclose?.();
  }

  // ── Writing ─────────────────────────────────────────────────────────────────

  /** A response to a POST still answering in JSON: sent at once, or held until its batch is answered. */
  #answerJson(stream: Stream, message: JSONRPCMessage): void {
    if (!live(stream)) {
      if (--stream.open === 0) this.#streams.delete(stream.id);
      throw new Error(`No connection established for request ID: ${String((message as { id?: RequestId }).id)}`);
    }
    if (stream.open === 1 && !stream.held) {
      stream.open = 0;
      return this.#writeJson(stream, [message]);
    }
    (stream.held ??= []).push(message);
    if (--stream.open === 0) this.#writeJson(stream, stream.held);
  }

  #writeJson(stream: Stream, messages: JSONRPCMessage[]): void {
    // A result whose JSON is known (a shared list, a large result as a backend sent it) is written as those bytes (wire/raw.ts).
    const data = messages.length === 1 ? encodeMessage(messages[0]!) : JSON.stringify(messages);
    const headers = ["content-type", "application/json", "content-length", String(encodedLength(data))];
    if (this.sessionId !== undefined) headers.push("mcp-session-id", this.sessionId);
    // A lone error that asks for an HTTP status (an HttpError: 403 insufficient_scope, say) gets it.
    const refusal = messages.length === 1 ? httpStatusOf(messages[0]) : undefined;
    if (refusal) for (const [name, value] of Object.entries(refusal.headers)) headers.push(name, value);
    const res = stream.res!.writeHead(refusal?.status ?? 200, headers);
    if (typeof data === "string") res.end(data);
    else res.write(data.head), res.write(data.body), res.end(data.tail);
    endBounded(stream.res!, this.#options.writeLimits);
    stream.res = undefined;
    this.#streams.delete(stream.id);
  }

  /** Sends a POST's headers as text/event-stream (with a priming event when resumable) and any held responses. */
  #toSse(stream: Stream): void {
    stream.sse = true;
    if (!live(stream)) return;
    stream.res!.writeHead(200, this.#sseHeaders());
    if (this.#store && stream.version >= "2025-11-25") {
      void this.#enqueue(stream, async () => {
        const eventId = await this.#store!.storeEvent(stream.id, {} as JSONRPCMessage);
        if (live(stream)) stream.res!.write(formatSseEvent({ id: eventId, retry: this.#options.retryInterval, data: "" }));
      }).catch((error: Error) => this.onerror?.(error));
    }
    const held = stream.held;
    stream.held = undefined;
    for (const message of held ?? []) void this.#emit(stream, message, false).catch((error: Error) => this.onerror?.(error));
  }

  /**
   * Writes one message as an SSE event on `stream` (stored first, with an event store, so it can
   * be replayed); after a POST's last response its stream ends.
   */
  #emit(stream: Stream, message: JSONRPCMessage, response: boolean): Promise<void> {
    const store = this.#store;
    if (!store) {
      if (live(stream)) writeBounded(stream.res!, sseMessage(message), this.#options.writeLimits);
      else if (response) throw new Error(`No connection established for request ID: ${String((message as { id?: RequestId }).id)}`);
      if (response && --stream.open === 0) this.#endStream(stream);
      return Promise.resolve();
    }
    return this.#enqueue(stream, async () => {
      try {
        const eventId = await store.storeEvent(stream.id, message);
        // Stored even when the client is away: it is replayed when the client comes back.
        if (live(stream) && !stream.replayed?.has(eventId)) writeBounded(stream.res!, sseMessage(message, eventId), this.#options.writeLimits);
      } finally {
        if (response && --stream.open === 0) this.#endStream(stream);
      }
    });
  }

  #enqueue(stream: Stream, task: () => Promise<void>): Promise<void> {
    const next = (stream.queue ?? Promise.resolve()).then(task);
    stream.queue = next.catch(() => {});
    return next;
  }

  #endStream(stream: Stream): void {
    if (live(stream)) stream.res!.end();
    stream.res = undefined;
    this.#streams.delete(stream.id);
  }

  /** Closes a stream's connection but not the stream (closeSSEStream): the client comes back with Last-Event-ID. */
  #hangUp(stream: Stream | undefined): void {
    if (!stream || !live(stream)) return;
    if (!stream.sse) this.#toSse(stream);
    const res = stream.res!;
    stream.res = undefined;
    // After the priming event, which may still be waiting for its id.
    void (stream.queue ?? Promise.resolve()).then(() => res.end());
  }

  /** Makes `res` carry `stream` from now on, ending a connection it replaces. */
  #attach(stream: Stream, res: ServerResponse, replayed: Set<string> | undefined): void {
    if (stream.res && stream.res !== res && live(stream)) stream.res.end();
    stream.res = res;
    stream.sse = true;
    stream.replayed = replayed;
    res.once("close", () => {
      if (stream.res !== res) return;
      stream.res = undefined;
      if (stream === this.#standalone && this.#byRequest.size === 0 && !this.#closed) this.#options.onstreamsclosed?.();
    });
  }

  #streamById(streamId: string): Stream | undefined {
    return streamId === STANDALONE ? this.#standalone : this.#streams.get(streamId);
  }

  #sseHeaders(): Record<string, string> {
    return this.sessionId === undefined ? { ...SSE_HEADERS } : { ...SSE_HEADERS, "mcp-session-id": this.sessionId };
  }

  /**
   * One timer per session while it has streams open: it writes keep-alive comments on SSE streams,
   * and turns a POST still unanswered after a whole interval into an SSE stream, so that a long
   * call gets keep-alives too (proxies and load balancers cut idle connections).
   */
  #armKeepAlive(): void {
    if (this.#timer || this.#keepAliveMs === 0 || this.#closed) return;
    this.#timer = setInterval(() => this.#keepAlive(), this.#keepAliveMs);
    this.#timer.unref();
  }

  #keepAlive(): void {
    const now = Date.now();
    let open = live(this.#standalone);
    if (open) this.#standalone.res!.write(SSE_KEEPALIVE);
    for (const stream of new Set(this.#byRequest.values())) {
      if (!live(stream)) continue;
      open = true;
      if (stream.sse) stream.res!.write(SSE_KEEPALIVE);
      else if (now - stream.openedAt >= this.#keepAliveMs) {
        this.#toSse(stream);
        stream.res!.write(SSE_KEEPALIVE);
      }
    }
    if (!open) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  // ── Checks ──────────────────────────────────────────────────────────────────

  #checkSession(req: IncomingMessage): Failure | undefined {
    if (this.#options.sessionIdGenerator === undefined) return undefined;
    if (!this.#initialized) return { status: 400, code: -32000, message: "Bad Request: Server not initialized" };
    const id = header(req, "mcp-session-id");
    if (!id) return { status: 400, code: -32000, message: "Bad Request: Mcp-Session-Id header is required" };
    if (id !== this.sessionId) return { status: 404, code: -32001, message: "Session not found" };
    return undefined;
  }

  #fail(res: ServerResponse, failure: Failure): void {
    this.onerror?.(new Error(failure.message));
    replyError(res, failure);
  }
}

function newStream(id: string, version: string, open: number): Stream {
  return { id, res: undefined, sse: false, open, held: undefined, version, openedAt: Date.now(), replayed: undefined, queue: undefined };
}

function live(stream: Stream | undefined): boolean {
  return stream?.res !== undefined && !stream.res.destroyed && !stream.res.writableEnded;
}

function sseEvent(data: string, eventId?: string): string {
  return formatSseEvent({ event: "message", id: eventId || undefined, data });
}

/** A message as an SSE event: its text, or the text around a result's known bytes (one line of JSON). */
function sseMessage(message: JSONRPCMessage, eventId?: string): string | Array<string | Buffer> {
  const json = encodeMessage(message);
  if (typeof json === "string") return sseEvent(json, eventId);
  const fields = sseEvent("", eventId).slice(0, -2); // "event: message\n…data: "
  return [fields + json.head, json.body, `${json.tail}\n\n`];
}

/** `extra.requestInfo`: the headers as Node parsed them; the URL built only if a handler asks. */
class NodeRequestInfo implements RequestInfo {
  readonly headers: IncomingMessage["headers"];
  readonly #req: IncomingMessage;
  #url: URL | undefined;
  constructor(req: IncomingMessage) {
    this.#req = req;
    this.headers = req.headers;
  }
  get url(): URL {
    return (this.#url ??= new URL(this.#req.url ?? "/", `http://${this.#req.headers.host ?? "localhost"}`));
  }
}

function checkProtocolVersion(req: IncomingMessage): Failure | undefined {
  const version = header(req, "mcp-protocol-version");
  if (version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  const supported = SUPPORTED_PROTOCOL_VERSIONS.join(", ");
  return { status: 400, code: -32000, message: `Bad Request: Unsupported protocol version: ${version} (supported versions: ${supported})` };
}


// A streamable HTTP client transport (the proxy's backend leg to a remote server), behind the SDK's
// `Transport` interface, on node:http(s) with a keep-alive agent.
//
// It keeps what the SDK's StreamableHTTPClientTransport does for a server that needs no OAuth (one
// POST per message answered in JSON or SSE, the Mcp-Session-Id and MCP-Protocol-Version headers, the
// standalone GET stream opened once `notifications/initialized` is accepted, `retry` and
// Last-Event-ID resumption of a stream cut before its answer, redirects within the origin, custom
// headers, StreamableHTTPError with the HTTP status) without its per-request costs: no fetch, no
// WHATWG Request/Response or web streams, no zod parse of every message (the hand-written envelope
// check of wire/message.ts instead), SSE parsed as it arrives. Four additions: close() ends the session
// with DELETE; each request is its own to abort (cancelling one lets its stream go, close() ends them
// all; there is no long-lived signal for listeners to pile up on); a request whose SSE answer
// was cut for good fails at once with ConnectionClosed instead of waiting for its timeout; and a 404
// to the session id (the server restarted) closes the transport, so a new session is opened.
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/sdk/types.js";
import { scrubCredentials } from "../logger.js";
import { DEFAULT_MAX_DEPTH, isJsonRpcMessage } from "../wire/message.js";
import { freezeResult } from "../wire/raw.js";
import { readResponseText } from "../wire/body.js";
import { SseParser } from "../wire/sse.js";
import { InFlightMap, InFlightSet } from "../in-flight.js";

export { StreamableHTTPError };

export interface ReconnectionOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  growFactor: number;
  /** Attempts after a stream was cut, before giving up (reported to onerror). */
  maxRetries: number;
}

export interface HttpBackendTransportOptions {
  /** Sent with every request; they win over the transport's own headers, except Accept and Content-Type. */
  headers?: Record<string, string> | undefined;
  /** A keep-alive agent to share between sessions of one backend (left open by close()); else the transport makes its own. */
  agent?: http.Agent | undefined;
  /** Resume an existing session. */
  sessionId?: string | undefined;
  /** The SDK's defaults: 1 s, growing 1.5× to 30 s, 2 retries; a server's `retry:` replaces the delay. */
  reconnection?: Partial<ReconnectionOptions> | undefined;
  /** Largest JSON answer or SSE event read. Default 10 MiB (as the stdio transports). */
  maxMessageBytes?: number | undefined;
  /** How long close() waits for the DELETE that ends the session. Default 2,000 ms. */
  closeTimeoutMs?: number | undefined;
}

const DEFAULT_RECONNECTION: ReconnectionOptions = { initialDelayMs: 1000, maxDelayMs: 30_000, growFactor: 1.5, maxRetries: 2 };
const MAX_REDIRECTS = 3;

/** Makes a keep-alive agent for `url`. Its timeout lets it honour a server's Keep-Alive hint (Node applies a hint only below it). */
export function keepAliveAgent(url: URL): http.Agent {
  const options = { keepAlive: true, timeout: 60_000 };
  return url.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
}

/** Where the messages of one SSE stream stand, across its reconnections. */
interface StreamState {
  /** The standalone GET stream: it carries no answer, and is reopened whenever it ends. */
  standalone: boolean;
  /** Requests whose answer this stream carries, not answered yet. */
  ids: RequestId[];
  lastEventId?: string | undefined;
  /** The request a resumed stream answers (its answer gets this id, as the SDK does). */
  replayId?: RequestId | undefined;
  onresumptiontoken?: ((token: string) => void) | undefined;
  /** Who sent the request this stream answers (its `relatedRequestId`): a request arriving on it is asked for them. */
  asker?: RequestId | undefined;
}

const noop = () => {};

/** Header names (lower case) and values, alternating. */
type Headers = string[];

interface Target {
  client: typeof http | typeof https;
  protocol: string;
  hostname: string;
  /** The Host header: hostname (IPv6 in brackets) and port unless the default. */
  host: string;
  port: string;
  path: string;
}

export class HttpBackendTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  #url: URL;
  /** Where requests go, as node:http takes it: worked out once per URL, not per request. */
  #target: Target;
  readonly #headers: Record<string, string>;
  readonly #agent: http.Agent;
  readonly #ownAgent: boolean;
  readonly #reconnection: ReconnectionOptions;
  readonly #maxBytes: number;
  readonly #closeTimeoutMs: number;
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  /** A server's `retry:` value, used for every later reconnection. */
  #retryMs: number | undefined;
  /** Every HTTP request not finished yet: close() ends them. */
  readonly #open = new InFlightSet<ClientRequest>();
  /** The HTTP request carrying the answer to a JSON-RPC request still due: cancelling that request lets it go. */
  readonly #carrier = new InFlightMap<RequestId, ClientRequest>();
  /** Requests ended on purpose: their end is neither a failure nor a disconnection. */
  readonly #dropped = new WeakSet<ClientRequest>();
  readonly #timers = new InFlightSet<NodeJS.Timeout>();
  /** Requests from the server that came on a request's own stream, by their id: whose they are. */
  readonly #askers = new InFlightMap<RequestId, RequestId>();
  #started = false;
  #closed = false;

  constructor(url: URL | string, options: HttpBackendTransportOptions = {}) {
    this.#url = new URL(url);
    this.#target = targetOf(this.#url);
    this.#headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    this.#ownAgent = !options.agent;
    this.#agent = options.agent ?? keepAliveAgent(this.#url);
    this.#sessionId = options.sessionId;
    this.#reconnection = { ...DEFAULT_RECONNECTION, ...options.reconnection };
    this.#maxBytes = options.maxMessageBytes ?? 10 * 1024 * 1024;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  /**
   * Whose request a server's request `id` is: the `relatedRequestId` the request was sent with whose
   * response stream it came on (undefined when it came on the standalone stream). Asked once.
   */
  askerOf(id: RequestId): RequestId | undefined {
    const asker = this.#askers.get(id);
    this.#askers.delete(id);
    return asker;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error("HttpBackendTransport already started");
    this.#started = true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    try {
      await this.#send(message, options);
    } catch (error) {
      this.onerror?.(error as Error);
      throw error;
    }
  }

  async #send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.#closed) throw new Error("the transport is closed");
    const method = "method" in message ? message.method : undefined;
    const id = method !== undefined && "id" in message ? message.id : undefined;
    if (options?.resumptionToken) {
      // Pick a stream cut earlier up where it stopped, rather than sending the request again.
      const state = { standalone: false, ids: id === undefined ? [] : [id], lastEventId: options.resumptionToken, replayId: id, onresumptiontoken: options.onresumptiontoken, asker: options.relatedRequestId };
      this.#openStream(state).catch((error: Error) => this.onerror?.(error));
      return;
    }
    if (method === "notifications/cancelled") this.#letGo((message as { params?: { requestId?: unknown } }).params?.requestId);
    const body = JSON.stringify(message);
    const headers = this.#requestHeaders("application/json, text/event-stream", ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))]);
    const req = this.#request("POST", headers, body);
    if (id !== undefined) this.#carrier.set(id, req);
    let streamed = false;
    try {
      const res = await this.#response(req, "POST", headers, body);
      const session = res.headers["mcp-session-id"];
      if (typeof session === "string" && session) this.#sessionId = session;
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const text = await readResponseText(res, 64 * 1024).catch(() => "");
        this.#checkSession(status, headers);
        throw new StreamableHTTPError(status, `Error POSTing to endpoint: ${text || res.statusMessage}`);
      }
      if (status === 202 || id === undefined) {
        discard(res);
        // The server may offer a stream for messages unrelated to any request (405 if not).
        if (method === "notifications/initialized") this.#openStream({ standalone: true, ids: [] }).catch((error: Error) => this.onerror?.(error));
        return;
      }
      const type = mediaType(res.headers["content-type"]);
      if (type === "text/event-stream") {
        streamed = true;
        return this.#readStream(req, res, { standalone: false, ids: [id], onresumptiontoken: options?.onresumptiontoken, asker: options?.relatedRequestId }, false);
      }
      if (type !== "application/json") {
        discard(res);
        throw new StreamableHTTPError(-1, `Unexpected content type: ${res.headers["content-type"]}`);
      }
      const parsed = JSON.parse(await readResponseText(res, this.#maxBytes)) as unknown;
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
        if (!isJsonRpcMessage(item)) throw new Error(`not a JSON-RPC message: ${JSON.stringify(item).slice(0, 200)}`);
        freezeResult(item, DEFAULT_MAX_DEPTH);
        this.onmessage?.(item);
      }
    } catch (error) {
      if (this.#dropped.has(req)) return; // cancelled or closed: nobody waits for it
      throw error;
    } finally {
      if (id !== undefined && !streamed) this.#carrier.delete(id);
    }
  }

  /** Ends the session on the server (a 405 means the server keeps sessions until they expire). */
  async terminateSession(): Promise<void> {
    if (!this.#sessionId) return;
    const headers = this.#requestHeaders(undefined, []);
    const req = this.#request("DELETE", headers);
    const timer = setTimeout(() => req.destroy(new Error(`DELETE took over ${this.#closeTimeoutMs} ms`)), this.#closeTimeoutMs);
    try {
      const res = await this.#response(req, "DELETE", headers);
      discard(res);
      const status = res.statusCode ?? 0;
      if (status !== 405 && (status < 200 || status > 299)) throw new StreamableHTTPError(status, `Failed to terminate session: ${res.statusMessage}`);
      this.#sessionId = undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const req of this.#open) this.#drop(req);
    this.#carrier.clear();
    this.#askers.clear();
    // Best effort, bounded: a server that is gone must not hold the close up.
    await this.terminateSession().catch(noop);
    if (this.#ownAgent) this.#agent.destroy();
    this.onclose?.();
  }

  /**
   * A 404 to a request that carried the session id: the server no longer knows the session (it
   * restarted, or ended it). The transport closes, so its owner notices and opens a new session.
   */
  #checkSession(status: number, sent: Headers): void {
    if (status !== 404 || !named(sent, "mcp-session-id") || this.#closed) return;
    this.#sessionId = undefined; // nothing to DELETE
    void this.close();
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  /**
   * A request's headers as a flat list (node:http writes it as it is: no header map is built and
   * checked per request, and no Host is added, so it is here). The custom headers win over the
   * transport's own, except Accept and those in `extra`.
   */
  #requestHeaders(accept: string | undefined, extra: Headers): Headers {
    const own = this.#headers;
    const headers: Headers = [];
    if (own.host === undefined) headers.push("host", this.#target.host);
    if (this.#sessionId && own["mcp-session-id"] === undefined) headers.push("mcp-session-id", this.#sessionId);
    if (this.#protocolVersion && own["mcp-protocol-version"] === undefined) headers.push("mcp-protocol-version", this.#protocolVersion);
    for (const name in own) if (!(accept && name === "accept") && !named(extra, name)) headers.push(name, own[name]!);
    headers.push(...extra);
    if (accept) headers.push("accept", accept);
    return headers;
  }

  #request(method: string, headers: Headers, body?: string): ClientRequest {
    const { client, protocol, hostname, port, path } = this.#target;
    const req = client.request({ protocol, hostname, port, path, method, headers, agent: this.#agent });
    req.on("error", noop); // reported through #response; never an uncaught 'error'
    this.#open.add(req);
    req.once("close", () => this.#open.delete(req));
    req.end(body);
    return req;
  }

  /** The response to `req` once its headers are in, following redirects within the origin (and keeping the new URL). */
  async #response(req: ClientRequest, method: string, headers: Headers, body?: string, hops = 0): Promise<IncomingMessage> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      // Plain listeners (no once() wrappers to make and remove): each event comes at most once, and a
      // reject after the answer does nothing; no Error is made for the close that follows every answer.
      let answered = false;
      req.on("response", (answer: IncomingMessage) => {
        answered = true;
        resolve(answer);
      });
      req.on("error", reject);
      req.on("close", () => answered || reject(new Error("the request was closed before an answer came")));
    });
    const location = res.headers.location;
    if ((res.statusCode === 307 || res.statusCode === 308) && location && hops < MAX_REDIRECTS) {
      const target = new URL(location, this.#url);
      if (sameOrigin(this.#url, target)) {
        discard(res);
        this.#url = target;
        this.#target = targetOf(target);
        const next = this.#request(method, headers, body);
        for (const [id, carrier] of this.#carrier) if (carrier === req) this.#carrier.set(id, next);
        return this.#response(next, method, headers, body, hops + 1);
      }
    }
    return res;
  }

  /** Ends a request on purpose (close, or the one request it carried was cancelled). */
  #drop(req: ClientRequest): void {
    this.#dropped.add(req);
    req.destroy();
  }

  /** A cancelled request's answer will not be read: free its connection rather than wait for a stream that may never end. */
  #letGo(id: unknown): void {
    if (typeof id !== "string" && typeof id !== "number") return;
    const req = this.#carrier.get(id);
    this.#carrier.delete(id);
    if (req && ![...this.#carrier.values()].includes(req)) this.#drop(req);
  }

  // ── SSE ─────────────────────────────────────────────────────────────────────────────────────

  /** Opens a GET stream: the standalone one, or a resumption from Last-Event-ID. */
  async #openStream(state: StreamState): Promise<void> {
    const headers = this.#requestHeaders("text/event-stream", state.lastEventId ? ["last-event-id", state.lastEventId] : []);
    const req = this.#request("GET", headers);
    for (const id of state.ids) this.#carrier.set(id, req);
    let res: IncomingMessage;
    try {
      res = await this.#response(req, "GET", headers);
    } catch (error) {
      if (this.#dropped.has(req)) return;
      throw error;
    }
    if (res.statusCode !== 200) {
      discard(res);
      this.#checkSession(res.statusCode ?? 0, headers);
      if (res.statusCode === 405 && state.standalone) return; // the server offers no GET stream
      throw new StreamableHTTPError(res.statusCode ?? 0, `Failed to open SSE stream: ${res.statusMessage}`);
    }
    this.#readStream(req, res, state, true);
  }

  /** Reads an SSE answer as it arrives; a stream cut before its answer is resumed when the server allows it. */
  #readStream(req: ClientRequest, res: IncomingMessage, state: StreamState, reconnectable: boolean): void {
    let primed = false;
    // One message per microtask, as a reader loop would: the SDK Protocol handles a notification a
    // microtask after receiving it, and a response must not overtake the progress sent before it.
    let delivery = Promise.resolve();
    const deliver = (message: JSONRPCMessage) => {
      try {
        this.onmessage?.(message);
      } catch (error) {
        this.onerror?.(error as Error);
      }
    };
    const parser = new SseParser({
      maxBytes: this.#maxBytes,
      onRetry: (ms) => (this.#retryMs = ms),
      onEvent: ({ event, data, id }) => {
        if (id) {
          state.lastEventId = id;
          primed = true; // the server can replay from here
          state.onresumptiontoken?.(id);
        }
        if (!data || (event && event !== "message")) return;
        let message: unknown;
        try {
          message = JSON.parse(data);
        } catch (error) {
          return this.onerror?.(error as Error);
        }
        if (!isJsonRpcMessage(message)) return this.onerror?.(new Error(`not a JSON-RPC message: ${data.slice(0, 200)}`));
        freezeResult(message, DEFAULT_MAX_DEPTH);
        if (!("method" in message)) {
          const answered = state.replayId ?? message.id;
          if (answered !== undefined) {
            state.ids = state.ids.filter((due) => due !== answered);
            if (this.#carrier.get(answered) === req) this.#carrier.delete(answered);
          }
          if (state.replayId !== undefined) message.id = state.replayId;
        } else if ("id" in message && state.asker !== undefined) {
          this.#askers.set(message.id, state.asker);
        }
        delivery = delivery.then(() => deliver(message));
      },
    });
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      if (!parser.push(chunk)) req.destroy(new Error(`an SSE event over ${this.#maxBytes} bytes`));
    });
    let failure: Error | undefined;
    res.on("error", (error) => (failure = error));
    res.once("close", () => {
      for (const id of state.ids) if (this.#carrier.get(id) === req) this.#carrier.delete(id);
      if (this.#closed || this.#dropped.has(req)) return;
      if (!res.complete) this.onerror?.(new Error(`SSE stream disconnected: ${failure?.message ?? "aborted"}`));
      const answered = !state.standalone && state.ids.length === 0;
      if ((reconnectable || primed) && !answered) return this.#reconnect(state, 0);
      if (!answered) void delivery.then(() => this.#abandon(state, "the server closed the stream before answering"));
    });
  }

  /** Fails the requests a stream was to answer now, rather than at their timeout (the answer cannot come any more). */
  #abandon(state: StreamState, reason: string): void {
    if (this.#closed) return;
    for (const id of state.ids) this.onmessage?.({ jsonrpc: "2.0", id, error: { code: ErrorCode.ConnectionClosed, message: `${reason} (${scrubCredentials(this.#url.href)})` } });
    state.ids = [];
  }

  #reconnect(state: StreamState, attempt: number): void {
    const { initialDelayMs, growFactor, maxDelayMs, maxRetries } = this.#reconnection;
    if (attempt >= maxRetries) {
      this.onerror?.(new Error(`Maximum reconnection attempts (${maxRetries}) exceeded.`));
      return this.#abandon(state, `the stream was cut and could not be resumed after ${maxRetries} attempts`);
    }
    const delay = this.#retryMs ?? Math.min(initialDelayMs * growFactor ** attempt, maxDelayMs);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#openStream(state).catch((error: Error) => {
        if (this.#closed) return;
        this.onerror?.(new Error(`Failed to reconnect SSE stream: ${error.message}`));
        this.#reconnect(state, attempt + 1);
      });
    }, delay);
    this.#timers.add(timer);
  }
}

function targetOf(url: URL): Target {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { client: url.protocol === "https:" ? https : http, protocol: url.protocol, hostname, host: url.host, port: url.port, path: url.pathname + url.search };
}

/** Whether `headers` has one called `name`. */
function named(headers: Headers, name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

function mediaType(value: string | undefined): string {
  return (value ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

/** Reads and drops a response body we do not need (errors included: the connection is simply not reused). */
function discard(res: IncomingMessage): void {
  res.on("error", noop);
  res.resume();
}

/** Whether `to` is `from`'s origin (or its https form on default ports), as the SDK follows redirects. */
function sameOrigin(from: URL, to: URL): boolean {
  if (to.username || to.password) return false;
  if (from.origin === to.origin) return true;
  return from.hostname === to.hostname && from.protocol === "http:" && from.port === "" && to.protocol === "https:" && to.port === "";
}

// The 2026-07-28 fast path: a proxied request (tools/call, resources/read, prompts/get, the lists,
// completion) is served by a long-lived 2026 server instead of a new one per request.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { McpServer, PerRequestHTTPServerTransport, classifyInboundRequest, isJsonContentType } from "@modelcontextprotocol/server";
import { httpStatusOf } from "../errors.js";
import { METHODS, isProxyMethod } from "../methods.js";
import { formatSseEvent, SSE_KEEPALIVE } from "../wire/sse.js";
import { paramHeadersOf } from "./param-headers.js";
import type { Front } from "./requests.js";
import { MODERN_VERSION, isObject } from "./wire.js";

/** The methods the fast path serves; everything else (server/discover, listen, notifications, anything odd) goes the SDK's way. */
const FAST_METHODS = new Set(["tools/call", "resources/read", "prompts/get", "tools/list", "resources/list", "resources/templates/list", "prompts/list", "completion/complete"]);
/** Where the `Mcp-Name` header's value is in the body. */
const NAME_KEY: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };
/** The HTTP status the SDK gives an error the dispatch itself answers (its "ladder"), as its per-request transport does. */
const LADDER_STATUS: Record<number, number> = { [-32700]: 400, [-32600]: 400, [-32601]: 404, [-32022]: 400, [-32021]: 400, [-32020]: 400 };
const MISSING_CAPABILITY = -32021;
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" };
const KEEP_ALIVE_MS = 15_000;
/** Idle servers kept beyond this many are closed. */
const KEPT_IDLE = 16;

type Id = string | number;

/**
 * Whether the SDK's modern entry would pass this request to its server untouched: a JSON POST with one
 * request of a fast method the proxy serves, a well-formed envelope naming 2026-07-28 (the SDK's own
 * classifier decides), the standard headers present and equal to the body, and no `Mcp-Param-*` check
 * to make. Anything else is not decided here: the SDK answers it, errors included.
 */
export function isFastRequest(front: Front, req: IncomingMessage, body: unknown): body is { id: Id; method: string; params: Record<string, unknown> } {
  if (!isObject(body) || typeof body.method !== "string" || !FAST_METHODS.has(body.method) || !isProxyMethod(body.method)) return false;
  if (!METHODS[body.method].supported(front.host.capabilities) || !isJsonContentType(req.headers["content-type"] ?? null)) return false;
  const version = req.headers["mcp-protocol-version"];
  const method = req.headers["mcp-method"];
  const name = req.headers["mcp-name"];
  if (version !== MODERN_VERSION || method !== body.method || Array.isArray(name)) return false;
  const route = classifyInboundRequest({ httpMethod: "POST", protocolVersionHeader: version, mcpMethodHeader: method, ...(name !== undefined && { mcpNameHeader: name }), body });
  if (route.kind !== "modern" || route.messageKind !== "request" || route.classification.revision !== MODERN_VERSION) return false;
  const key = NAME_KEY[body.method];
  if (key === undefined) return true;
  const target = isObject(body.params) ? body.params[key] : undefined;
  // A plain header equal to the body's value (an encoded or mismatched one is the SDK's to judge).
  if (typeof target !== "string" || name !== target || target.startsWith("=?")) return false;
  return body.method !== "tools/call" || (paramHeadersOf({ inputSchema: front.schemas.get(target) })?.size ?? 1) === 0;
}

/** One request being answered on a lane: where its answer goes, as JSON or, once it streams, as SSE. */
interface Exchange {
  res: ServerResponse;
  keepAlive?: NodeJS.Timeout;
  done: boolean;
}

/**
 * A 2026 server that stays connected: each request is handed to it as the SDK's per-request transport
 * would (the same classification, the same answers, statuses and streams), so its answers are the
 * SDK's own, without a server, a transport, a web Request and Response made for each. A server's
 * requests must have distinct ids (the SDK keys them by id), so a request whose id is in flight on
 * every lane gets a new lane; idle ones beyond a few are closed.
 */
export class Lanes {
  readonly #lanes: Lane[] = [];
  readonly #make: () => McpServer;

  constructor(make: () => McpServer) {
    this.#make = make;
  }

  async serve(res: ServerResponse, message: { id: Id; method: string; params: Record<string, unknown> }, authInfo: AuthInfo | undefined): Promise<void> {
    let lane = this.#lanes.find((candidate) => !candidate.serving(message.id));
    if (!lane) {
      lane = new Lane(this.#make());
      await lane.open();
      this.#lanes.push(lane);
    }
    await lane.serve(res, message, authInfo);
    if (lane.idle && this.#lanes.filter((candidate) => candidate.idle).length > KEPT_IDLE) {
      this.#lanes.splice(this.#lanes.indexOf(lane), 1);
      await lane.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#lanes.splice(0).map((lane) => lane.close()));
  }
}

class Lane extends PerRequestHTTPServerTransport {
  readonly #server: McpServer;
  readonly #exchanges = new Map<Id, Exchange>();
  #inDispatch = false;
  #closed = false;

  constructor(server: McpServer) {
    // The classification binds the server to 2026-07-28 when it connects, as for the SDK's own transport.
    super({ classification: { era: "modern", revision: MODERN_VERSION } });
    this.#server = server;
  }

  open(): Promise<void> {
    return this.#server.connect(this);
  }

  override async start(): Promise<void> {}

  serving(id: Id): boolean {
    return this.#exchanges.has(id);
  }

  get idle(): boolean {
    return this.#exchanges.size === 0;
  }

  serve(res: ServerResponse, message: { id: Id }, authInfo: AuthInfo | undefined): Promise<void> {
    const exchange: Exchange = { res, done: false };
    this.#exchanges.set(message.id, exchange);
    return new Promise<void>((resolve) => {
      const finish = () => {
        if (this.#exchanges.get(message.id) === exchange) this.#exchanges.delete(message.id);
        clearInterval(exchange.keepAlive);
        resolve();
      };
      // A client that goes away cancels its call, as closing the SDK's per-request server would.
      res.once("close", () => {
        if (!exchange.done) this.#deliver({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: message.id, reason: "The client went away" } }, authInfo);
        finish();
      });
      this.#inDispatch = true;
      try {
        this.#deliver(message as JSONRPCMessage, authInfo);
      } finally {
        this.#inDispatch = false;
      }
    });
  }

  #deliver(message: JSONRPCMessage, authInfo: AuthInfo | undefined): void {
    this.onmessage?.(message, { classification: { era: "modern", revision: MODERN_VERSION }, ...(authInfo && { authInfo }) } as never);
  }

  override async send(message: JSONRPCMessage, options?: { relatedRequestId?: Id }): Promise<void> {
    const isResponse = "result" in message || "error" in message;
    const id = isResponse ? (message as { id: Id }).id : options?.relatedRequestId;
    const exchange = id === undefined ? undefined : this.#exchanges.get(id);
    if (!exchange || exchange.done) return;
    const { res } = exchange;
    const text = JSON.stringify(message);
    if (!isResponse) {
      if (exchange.keepAlive === undefined) this.#stream(exchange);
      res.write(formatSseEvent({ event: "message", data: text }));
      return;
    }
    exchange.done = true;
    clearInterval(exchange.keepAlive);
    if (exchange.keepAlive !== undefined) return void res.end(formatSseEvent({ event: "message", data: text }));
    const code = "error" in message ? message.error.code : undefined;
    const ladder = code !== undefined && (this.#inDispatch || code === MISSING_CAPABILITY) ? LADDER_STATUS[code] : undefined;
    // As the front answers the SDK's JSON: a refusal with an HTTP status (401, 403) is sent with it.
    const refusal = ladder === undefined && code !== undefined ? httpStatusOf(message) : undefined;
    res.writeHead(ladder ?? refusal?.status ?? 200, { "content-type": "application/json", ...refusal?.headers, "content-length": String(Buffer.byteLength(text)) }).end(text);
  }

  #stream(exchange: Exchange): void {
    exchange.res.writeHead(200, SSE_HEADERS);
    exchange.keepAlive = setInterval(() => exchange.res.write(SSE_KEEPALIVE), KEEP_ALIVE_MS);
    exchange.keepAlive.unref();
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const exchange of this.#exchanges.values()) if (!exchange.done) exchange.res.destroy();
    this.#exchanges.clear();
    this.onclose?.();
  }
}

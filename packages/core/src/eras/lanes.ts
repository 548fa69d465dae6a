// The 2026-07-28 fast path: a proxied request (tools/call, resources/read, prompts/get, the lists,
// completion) is answered by the proxy's handler logic directly when it is plain (direct.ts), else by a
// long-lived 2026 server instead of a new one per request.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { McpServer, PerRequestHTTPServerTransport, classifyInboundRequest, isJsonContentType } from "@modelcontextprotocol/server";
import { METHODS, isProxyMethod } from "../methods.js";
import { paramHeadersOf } from "./param-headers.js";
import { CLIENT_GONE, isPlainRequest, serveDirectly, type FastRequest, type WireCodec } from "./direct.js";
import { sendReply, type Reply } from "./reply.js";
import type { Front } from "./requests.js";
import { META, MODERN_VERSION, isObject, type JsonObject } from "./wire.js";
import { InFlightMap } from "../in-flight.js";

/** The methods the fast path serves; everything else (server/discover, listen, notifications, anything odd) goes the SDK's way. */
const FAST_METHODS = new Set(["tools/call", "resources/read", "prompts/get", "tools/list", "resources/list", "resources/templates/list", "prompts/list", "completion/complete"]);
/** Where the `Mcp-Name` header's value is in the body. */
const NAME_KEY: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };
/** Idle servers kept beyond this many are closed. */
const KEPT_IDLE = 16;

type Id = string | number;

/**
 * Whether the SDK's modern entry would pass this request to its server untouched: a JSON POST with one
 * request of a fast method the proxy serves, a well-formed envelope naming 2026-07-28 (the SDK's own
 * classifier decides), the standard headers present and equal to the body, and no `Mcp-Param-*` check
 * to make. Anything else is not decided here: the SDK answers it, errors included.
 */
export function isFastRequest(front: Front, req: IncomingMessage, body: unknown): body is FastRequest {
  if (!isObject(body) || typeof body.method !== "string" || !FAST_METHODS.has(body.method) || !isProxyMethod(body.method)) return false;
  if (!METHODS[body.method].supported(front.host.capabilities) || !isJsonContentType(req.headers["content-type"] ?? null)) return false;
  const version = req.headers["mcp-protocol-version"];
  const method = req.headers["mcp-method"];
  const name = req.headers["mcp-name"];
  if (version !== MODERN_VERSION || method !== body.method || Array.isArray(name) || !classifiedModern(body)) return false;
  const key = NAME_KEY[body.method];
  if (key === undefined) return true;
  const target = isObject(body.params) ? body.params[key] : undefined;
  // A plain header equal to the body's value (an encoded or mismatched one is the SDK's to judge).
  if (typeof target !== "string" || name !== target || target.startsWith("=?")) return false;
  return body.method !== "tools/call" || (paramHeadersOf({ inputSchema: front.schemas.get(target) })?.size ?? 1) === 0;
}

/**
 * The SDK classifier's verdict on a request whose headers name 2026-07-28 and its method. A client
 * sends the same envelope on every call, so the verdict is remembered by the envelope's text, when
 * that is all the verdict could depend on; a bounded number of short envelopes, so no caller grows it.
 */
function classifiedModern(body: JsonObject): boolean {
  const key = envelopeKey(body);
  let verdict = key === undefined ? undefined : verdicts.get(key);
  if (verdict !== undefined) return verdict;
  const route = classifyInboundRequest({ httpMethod: "POST", protocolVersionHeader: MODERN_VERSION, mcpMethodHeader: body.method as string, body });
  verdict = route.kind === "modern" && route.messageKind === "request" && route.classification.revision === MODERN_VERSION;
  if (key !== undefined && key.length <= KEPT_KEY_LENGTH && verdicts.size < KEPT_VERDICTS) verdicts.set(key, verdict);
  return verdict;
}

const verdicts = new Map<string, boolean>();
/** At most this many envelopes of at most this much text (a few hundred characters is usual): ≤ 4 MiB. */
const KEPT_VERDICTS = 1024;
const KEPT_KEY_LENGTH = 4096;
const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const ENVELOPE_KEYS = [META.protocolVersion, META.clientInfo, META.clientCapabilities, META.logLevel];
const RESERVED_PREFIX = "io.modelcontextprotocol/";

/**
 * The envelope's text (each reserved key's JSON, or nothing when absent), for a plain JSON-RPC request
 * whose `_meta` holds besides it at most an integer or string progressToken and keys outside the
 * reserved namespace: then the envelope alone decides the verdict. Otherwise undefined (not remembered).
 */
function envelopeKey(body: JsonObject): string | undefined {
  if (body.jsonrpc !== "2.0" || !(typeof body.id === "string" || Number.isSafeInteger(body.id))) return undefined;
  for (const key in body) if (!REQUEST_KEYS.has(key)) return undefined;
  const meta = isObject(body.params) ? body.params._meta : undefined;
  if (!isObject(meta)) return undefined;
  const token = meta.progressToken;
  if (token !== undefined && typeof token !== "string" && !Number.isSafeInteger(token)) return undefined;
  for (const key in meta) if (key.startsWith(RESERVED_PREFIX) && !ENVELOPE_KEYS.includes(key as never)) return undefined;
  // JSON text holds no raw newline: the joined text is exact.
  return ENVELOPE_KEYS.map((key) => (key in meta ? JSON.stringify(meta[key]) : "")).join("\n");
}

/**
 * The fast path. A plain request (direct.ts) is answered by the proxy's handler logic directly. Any
 * other goes to a 2026 server that stays connected: handed to it as the SDK's per-request transport
 * would (the same classification, the same answers, statuses and streams), so its answers are the
 * SDK's own, without a server, a transport, a web Request and Response made for each. A server's
 * requests must have distinct ids (the SDK keys them by id), so a request whose id is in flight on
 * every lane gets a new lane; idle ones beyond a few are closed.
 */
export class Lanes {
  readonly #lanes: Lane[] = [];
  readonly #front: Front;
  readonly #make: () => McpServer;
  #codec: WireCodec | undefined;

  constructor(front: Front, make: () => McpServer) {
    this.#front = front;
    this.#make = make;
  }

  async serve(res: ServerResponse, message: FastRequest, authInfo: AuthInfo | undefined): Promise<void> {
    if (isPlainRequest(message)) return serveDirectly(this.#front, this.#codec ?? (await this.#firstCodec()), res, message, authInfo);
    const lane = this.#lanes.find((candidate) => !candidate.serving(message.id)) ?? (await this.#open());
    await lane.serve(res, message, authInfo);
    if (lane.idle && this.#lanes.filter((candidate) => candidate.idle).length > KEPT_IDLE) {
      this.#lanes.splice(this.#lanes.indexOf(lane), 1);
      await lane.close();
    }
  }

  async #open(): Promise<Lane> {
    const lane = new Lane(this.#make());
    await lane.open();
    this.#lanes.push(lane);
    return lane;
  }

  async #firstCodec(): Promise<WireCodec> {
    return (this.#codec = (this.#lanes[0] ?? (await this.#open())).codec);
  }

  async close(): Promise<void> {
    await Promise.all(this.#lanes.splice(0).map((lane) => lane.close()));
  }
}

class Lane extends PerRequestHTTPServerTransport {
  readonly #server: McpServer;
  readonly #replies = new InFlightMap<Id, Reply>();
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

  /** The codec the connected server dispatches with (not public API: the pinned SDK and the equivalence tests hold it). */
  get codec(): WireCodec {
    return (this.#server.server as unknown as { _negotiatedWireCodec(): WireCodec })._negotiatedWireCodec();
  }

  serving(id: Id): boolean {
    return this.#replies.has(id);
  }

  get idle(): boolean {
    return this.#replies.size === 0;
  }

  serve(res: ServerResponse, message: { id: Id }, authInfo: AuthInfo | undefined): Promise<void> {
    const reply: Reply = { res, done: false };
    this.#replies.set(message.id, reply);
    return new Promise<void>((resolve) => {
      const finish = () => {
        if (this.#replies.get(message.id) === reply) this.#replies.delete(message.id);
        clearInterval(reply.keepAlive);
        resolve();
      };
      // A client that goes away cancels its call, as closing the SDK's per-request server would.
      res.once("close", () => {
        if (!reply.done) this.#deliver({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: message.id, reason: CLIENT_GONE } }, authInfo);
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
    const id = "result" in message || "error" in message ? (message as { id: Id }).id : options?.relatedRequestId;
    const reply = id === undefined ? undefined : this.#replies.get(id);
    if (reply) sendReply(reply, message, this.#inDispatch);
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const reply of this.#replies.values()) if (!reply.done) reply.res.destroy();
    this.#replies.clear();
    this.onclose?.();
  }
}

import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { McpError, type Implementation, type ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ProtocolError, Server, createMcpHandler, inputRequired, type McpHttpHandler, type ServerContext, type ServerNotifier } from "@modelcontextprotocol/server";
import { identityOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { FrontSession } from "../serve/front-session.js";
import { Exchange, HeldCalls, type Held } from "./exchange.js";
import { Hop, type Ask } from "./hop.js";
import { RequestStateCodec, type RequestStateOptions } from "./request-state.js";
import { sendResponse, toRequest } from "./node-fetch.js";
import { FRONT_CAPABILITIES_META, INPUT_KEY_META, META, MULTI_ROUND_METHODS, isObject, type JsonObject } from "./wire.js";

export interface ModernFrontHost {
  readonly logger: Logger;
  /**
   * Connects a new front session of the proxy to `transport`, one per 2026 request: on the backends'
   * shared sessions (`shared`, for requests that cannot ask for input), or on sessions of its own, so
   * that a backend's server→client request during the call is attributed to it without doubt.
   */
  connect(transport: Transport, authInfo: AuthInfo | undefined, options: { shared: boolean }): Promise<FrontSession>;
}

/** What the proxy tells clients about itself, as its last front session saw it. */
interface Face {
  serverInfo: Implementation;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
}

export interface ModernFrontOptions {
  /** Signing of the requestState minted for bridged server→client requests. */
  requestState?: RequestStateOptions;
  /** Calls held open awaiting a client's retry: at most `max` (default 100), each `holdMs` (default 60 s). */
  held?: { max?: number; holdMs?: number };
  /** `ttlMs` on the lists the proxy answers from its mirror. Default 0 (revalidate). */
  listTtlMs?: number;
  /**
   * `cacheScope` on those lists. Default "private": the mirror can differ per caller (auth rules,
   * `ctx.hide`, the capabilities a client declares). "public" is applied to anonymous callers only.
   */
  listCacheScope?: "public" | "private";
}

export interface ModernFront {
  /** Serves one 2026-07-28 request (`body` already parsed). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo?: AuthInfo): Promise<void>;
  /** Publishes list changes and resource updates to open `subscriptions/listen` streams. */
  readonly notify: ServerNotifier;
  /** Calls now held open for a retry. */
  readonly held: number;
  close(): Promise<void>;
}

/** The methods answered, and the capability each needs. */
const METHODS: Array<[method: string, capability: keyof ServerCapabilities]> = [
  ["tools/list", "tools"],
  ["tools/call", "tools"],
  ["prompts/list", "prompts"],
  ["prompts/get", "prompts"],
  ["resources/list", "resources"],
  ["resources/templates/list", "resources"],
  ["resources/read", "resources"],
  ["completion/complete", "completions"],
];
const LISTS = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);

/**
 * The 2026-07-28 face of the proxy. The v2 SDK's `createMcpHandler` does the revision's wire duties
 * (the `_meta` and header ladder with its error codes and statuses, server/discover, resultType, cache
 * hint defaults, log levels from `_meta`, subscriptions/listen); each request is then served by the
 * proxy as for any client, through a Hop. A backend's server→client request during a call becomes
 * `input_required` with a signed requestState; the retry answers it and resumes the held call.
 */
export function createModernFront(host: ModernFrontHost, options: ModernFrontOptions = {}): ModernFront {
  const codec = new RequestStateCodec(options.requestState);
  const held = new HeldCalls(options.held);
  const front: Front = { host, options, codec, held, face: undefined };
  let watcher: Promise<Hop> | undefined;
  const factory = async () => {
    // The first request opens the watcher, which also learns what the proxy says about itself.
    watcher ??= watch(front, () => handler.notify);
    if (!front.face) await watcher;
    return modernServer(front);
  };
  const handler: McpHttpHandler = createMcpHandler(factory, {
    legacy: "reject",
    onerror: (error) => host.logger.debug(`2026-07-28 front: ${error.message}`),
  });
  return {
    async handle(req, res, body, authInfo) {
      const response = await handler.fetch(toRequest(req, body), { parsedBody: body, ...(authInfo ? { authInfo } : {}) });
      await sendResponse(response, res);
    },
    notify: handler.notify,
    get held() {
      return held.size;
    },
    async close() {
      await held.close();
      await handler.close();
      await watcher?.then((hop) => hop.close(), () => {});
    },
  };
}

/**
 * One long-lived front session that only listens: the proxy tells it when a list changed (after its
 * mirror was refreshed), and that is published to the open `subscriptions/listen` streams.
 */
async function watch(front: Front, notify: () => ServerNotifier): Promise<Hop> {
  const hop = await openHop(front, undefined, () => undefined);
  const published: Record<string, keyof ServerNotifier> = {
    "notifications/tools/list_changed": "toolsChanged",
    "notifications/prompts/list_changed": "promptsChanged",
    "notifications/resources/list_changed": "resourcesChanged",
  };
  hop.client.fallbackNotificationHandler = async (notification) => {
    const kind = published[notification.method];
    if (kind) (notify()[kind] as () => void)();
  };
  return hop;
}

interface Front {
  host: ModernFrontHost;
  options: ModernFrontOptions;
  codec: RequestStateCodec;
  held: HeldCalls;
  face: Face | undefined;
}

function modernServer(front: Front): Server {
  const { codec, options } = front;
  const face = front.face!;
  const { tasks: _tasks, ...capabilities } = face.capabilities as ServerCapabilities & { tasks?: unknown };
  const server = new Server(face.serverInfo, {
    capabilities: capabilities as never,
    ...(face.instructions ? { instructions: face.instructions } : {}),
    // A forged, expired or someone else's state is refused before a handler runs (-32602).
    // The proxy's own states (a bridged legacy call) are checked here; any other is a 2026 backend's,
    // passed through for the backend to check.
    requestState: { verify: (state: string, ctx: ServerContext) => (codec.owns(state) ? codec.open(state, identityOf(ctx.http?.authInfo)) : undefined) },
  });
  for (const [method, capability] of METHODS) {
    if (!face.capabilities[capability]) continue;
    server.setRequestHandler(method as "tools/list", (async (request: { params?: JsonObject }, ctx: ServerContext) => {
      const params = forwardParams(request.params, ctx);
      if (MULTI_ROUND_METHODS.has(method)) return rounds(front, method, params, ctx);
      const result = await once(front, method, params, ctx);
      if (!LISTS.has(method)) return result;
      const scope = options.listCacheScope === "public" && !ctx.http?.authInfo ? "public" : "private";
      return { ...result, ttlMs: options.listTtlMs ?? 0, cacheScope: scope };
    }) as never);
  }
  return server;
}

/** The params to forward: the request's own, with the capabilities it declared (a 2026 backend needs them). */
/**
 * The params to forward: the request's own, with the capabilities it declared (a 2026 backend needs
 * them), and its inputResponses and requestState unless the state is the proxy's own (those answer a
 * held call here): a 2026 backend's multi-round state passes through untouched.
 */
function forwardParams(params: JsonObject | undefined, ctx: ServerContext): JsonObject {
  const { inputResponses: _r, requestState: _s, ...rest } = params ?? {};
  const meta: JsonObject = { ...(isObject(rest._meta) ? rest._meta : {}), ...(ctx.mcpReq._meta ?? {}) };
  for (const key of Object.values(META)) delete meta[key];
  const declared = (ctx.mcpReq.envelope as JsonObject | undefined)?.[META.clientCapabilities];
  if (isObject(declared)) meta[FRONT_CAPABILITIES_META] = declared;
  const state = ctx.mcpReq.requestState();
  const ours = state !== undefined && typeof state !== "string";
  return {
    ...rest,
    _meta: meta,
    ...(!ours && ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
    ...(typeof state === "string" ? { requestState: state } : {}),
  };
}

async function openHop(front: Front, ctx: ServerContext | undefined, exchange: () => Exchange | undefined): Promise<Hop> {
  const envelope = ctx?.mcpReq.envelope as Record<string, unknown> | undefined;
  const shared = exchange() === undefined && !(ctx && MULTI_ROUND_METHODS.has(ctx.mcpReq.method));
  const hop = await Hop.open(
    (transport) => front.host.connect(transport, ctx?.http?.authInfo, { shared }),
    { clientInfo: envelope?.[META.clientInfo], capabilities: envelope?.[META.clientCapabilities] },
    ctx?.http?.authInfo,
    {
      ask: (ask) => (exchange() ? exchange()!.push(ask) : ask.reject(new Error("no call is waiting for input"))),
      log: (params) => void sinkOf(exchange())?.log(params),
    },
  );
  const serverInfo = hop.client.getServerVersion();
  if (serverInfo) front.face = { serverInfo, capabilities: hop.client.getServerCapabilities() ?? {}, instructions: hop.client.getInstructions() };
  return hop;
}

/** A request that cannot ask for input: one hop, one answer. */
async function once(front: Front, method: string, params: JsonObject, ctx: ServerContext): Promise<JsonObject> {
  const hop = await openHop(front, ctx, () => undefined);
  try {
    return clean(await hop.request(method, params, ctx.mcpReq.signal));
  } catch (error) {
    throw toProtocolError(error);
  } finally {
    await hop.close();
  }
}

/** Where a held call's progress and logs go: the round now waiting on it. */
const sinks = new WeakMap<Exchange, { log(params: JsonObject): Promise<void>; progress(params: JsonObject): Promise<void> }>();
function sinkOf(exchange: Exchange | undefined) {
  return exchange && sinks.get(exchange);
}
function attach(exchange: Exchange, ctx: ServerContext): void {
  const token = ctx.mcpReq._meta?.progressToken;
  sinks.set(exchange, {
    log: (p) => ctx.mcpReq.log(p.level as never, p.data, typeof p.logger === "string" ? p.logger : undefined).catch(() => {}),
    progress: async (p) => {
      if (token !== undefined) await ctx.mcpReq.notify({ method: "notifications/progress", params: { ...p, progressToken: token } }).catch(() => {});
    },
  });
}

/** A request that may need input: a new call, or the retry of a held one; then its next outcome. */
async function rounds(front: Front, method: string, params: JsonObject, ctx: ServerContext) {
  const { codec, held } = front;
  const identity = identityOf(ctx.http?.authInfo);
  const target = typeof params.name === "string" ? params.name : typeof params.uri === "string" ? params.uri : undefined;
  // A string is a backend's state (passed through); the proxy's own were verified into their payload.
  const raw = ctx.mcpReq.requestState<{ id?: unknown; round?: unknown } | string>();
  const state = typeof raw === "string" ? undefined : raw;
  let exchange: Exchange;
  let id: string;
  let round: number;
  if (state !== undefined) {
    const found = typeof state.id === "string" ? held.take(state.id) : undefined;
    if (!found || found.round !== state.round || found.identity !== identity) {
      if (found) held.hold(state.id as string, found); // not the caller's to use: leave it as it was
      throw new ProtocolError(-32602, "Invalid or expired requestState: this input round was already answered, abandoned, or is not yours");
    }
    if (found.method !== method || found.target !== target) {
      held.hold(state.id as string, found);
      throw new ProtocolError(-32602, `requestState belongs to another request (${found.method} ${found.target ?? ""})`);
    }
    ({ exchange } = found);
    id = state.id as string;
    round = found.round + 1;
    const missing = answer(found.asks, ctx.mcpReq.inputResponses);
    attach(exchange, ctx);
    if (missing.size > 0) return park(held, codec, { ...found, round, asks: missing }, id, identity);
  } else {
    let current: Exchange | undefined;
    const hop = await openHop(front, ctx, () => current);
    exchange = current = new Exchange(hop);
    attach(exchange, ctx);
    exchange.start(hop.request(method, params, exchange.controller.signal, (p) => void sinkOf(exchange)?.progress(p)));
    id = randomUUID();
    round = 1;
  }
  const outcome = await exchange.next();
  if (outcome.kind === "asks") {
    const asks = new Map<string, Ask>();
    for (const ask of outcome.asks) asks.set(keyFor(ask, asks), ask);
    return park(held, codec, { exchange, identity, method, target, round, asks }, id, identity);
  }
  await exchange.close();
  if (outcome.kind === "failed") throw toProtocolError(outcome.error);
  // A 2026 backend's own input_required comes back as a result: the client answers it directly.
  if (outcome.result.resultType === "input_required") return { ...clean(outcome.result), resultType: "input_required" };
  return clean(outcome.result);
}

/** Holds the call and tells the client what it must answer. */
function park(held: HeldCalls, codec: RequestStateCodec, call: Omit<Held, "timer">, id: string, identity: string | undefined) {
  if (!held.hold(id, call)) {
    void call.exchange.close();
    throw new ProtocolError(-32603, "Too many requests are waiting for input; try again later");
  }
  const inputRequests = Object.fromEntries([...call.asks].map(([key, ask]) => [key, { method: ask.method, params: stripKey(ask.params) }]));
  return inputRequired({ inputRequests: inputRequests as never, requestState: codec.mint({ id, round: call.round }, identity) });
}

/** Answers the asks the client responded to; returns those still unanswered. Bad responses are refused. */
function answer(asks: Map<string, Ask>, responses: Record<string, unknown> | undefined): Map<string, Ask> {
  const missing = new Map<string, Ask>();
  for (const [key, ask] of asks) {
    const response = responses?.[key];
    if (response === undefined) missing.set(key, ask);
    else if (!isObject(response)) throw new ProtocolError(-32602, `inputResponses.${key} must be an object`);
    else ask.resolve(response);
  }
  return missing;
}

/** The key a backend gave its input request (a 2026 backend's, kept through the proxy), else one by kind. */
function keyFor(ask: Ask, taken: Map<string, Ask>): string {
  const hinted = isObject(ask.params._meta) ? ask.params._meta[INPUT_KEY_META] : undefined;
  const base = typeof hinted === "string" && hinted !== "" ? hinted : ask.method.replace(/\W+/g, "_");
  let key = base;
  for (let n = 2; taken.has(key); n++) key = `${base}_${n}`;
  return key;
}

function stripKey(params: JsonObject): JsonObject {
  if (!isObject(params._meta) || !(INPUT_KEY_META in params._meta)) return params;
  const { [INPUT_KEY_META]: _, ...meta } = params._meta;
  return { ...params, _meta: meta };
}

/** The backend's own serverInfo and resultType are not the proxy's: the SDK sets those. */
function clean(result: JsonObject): JsonObject {
  const { resultType: _t, ...rest } = result;
  if (!isObject(rest._meta) || !(META.serverInfo in rest._meta)) return rest;
  const { [META.serverInfo]: _, ...meta } = rest._meta;
  return { ...rest, _meta: meta };
}

function toProtocolError(error: unknown): Error {
  if (error instanceof McpError) {
    // The SDK client prefixes "MCP error <code>: "; the 2026 client sees the message as the proxy meant it.
    const message = error.message.replace(/^MCP error -?\d+: /, "");
    return new ProtocolError(error.code, message, error.data);
  }
  return error instanceof Error ? error : new Error(String(error));
}

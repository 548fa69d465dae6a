// How one 2026-07-28 request is served through the proxy: in one hop, or in rounds of input_required.
import { McpError, type Implementation, type ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { ProtocolError, inputRequired, type ServerContext } from "@modelcontextprotocol/server";
import { randomUUID } from "node:crypto";
import { identityOf } from "../errors.js";
import { Exchange, type HeldCalls, type Held } from "./exchange.js";
import { Hop, type Ask } from "./hop.js";
import { HopPool } from "./hop-pool.js";
import type { ModernFrontHost, ModernFrontOptions } from "./modern-front.js";
import type { ListedSchemas } from "./param-headers.js";
import type { RequestStateCodec } from "./request-state.js";
import { INPUT_KEY_META, META, MULTI_ROUND_METHODS, isObject, type JsonObject } from "./wire.js";

/** What the proxy tells clients about itself, as its last front session saw it. */
export interface Face {
  serverInfo: Implementation;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
}

export interface Front {
  host: ModernFrontHost;
  options: ModernFrontOptions;
  codec: RequestStateCodec;
  held: HeldCalls;
  hops: HopPool;
  face: Face | undefined;
  /** The tools' input schemas as listed, for the Mcp-Param-* check. */
  schemas: ListedSchemas;
}

export async function openHop(front: Front, ctx: ServerContext | undefined, exchange: () => Exchange | undefined): Promise<Hop> {
  const envelope = ctx?.mcpReq.envelope as Record<string, unknown> | undefined;
  // A call that may ask for input gets backend sessions of its own (an ask is then its, without doubt),
  // unless the client declared nothing it could be asked for: then the shared ones serve, as for a list.
  const shared = !(ctx && MULTI_ROUND_METHODS.has(ctx.mcpReq.method) && declaresInput(envelope?.[META.clientCapabilities]));
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

/** Whether a client declared a capability a backend could ask it for (elicitation, sampling, roots). */
function declaresInput(capabilities: unknown): boolean {
  return isObject(capabilities) && (isObject(capabilities.elicitation) || isObject(capabilities.sampling) || isObject(capabilities.roots));
}

/** A request that cannot ask for input: one hop, one answer. */
export async function once(front: Front, method: string, params: JsonObject, ctx: ServerContext): Promise<JsonObject> {
  // Kept open between requests of the same caller and capabilities: no session to open each time.
  const capabilities = (ctx.mcpReq.envelope as JsonObject | undefined)?.[META.clientCapabilities];
  const hop = await front.hops.get(HopPool.key(ctx.http?.authInfo?.token, capabilities), () => openHop(front, ctx, () => undefined));
  try {
    return clean(await hop.request(method, params, ctx.mcpReq.signal));
  } catch (error) {
    throw toProtocolError(error);
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
export async function rounds(front: Front, method: string, params: JsonObject, ctx: ServerContext) {
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

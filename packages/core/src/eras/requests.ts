// How one 2026-07-28 request is served: handed to the pipeline with a channel that parks server→client
// requests, answered at once, or in rounds of input_required while the call is held.
import { McpError, type ClientCapabilities, type Notification, type Result } from "@modelcontextprotocol/sdk/types.js";
import { ProtocolError, inputRequired, type ServerContext } from "@modelcontextprotocol/server";
import { randomUUID } from "node:crypto";
import { identityOf } from "../errors.js";
import { tenantOf, type Call, type Channel } from "../tenant.js";
import { Exchange, type Ask, type HeldCalls, type Held } from "./exchange.js";
import type { ModernFrontHost, ModernFrontOptions } from "./modern-front.js";
import type { ListedSchemas } from "./param-headers.js";
import type { RequestStateCodec } from "./request-state.js";
import { INPUT_KEY_META, META, isObject, type JsonObject } from "./wire.js";

/** What every 2026 front of one proxy shares. */
export interface Front {
  host: ModernFrontHost;
  options: ModernFrontOptions;
  codec: RequestStateCodec;
  held: HeldCalls;
  /** The tools' input schemas as listed, for the Mcp-Param-* check. */
  schemas: ListedSchemas;
}

/** The call a 2026 request is, as the pipeline takes it: its tenant (from its token and `_meta`), and a way back. */
function callOf(ctx: ServerContext, channel: Omit<Channel, "capabilities">, signal: AbortSignal, exclusive = false): Call {
  const authInfo = ctx.http?.authInfo;
  const capabilities = declared(ctx);
  return { tenant: tenantOf({ authInfo, capabilities }), authInfo, channel: { capabilities, ...channel }, signal, requestId: ctx.mcpReq.id, exclusive };
}

function declared(ctx: ServerContext): ClientCapabilities | undefined {
  const capabilities = (ctx.mcpReq.envelope as JsonObject | undefined)?.[META.clientCapabilities];
  return isObject(capabilities) ? (capabilities as ClientCapabilities) : undefined;
}

/** Whether a client declared a capability a backend could ask it for (elicitation, sampling, roots). */
export function declaresInput(ctx: ServerContext): boolean {
  const capabilities = declared(ctx);
  return capabilities !== undefined && (isObject(capabilities.elicitation) || isObject(capabilities.sampling) || isObject(capabilities.roots));
}

/** Progress and log messages of a call, to the 2026 request now waiting on it. */
function relay(ctx: ServerContext, notification: Notification): Promise<void> {
  const params = (notification.params ?? {}) as JsonObject;
  if (notification.method === "notifications/message") {
    return ctx.mcpReq.log(params.level as never, params.data, typeof params.logger === "string" ? params.logger : undefined);
  }
  return ctx.mcpReq.notify(notification as never);
}

const noInput = () => Promise.reject(new Error("no call is waiting for input"));

/** A request that cannot ask for input: one answer. */
export async function once(front: Front, method: string, params: JsonObject, ctx: ServerContext): Promise<JsonObject> {
  const call = callOf(ctx, { notify: (n) => relay(ctx, n), request: noInput }, ctx.mcpReq.signal);
  try {
    return clean(await front.host.handle(method, params, call));
  } catch (error) {
    throw toProtocolError(error);
  }
}

/** Where a held call's progress and logs go: the round now waiting on it. */
const rounds_ = new WeakMap<Exchange, ServerContext>();

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
    rounds_.set(exchange, ctx);
    const missing = answer(found.asks, ctx.mcpReq.inputResponses);
    if (missing.size > 0) return park(held, codec, { ...found, round, asks: missing }, id, identity);
  } else {
    const started = new Exchange();
    exchange = started;
    rounds_.set(exchange, ctx);
    const call = callOf(
      ctx,
      {
        notify: (n) => relay(rounds_.get(started)!, n),
        request: (request) =>
          new Promise<Result>((resolve, reject) =>
            started.push({ method: request.method, params: (request.params ?? {}) as JsonObject, resolve: resolve as (r: JsonObject) => void, reject }),
          ),
      },
      exchange.controller.signal,
      // Its backend's asks must be its own without doubt: no other call waits on its backend session.
      true,
    );
    exchange.start(front.host.handle(method, params, call) as Promise<JsonObject>);
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

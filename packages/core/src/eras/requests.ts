// How one 2026-07-28 request is served: handed to the pipeline with a channel that parks server→client
// requests, answered at once, or in rounds of input_required while the call is held.
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpError, type ClientCapabilities, type Notification, type RequestId, type Result } from "@modelcontextprotocol/sdk/types.js";
import { ProtocolError, inputRequired } from "@modelcontextprotocol/server";
import { randomUUID } from "node:crypto";
import { identityOf } from "../errors.js";
import { Cancellation } from "../cancellation.js";
import { tenantOf, type Call, type Channel, type Tenant } from "../tenant.js";
import { digestOf } from "./digest.js";
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
  /**
   * The one client of a stdio front: its requests are one caller's, known again from one to the next
   * (as a legacy session's are). Undefined on HTTP, where an anonymous request is nobody the proxy can
   * recognise again.
   */
  caller?: string | undefined;
}

/**
 * What the handlers read of one 2026 request: made from the SDK's context (modern-server.ts), or by
 * the fast path itself (direct.ts), so both run the same handler logic.
 */
export interface RequestContext {
  readonly id: string | number;
  readonly authInfo: AuthInfo | undefined;
  /** Where the reserved `_meta` keys are (protocol version, client info and capabilities, log level). */
  readonly envelope: JsonObject | undefined;
  /** Aborted when the client cancels the request or goes away. */
  readonly signal: AbortSignal;
  /** The same without an AbortSignal, where the front keeps one (a forward listens to it instead). */
  readonly cancellation?: Cancellation | undefined;
  /** The request's requestState: the payload of one the proxy minted (verified), or a backend's string. */
  readonly requestState: unknown;
  readonly inputResponses: Record<string, unknown> | undefined;
  /** A notification to the client, on this request's stream. */
  notify(notification: Notification): Promise<void>;
  /** A log message to the client, if the request's `_meta` log level lets it through. */
  log(level: string, data: unknown, logger: string | undefined): Promise<void>;
}

/** The call a 2026 request is, as the pipeline takes it: its tenant (from its token and `_meta`), and a way back. */
function callOf(front: Front, ctx: RequestContext, channel: Omit<Channel, "capabilities">, cancellation: AbortSignal | Cancellation, exclusive = false): Call {
  const { authInfo } = ctx;
  const capabilities = declared(ctx.envelope);
  return new ModernCall(tenantOf({ authInfo, sessionId: front.caller, capabilities }), authInfo, { capabilities, ...channel }, ctx.id, exclusive, cancellation);
}

/** A 2026 request as the pipeline takes it: a forward listens to its `cancellation`, no AbortSignal made unless read. */
class ModernCall implements Call {
  constructor(
    readonly tenant: Tenant,
    readonly authInfo: AuthInfo | undefined,
    readonly channel: Channel,
    readonly requestId: RequestId,
    readonly exclusive: boolean,
    readonly cancellation: AbortSignal | Cancellation,
  ) {}

  get signal(): AbortSignal {
    return this.cancellation instanceof Cancellation ? this.cancellation.signal : this.cancellation;
  }
}

/** What a 2026 request's client declared, from its envelope (its `_meta`). */
export function declared(envelope: JsonObject | undefined): ClientCapabilities | undefined {
  const capabilities = envelope?.[META.clientCapabilities];
  return isObject(capabilities) ? (capabilities as ClientCapabilities) : undefined;
}

/** Whether a client declared a capability a backend could ask it for (elicitation, sampling, roots). */
export function declaresInput(ctx: RequestContext): boolean {
  const capabilities = declared(ctx.envelope);
  return capabilities !== undefined && (isObject(capabilities.elicitation) || isObject(capabilities.sampling) || isObject(capabilities.roots));
}

/** Progress and log messages of a call, to the 2026 request now waiting on it. */
function relay(ctx: RequestContext, notification: Notification): Promise<void> {
  const params = (notification.params ?? {}) as JsonObject;
  if (notification.method === "notifications/message") {
    return ctx.log(params.level as string, params.data, typeof params.logger === "string" ? params.logger : undefined);
  }
  return ctx.notify(notification);
}

const noInput = () => Promise.reject(new Error("no call is waiting for input"));

/** A request that cannot ask for input: one answer. */
export async function once(front: Front, method: string, params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
  const call = callOf(front, ctx, { notify: (n) => relay(ctx, n), request: noInput }, ctx.cancellation ?? ctx.signal);
  try {
    return clean(await front.host.handle(method, params, call));
  } catch (error) {
    throw toProtocolError(error);
  }
}

/**
 * What a requestState the proxy minted carries, sealed: the held call's id and round, the request it
 * belongs to, the asks now open (by the keys the client was given), and the answers the client gave in
 * earlier rounds. A replica that does not hold the call runs it again with those.
 */
interface Sealed {
  id: string;
  round: number;
  request: string;
  asks: Array<[key: string, digest: string]>;
  answers: Array<[digest: string, response: JsonObject]>;
}

const spentState = () => new ProtocolError(-32602, "Invalid or expired requestState: this input round was already answered, abandoned, or is not yours");

/**
 * A round of a call that may be asked for input. Most calls never ask: the held call's id and the
 * request's digest are made only when it is held.
 */
interface Round {
  id?: string;
  round: number;
  identity: string | undefined;
  request?: string;
  method: string;
  params: JsonObject;
}

/**
 * A request that may need input: a new call, the retry of a call held here, or the retry of a call
 * held elsewhere (another replica, or abandoned here): that one runs again, its asks answered from the
 * client's inputResponses and the answers sealed in the state. Then the call's next outcome.
 */
export async function rounds(front: Front, method: string, params: JsonObject, ctx: RequestContext) {
  const { held } = front;
  const identity = identityOf(ctx.authInfo);
  // A string is a backend's state (passed through); the proxy's own were opened into their payload.
  const raw = ctx.requestState as Sealed | string | undefined;
  const state = typeof raw === "string" ? undefined : raw;
  if (state === undefined) return next(front, start(front, method, params, ctx, []), { round: 1, identity, method, params });
  const request = digestOf(method, params);
  if (state.request !== request) throw new ProtocolError(-32602, "requestState belongs to another request (another method, target or arguments)");
  const found = held.take(state.id);
  if (found && (found.round !== state.round || found.identity !== identity)) {
    held.hold(state.id, found); // not the caller's to use: leave it as it was
    throw spentState();
  }
  if (!found && held.spent(state.id)) throw spentState();
  if (!found) {
    // Held on another replica (or abandoned here): run it again; the first one is abandoned after holdMs.
    const answers = [...state.answers];
    for (const [key, digest] of state.asks) {
      const response = ctx.inputResponses?.[key];
      if (isObject(response)) answers.push([digest, response]);
    }
    return next(front, start(front, method, params, ctx, answers), { round: state.round + 1, identity, request, method, params });
  }
  found.exchange.relay = (n) => relay(ctx, n);
  const call = { ...found, round: found.round + 1 };
  const missing = answer(found.exchange, found.asks, ctx.inputResponses);
  if (missing.size > 0) return park(front, { ...call, asks: missing }, state.id);
  return next(front, found.exchange, { ...call, id: state.id, method, params });
}

/** Starts a call through the pipeline whose backend's asks come back to the 2026 client in rounds. */
function start(front: Front, method: string, params: JsonObject, ctx: RequestContext, answers: Array<[string, JsonObject]>): Exchange {
  const exchange = new Exchange((n) => relay(ctx, n), answers);
  const call = callOf(
    front,
    ctx,
    {
      notify: (n) => exchange.relay(n),
      request: (request) => exchange.ask(request.method, (request.params ?? {}) as JsonObject) as Promise<Result>,
    },
    exchange.cancellation,
    // Its backend's asks must reach its caller: it waits only with that caller's own calls.
    true,
  );
  exchange.start(front.host.handle(method, params, call) as Promise<JsonObject>);
  return exchange;
}

/** What the call does next: it asks (the call is held, the client asked), fails, or ends. */
async function next(front: Front, exchange: Exchange, round: Round) {
  const outcome = await exchange.next();
  if (outcome.kind === "asks") {
    const asks = new Map<string, Ask>();
    for (const ask of outcome.asks) asks.set(keyFor(ask, asks), ask);
    const { id = randomUUID(), request = digestOf(round.method, round.params), method: _m, params: _p, ...rest } = round;
    return park(front, { ...rest, request, exchange, asks }, id);
  }
  await exchange.close();
  if (outcome.kind === "failed") throw toProtocolError(outcome.error);
  // A 2026 backend's own input_required comes back as a result: the client answers it directly.
  if (outcome.result.resultType === "input_required") return { ...clean(outcome.result), resultType: "input_required" };
  return clean(outcome.result);
}

/** Holds the call and tells the client what it must answer, in a state that lets any replica go on. */
function park({ held, codec }: Front, call: Omit<Held, "timer">, id: string) {
  const refused = held.hold(id, call);
  if (refused !== true) {
    void call.exchange.close();
    throw new ProtocolError(-32603, refused === "full" ? "Too many requests are waiting for input; try again later" : `Too many of your requests are waiting for input (at most ${held.maxPerCaller}): answer or abandon them first`);
  }
  const inputRequests = Object.fromEntries([...call.asks].map(([key, ask]) => [key, { method: ask.method, params: stripKey(ask.params) }]));
  const sealed: Sealed = {
    id,
    round: call.round,
    request: call.request,
    asks: [...call.asks].map(([key, ask]) => [key, ask.digest]),
    answers: [...call.exchange.answers],
  };
  return inputRequired({ inputRequests: inputRequests as never, requestState: codec.mint(sealed as unknown as JsonObject, call.identity) });
}

/** Answers the asks the client responded to; returns those still unanswered (a response that is not an object counts as none). */
function answer(exchange: Exchange, asks: Map<string, Ask>, responses: Record<string, unknown> | undefined): Map<string, Ask> {
  const missing = new Map<string, Ask>();
  for (const [key, ask] of asks) {
    const response = responses?.[key];
    if (isObject(response)) exchange.answer(ask, response);
    else missing.set(key, ask);
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

// The fast path's own dispatch: a plain proxied 2026 request is answered by the proxy's handler logic
// (`answer`, which the SDK's dispatch runs too) with a small context, past the SDK's per-request
// dispatch (its lift of `_meta`, envelope parse, context, request validation, abort controller). The
// answer follows the SDK's rules: its codec encodes the result and error code and validates a
// tools/call result, and an input_required result is checked as its server checks one.
import type { ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ClientCapabilities, JSONRPCMessage, Notification } from "@modelcontextprotocol/sdk/types.js";
import { MissingRequiredClientCapabilityError, ProtocolError, isInputRequiredResult } from "@modelcontextprotocol/server";
import type { ProxyMethod } from "../methods.js";
import { WireErrorCode } from "../wire/codes.js";
import { answer } from "./modern-server.js";
import { sendReply, type Reply } from "./reply.js";
import { declared, type Front, type RequestContext } from "./requests.js";
import { META, MODERN_VERSION, isObject, type JsonObject } from "./wire.js";
import { Cancellation } from "../cancellation.js";

/** A request the fast path takes (lanes.ts `isFastRequest`). */
export type FastRequest = { id: string | number; method: string; params: JsonObject };

/** The reason a call is cancelled with when its client goes away. */
export const CLIENT_GONE = "The client went away";

const { InternalError: INTERNAL_ERROR, InvalidParams: INVALID_PARAMS, UrlElicitationRequired: URL_ELICITATION_REQUIRED } = WireErrorCode;
/** The methods whose result may be input_required on this revision. */
const INPUT_CAPABLE = new Set(["tools/call", "prompts/get", "resources/read"]);

/** The SDK's codec of the revision, as its dispatch uses it. */
export interface WireCodec {
  encodeResult(method: string, result: JsonObject, serverInfo: unknown): JsonObject;
  encodeErrorCode(code: number): number;
  validateResult(method: string, raw: unknown): { ok: true; value: unknown } | { ok: false; reason: string; message?: string };
}

const isString = (value: unknown) => typeof value === "string";
const optional = (check: (value: unknown) => boolean) => (value: unknown) => value === undefined || check(value);
const stringRecord = (value: unknown) => isObject(value) && Object.values(value).every(isString);
const LIST = { cursor: optional(isString) };

/**
 * Per method, the params members besides `_meta` and the check the SDK's request schema makes of each.
 * The required ones (name, uri) are there already: `isFastRequest` matched them with `Mcp-Name`.
 */
const MEMBERS: Record<string, Record<string, (value: unknown) => boolean>> = {
  "tools/call": { name: isString, arguments: optional(isObject) },
  "prompts/get": { name: isString, arguments: optional(stringRecord) },
  "resources/read": { uri: isString },
  "tools/list": LIST,
  "resources/list": LIST,
  "resources/templates/list": LIST,
  "prompts/list": LIST,
};

/**
 * Whether the SDK's request schema surely takes these params as they are: only members it knows, of
 * its types (no retry fields, nothing it would strip). Anything else goes the SDK's way.
 */
export function isPlainRequest(message: FastRequest): boolean {
  const members = MEMBERS[message.method];
  if (members === undefined) return false;
  for (const key in message.params) {
    if (key !== "_meta" && !(Object.hasOwn(members, key) && members[key]!(message.params[key]))) return false;
  }
  return true;
}

/** Answers a plain request on `res`, as the SDK's dispatch on a lane would. */
export async function serveDirectly(front: Front, codec: WireCodec, res: ServerResponse, message: FastRequest, authInfo: AuthInfo | undefined): Promise<void> {
  const reply: Reply = { res, done: false };
  const ctx = new DirectContext(message, authInfo, reply, Boolean(front.host.capabilities.logging));
  // A client that goes away cancels its call and is answered nothing.
  res.once("close", () => {
    if (!reply.done) ctx.cancel();
    reply.done = true;
    clearInterval(reply.keepAlive);
  });
  sendReply(reply, await respond(front, codec, message, ctx), false);
}

async function respond(front: Front, codec: WireCodec, { id, method, params }: FastRequest, ctx: RequestContext): Promise<JSONRPCMessage> {
  let result: JsonObject;
  try {
    result = await resultOf(front, codec, method as ProxyMethod, params, ctx);
  } catch (error) {
    const { code, message, data } = Object(error) as { code?: number; message?: string; data?: unknown };
    const encoded = codec.encodeErrorCode(Number.isSafeInteger(code) ? code! : INTERNAL_ERROR);
    return { jsonrpc: "2.0", id, error: { code: encoded, message: message ?? "Internal error", ...(data !== undefined && { data }) } };
  }
  try {
    return { result: codec.encodeResult(method, result, front.host.serverInfo), jsonrpc: "2.0", id } as JSONRPCMessage;
  } catch {
    return { jsonrpc: "2.0", id, error: { code: INTERNAL_ERROR, message: "Internal error" } };
  }
}

/** The handler's result, held to what the SDK's server holds a handler's result to on this revision. */
async function resultOf(front: Front, codec: WireCodec, method: ProxyMethod, params: JsonObject, ctx: RequestContext): Promise<JsonObject> {
  let result: JsonObject;
  try {
    result = await answer(front, method, params, ctx);
  } catch (error) {
    if (INPUT_CAPABLE.has(method) && error instanceof ProtocolError && error.code === URL_ELICITATION_REQUIRED) {
      throw new ProtocolError(
        INTERNAL_ERROR,
        `URL elicitation cannot be signalled by throwing UrlElicitationRequiredError on protocol revision ${MODERN_VERSION}: return inputRequired({ inputRequests: { …: inputRequired.elicitUrl(...) } }) from the handler instead. The urlElicitationRequired error (-32042) of earlier revisions is not available on this revision.`,
      );
    }
    throw error;
  }
  if (isInputRequiredResult(result)) {
    if (!INPUT_CAPABLE.has(method)) {
      throw new ProtocolError(INTERNAL_ERROR, `Handler for ${method} returned an input-required result, but only tools/call, prompts/get and resources/read support input_required (protocol revision ${MODERN_VERSION})`);
    }
    checkInputRequests(method, result, declared(ctx.envelope));
    return result;
  }
  if (method !== "tools/call") return result;
  const validated = codec.validateResult(method, withContent(result));
  if (validated.ok) return validated.value as JsonObject;
  const inEra = validated.reason !== "not-in-era";
  throw new ProtocolError(inEra ? INVALID_PARAMS : INTERNAL_ERROR, inEra ? `Invalid tools/call result: ${validated.message}` : "No wire schema for tools/call in the resolved era");
}

/** A tool result without `content` (and none of another result family's keys) gets `content: []`. */
function withContent(result: JsonObject): JsonObject {
  if (result.content !== undefined || "task" in result || "inputRequests" in result || "requestState" in result) return result;
  return { ...result, content: [] };
}

/** An input_required result must ask for something, and only what the request's client declared it can answer. */
function checkInputRequests(method: string, result: JsonObject, capabilities: ClientCapabilities | undefined): void {
  const requests = isObject(result.inputRequests) ? result.inputRequests : {};
  const entries = Object.entries(requests);
  if (entries.length === 0 && typeof result.requestState !== "string") {
    throw new ProtocolError(INTERNAL_ERROR, `Handler for ${method} returned an input-required result with neither inputRequests nor requestState (every InputRequiredResult must include at least one of the two)`);
  }
  for (const [key, entry] of entries) {
    if (!isObject(entry) || typeof entry.method !== "string") {
      throw new ProtocolError(INTERNAL_ERROR, `Handler for ${method} returned an invalid input request '${key}': each inputRequests entry must be an embedded elicitation/create, sampling/createMessage, or roots/list request`);
    }
    const required = requiredFor(entry.method, isObject(entry.params) ? entry.params : undefined);
    if (required === undefined) {
      throw new ProtocolError(INTERNAL_ERROR, `Handler for ${method} returned an input request '${key}' of kind '${entry.method}', which is not an embedded request the ${MODERN_VERSION} revision defines`);
    }
    if (!declares(capabilities as JsonObject | undefined, required)) {
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: required }, `Cannot request input '${key}' (${entry.method}): the request's client capabilities do not declare the required capability`);
    }
  }
}

/** The one capability (and mode member) an embedded input request needs. */
function requiredFor(method: string, params: JsonObject | undefined): Record<string, JsonObject> | undefined {
  if (method === "elicitation/create") return { elicitation: params?.mode === "url" ? { url: {} } : { form: {} } };
  if (method === "sampling/createMessage") return { sampling: params?.tools !== undefined || params?.toolChoice !== undefined ? { tools: {} } : {} };
  if (method === "roots/list") return { roots: {} };
  return undefined;
}

/** Whether the declared capabilities hold `required` (a bare `elicitation: {}` counts as its form mode). */
function declares(capabilities: JsonObject | undefined, required: Record<string, JsonObject>): boolean {
  const [[name, members]] = Object.entries(required) as [[string, JsonObject]];
  const held = capabilities?.[name];
  if (held === undefined) return false;
  if (!isObject(held)) return true;
  return Object.keys(members).every((member) => held[member] !== undefined || (name === "elicitation" && member === "form" && held.url === undefined));
}

/** The log levels by severity, as the SDK orders them. */
const SEVERITY = new Map(["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"].map((level, index) => [level, index]));

/** What the handler logic reads of a plain request, and its way back to the client on its reply. */
class DirectContext implements RequestContext {
  readonly id: string | number;
  readonly authInfo: AuthInfo | undefined;
  readonly envelope: JsonObject | undefined;
  readonly requestState = undefined;
  readonly inputResponses = undefined;
  readonly #reply: Reply;
  readonly #logging: boolean;
  /** Aborted when the client goes away; its AbortSignal made only when read. */
  readonly cancellation = new Cancellation();

  constructor(message: FastRequest, authInfo: AuthInfo | undefined, reply: Reply, logging: boolean) {
    this.id = message.id;
    this.authInfo = authInfo;
    // The reserved keys are read where they are: the handler logic drops them from what it forwards.
    this.envelope = isObject(message.params._meta) ? message.params._meta : undefined;
    this.#reply = reply;
    this.#logging = logging;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  cancel(): void {
    this.cancellation.abort(CLIENT_GONE);
  }

  notify(notification: Notification): Promise<void> {
    sendReply(this.#reply, { jsonrpc: "2.0", ...notification } as JSONRPCMessage, false);
    return Promise.resolve();
  }

  /** As the SDK's server logs on this revision: only when the request's `_meta` names a level, at or above it. */
  log(level: string, data: unknown, logger: string | undefined): Promise<void> {
    const threshold = this.envelope?.[META.logLevel];
    if (!this.#logging || threshold === undefined) return Promise.resolve();
    if ((SEVERITY.get(level) ?? NaN) < (SEVERITY.get(threshold as string) ?? NaN)) return Promise.resolve();
    return this.notify({ method: "notifications/message", params: { level, data, logger } });
  }
}

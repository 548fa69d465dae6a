// The one JSON-RPC envelope check (request, notification, result or error), and the checks every
// front (stdio and HTTP) and every backend transport applies to a message it reads, before any
// other work: UTF-8, JSON, nesting depth and the envelope. Each failure is the error reply the
// sender gets, with the right code: -32700 for bytes that are not JSON (invalid UTF-8 included:
// decoding never silently substitutes U+FFFD), -32600 for JSON that is not a JSON-RPC message,
// -32602 for a request whose params are not an object, nest too deeply or carry a `_meta` the SDK's
// schema refuses. Depth is bounded because deeply nested values make JSON.stringify (and every
// recursive walk on the way: logging, cache keys, schema checks) throw a RangeError or stall the
// event loop.
import { isUtf8 } from "node:buffer";
import type { JSONRPCMessage, RequestId, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { WireErrorCode as ErrorCode } from "./codes.js";
import { freezeResult, keepJson } from "./raw.js";
import { INVALID, TOO_DEEP, lazyResult, scanJson, type Scanned } from "./scan.js";

/** Deepest nesting of objects and arrays accepted in a message (the envelope is level 1). */
export const DEFAULT_MAX_DEPTH = 64;

/** The first protocol revision that forbids JSON-RPC batches. */
export const NO_BATCH_VERSION = "2025-06-18";

export interface ErrorReply {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: { code: number; message: string };
}

export type Checked = { message: JSONRPCMessage; error?: undefined } | { message?: undefined; error: ErrorReply };

/** Above this size, the bytes are scanned for validity and depth before anything is parsed (parsing deep input is slow). */
const SCAN_FROM_BYTES = 16 * 1024;
const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const RESULT_KEYS = new Set(["jsonrpc", "id", "result"]);
const ERROR_KEYS = new Set(["jsonrpc", "id", "error"]);

export function errorReply(id: RequestId | null, code: number, message: string): ErrorReply {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

export type Parsed = { value: unknown; depthChecked: boolean; error?: undefined } | { value?: undefined; error: ErrorReply };

/**
 * One message's bytes (a stdio line, an HTTP body) to a JSON value, or the -32700/-32600 reply. A
 * response's result is frozen (wire/raw.ts). Above SCAN_FROM_BYTES the bytes are scanned once
 * (wire/scan.ts) for validity and depth; a response's result is then read lazily, member by member,
 * and kept with its bytes. `depthChecked`: checkMessage need not walk the value (it was scanned, or
 * is too short to nest too deep).
 */
export function parseJson(bytes: Buffer, maxDepth = DEFAULT_MAX_DEPTH): Parsed {
  if (!isUtf8(bytes)) return { error: errorReply(null, ErrorCode.ParseError, "Parse error: invalid UTF-8") };
  if (bytes.length > SCAN_FROM_BYTES) return parseLarge(bytes, maxDepth);
  return parseText(bytes.toString("utf8"), bytes.length, maxDepth);
}

/**
 * `parseJson` of `bytes[start, end)` (a stdio line in the chunk it came in: no view of it is made),
 * whose UTF-8 was checked already when `utf8Checked` (with the rest of its chunk).
 */
export function parseJsonAt(bytes: Buffer, start: number, end: number, utf8Checked: boolean, maxDepth = DEFAULT_MAX_DEPTH): Parsed {
  if (!utf8Checked || end - start > SCAN_FROM_BYTES) return parseJson(bytes.subarray(start, end), maxDepth);
  return parseText(bytes.toString("utf8", start, end), end - start, maxDepth);
}

function parseText(text: string, byteLength: number, maxDepth: number): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: errorReply(null, ErrorCode.ParseError, "Parse error: invalid JSON") };
  }
  freezeResult(value, maxDepth);
  // A value nesting d levels takes at least 2d bytes (its brackets): a short one needs no walk.
  return { value, depthChecked: byteLength < 2 * (maxDepth + 1) };
}

function parseLarge(bytes: Buffer, maxDepth: number): Parsed {
  const scanned = scanJson(bytes, maxDepth);
  if (scanned === TOO_DEEP) return { error: tooDeep(null, maxDepth) };
  if (scanned === INVALID) return { error: errorReply(null, ErrorCode.ParseError, "Parse error: invalid JSON") };
  const value = (scanned && lazyResponse(bytes, scanned)) ?? JSON.parse(bytes.toString("utf8"));
  freezeResult(value);
  return { value, depthChecked: true };
}

/**
 * A response whose result is read when someone reads it: the envelope is parsed with the result
 * left out, and the result, frozen, keeps its bytes to be written through (unless they span lines).
 */
function lazyResponse(bytes: Buffer, scanned: Scanned): Record<string, unknown> | undefined {
  if (!scanned.members) return undefined;
  const envelope = JSON.parse(`${bytes.toString("utf8", 0, scanned.start)}0${bytes.toString("utf8", scanned.end)}`) as Record<string, unknown>;
  if (envelope.result !== 0 || "method" in envelope || Object.keys(envelope).length !== scanned.keys) return undefined;
  const result = lazyResult(bytes, scanned.members);
  if (!scanned.multiline) keepJson(result, bytes.subarray(scanned.start, scanned.end));
  envelope.result = result;
  return envelope;
}

/** Bytes to a checked message (see `checkMessage`); a batch (array) is refused: callers that allow one use `checkBatch`. */
export function readMessage(bytes: Buffer, maxDepth = DEFAULT_MAX_DEPTH): Checked {
  const parsed = parseJson(bytes, maxDepth);
  if (parsed.error) return parsed;
  if (Array.isArray(parsed.value)) return { error: errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: JSON-RPC batches are not supported here") };
  return checkMessage(parsed.value, parsed.depthChecked ? Infinity : maxDepth);
}

/**
 * A parsed value as a JSON-RPC message (request, notification, result or error; no other top-level
 * keys, as the SDK's schema), or the error reply: -32600 for a bad envelope (`id: null` on a
 * request included), -32602 for a request whose params are not an object or nest too deeply.
 */
export function checkMessage(value: unknown, maxDepth = DEFAULT_MAX_DEPTH): Checked {
  if (!isObject(value)) return invalid(null, "a JSON-RPC message must be an object");
  const id = isRequestId(value.id) ? value.id : null;
  if (value.jsonrpc !== "2.0") return invalid(id, 'jsonrpc must be "2.0"');
  let keys: Set<string>;
  if ("method" in value) {
    if (typeof value.method !== "string") return invalid(id, "method must be a string");
    if ("id" in value && !isRequestId(value.id)) return invalid(null, "id must be a string or a safe integer");
    keys = REQUEST_KEYS;
  } else if ("result" in value) {
    if (!isRequestId(value.id)) return invalid(null, "a response needs an id");
    if (!isObject(value.result)) return invalid(id, "result must be an object");
    const wrong = wrongMeta(value.result._meta);
    if (wrong) return invalid(id, `result.${wrong}`);
    keys = RESULT_KEYS;
  } else if ("error" in value) {
    const error = value.error;
    if (value.id !== undefined && value.id !== null && !isRequestId(value.id)) return invalid(null, "id must be a string or a safe integer");
    if (!isObject(error) || !Number.isInteger(error.code) || typeof error.message !== "string") return invalid(id, "error needs an integer code and a string message");
    keys = ERROR_KEYS;
  } else {
    return invalid(id, "a message needs a method, a result or an error");
  }
  for (const key in value) if (!keys.has(key)) return invalid(id, `unexpected member "${key}"`);
  if (keys === REQUEST_KEYS && value.params !== undefined) {
    const params = value.params;
    if (!isObject(params) || (params._meta !== undefined && !isObject(params._meta))) {
      return { error: errorReply(id, ErrorCode.InvalidParams, "Invalid params: params must be an object") };
    }
    const wrong = wrongMeta(params._meta);
    if (wrong) return { error: errorReply(id, ErrorCode.InvalidParams, `Invalid params: ${wrong}`) };
    if (deeperThan(params, maxDepth - 1)) return { error: tooDeep(id, maxDepth, id === null ? ErrorCode.InvalidRequest : ErrorCode.InvalidParams) };
  } else if (keys !== REQUEST_KEYS && deeperThan(value, maxDepth)) {
    return { error: tooDeep(id, maxDepth) };
  }
  return { message: value as unknown as JSONRPCMessage };
}

/**
 * Whether a parsed value is a JSON-RPC message (`checkMessage`'s envelope rules, any depth): for a
 * reader that reports a bad message rather than answering it (the HTTP backend transport).
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  return checkMessage(value, Infinity).message !== undefined;
}

/**
 * A batch (a JSON array) on an HTTP front: refused with -32600 on protocol revisions that forbid
 * batches (2025-06-18 and later), and when empty or longer than `maxBatch`.
 */
export function checkBatch(value: unknown[], protocolVersion: string | undefined, maxBatch = 100): ErrorReply | undefined {
  if (protocolVersion === undefined || protocolVersion >= NO_BATCH_VERSION) {
    return errorReply(null, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not allowed from protocol version ${NO_BATCH_VERSION} on`);
  }
  if (value.length === 0) return errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: empty batch");
  if (value.length > maxBatch) return errorReply(null, ErrorCode.InvalidRequest, `Invalid Request: Batch must not exceed ${maxBatch} messages`);
  return undefined;
}

/** What one params member must be, as far as the proxy relies on it ("?": optional). */
export type Shape = "string" | "string?" | "object" | "object?" | "strings?" | "level";
/** The params of one method, member by member (more members may come). */
export type ParamShape = Readonly<Record<string, Shape>>;
/** MCP's log levels, least severe first (RFC 5424's, in reverse). */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
const LEVELS = new Set<string>(LOG_LEVELS);

/**
 * A request's params against the shape of its method (the method table's), so that a wrong type
 * gets -32602 with a plain message (`Invalid params for tools/call: "name" must be a string`) from
 * the proxy, rather than being forwarded and answered with a backend's validation dump. Undefined
 * when they fit, or when the method has no shape.
 */
export function checkParams(method: string, shape: ParamShape | undefined, params: Record<string, unknown> | undefined): ErrorReply["error"] | undefined {
  if (!shape) return undefined;
  for (const key in shape) {
    const want = shape[key]!;
    const value = params?.[key];
    const optional = want.endsWith("?");
    if (optional && value === undefined) continue;
    const ok =
      want === "level" ? typeof value === "string" && LEVELS.has(value)
      : want === "strings?" ? isObject(value) && Object.values(value).every((v) => typeof v === "string")
      : want === "string" || want === "string?" ? typeof value === "string"
      : isObject(value);
    if (!ok) return { code: ErrorCode.InvalidParams, message: `Invalid params for ${method}: "${key}" ${EXPECTED[want]}` };
  }
  return undefined;
}

const EXPECTED: Record<Shape, string> = {
  string: "must be a string",
  "string?": "must be a string",
  object: "must be an object",
  "object?": "must be an object",
  "strings?": "must be an object of strings",
  level: `must be one of ${[...LEVELS].join(", ")}`,
};

/** Whether objects and arrays in `value` nest more than `max` levels (recursion stops at the limit). */
export function deeperThan(value: unknown, max: number): boolean {
  if (typeof value !== "object" || value === null || max === Infinity) return false;
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, max - 1)) return true;
  } else {
    for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], max - 1)) return true;
  }
  return false;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string, or an integer JSON can carry exactly (the SDK's schema refuses larger ones). */
export function isRequestId(value: unknown): value is RequestId {
  return typeof value === "string" || Number.isSafeInteger(value);
}

const RELATED_TASK = "io.modelcontextprotocol/related-task";

/**
 * What is wrong with a message's `_meta` (a request's, a notification's, a result's) by the SDK's
 * schema, if anything. Its `Protocol` drops such a message: a ping or initialize the proxy handed it
 * would go unanswered, and a client's SDK would drop such a result and wait for ever.
 */
function wrongMeta(meta: unknown): string | undefined {
  if (meta === undefined) return undefined;
  if (!isObject(meta)) return "_meta must be an object";
  if (meta.progressToken !== undefined && !isRequestId(meta.progressToken)) return "_meta.progressToken must be a string or an integer";
  const task = meta[RELATED_TASK];
  if (task !== undefined && !(isObject(task) && typeof task.taskId === "string")) return `_meta["${RELATED_TASK}"] must be an object with a string taskId`;
  return undefined;
}

function invalid(id: RequestId | null, why: string): { error: ErrorReply } {
  return { error: errorReply(id, ErrorCode.InvalidRequest, `Invalid Request: ${why}`) };
}

function tooDeep(id: RequestId | null, maxDepth: number, code: number = ErrorCode.InvalidRequest): ErrorReply {
  const what = code === ErrorCode.InvalidParams ? "Invalid params" : "Invalid Request";
  return errorReply(id, code, `${what}: the message nests deeper than ${maxDepth} levels`);
}

/**
 * A result "schema" that takes a result as it is: forwarding stays lossless (the SDK's typed
 * schemas drop unknown fields) and no time is spent re-validating it.
 */
export const passthrough = {
  safeParse: (data: unknown) => ({ success: true as const, data }),
} as unknown as typeof ResultSchema;

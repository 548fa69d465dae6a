// The JSON-RPC envelope check shared by every transport (fronts and backends).
import type { JSONRPCMessage, RequestId, ResultSchema } from "@modelcontextprotocol/sdk/types.js";

const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const RESULT_KEYS = new Set(["jsonrpc", "id", "result"]);
const ERROR_KEYS = new Set(["jsonrpc", "id", "error"]);

/**
 * The shape the SDK's `JSONRPCMessageSchema` accepts (request, notification, result or error;
 * no other top-level keys), checked by hand: the zod parse of every envelope was a visible share
 * of the front's CPU, and the message is passed on as parsed, unknown fields included.
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (!isObject(value) || value.jsonrpc !== "2.0") return false;
  let keys: Set<string>;
  if ("method" in value) {
    if (typeof value.method !== "string" || (value.params !== undefined && !isObject(value.params))) return false;
    const meta = (value.params as { _meta?: unknown } | undefined)?._meta;
    if (meta !== undefined && !isObject(meta)) return false;
    if ("id" in value && !isRequestId(value.id)) return false;
    keys = REQUEST_KEYS;
  } else if ("result" in value) {
    if (!isRequestId(value.id) || !isObject(value.result)) return false;
    keys = RESULT_KEYS;
  } else if ("error" in value) {
    const error = value.error;
    if ((value.id !== undefined && !isRequestId(value.id)) || !isObject(error)) return false;
    if (!Number.isInteger(error.code) || typeof error.message !== "string") return false;
    keys = ERROR_KEYS;
  } else {
    return false;
  }
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return typeof value === "string" || Number.isInteger(value);
}


/**
 * A result "schema" that takes a result as it is: forwarding stays lossless (the SDK's typed
 * schemas drop unknown fields) and no time is spent re-validating it.
 */
export const passthrough = {
  safeParse: (data: unknown) => ({ success: true as const, data }),
} as unknown as typeof ResultSchema;

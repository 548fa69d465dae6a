// The 2026-07-28 wire: its version, the reserved `_meta` keys, and the routing headers.
import { METHODS, isProxyMethod } from "../methods.js";
import { WireErrorCode } from "../wire/codes.js";

export { isObject } from "../wire/message.js";

/** The stateless revision this proxy speaks. */
export const MODERN_VERSION = "2026-07-28";
/** Revisions of the stateless era this proxy accepts. */
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];

/** The revisions of the stateful era (initialize and sessions). */
export const LEGACY_VERSIONS = new Set(["2024-10-07", "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]);

export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

/** On a bridged input request: the key the 2026 backend gave it, so the front client sees the same key. */
export const INPUT_KEY_META = "fastmcp-proxy/inputKey";

/**
 * On a request forwarded for a 2026 client: the capabilities it declared for this request, which a
 * 2026 backend transport sends as the request's own (a shared backend session declares everything).
 * Not the reserved envelope key: a legacy backend must not mistake the request for a 2026 one.
 */
export const FRONT_CAPABILITIES_META = "fastmcp-proxy/clientCapabilities";

export const UNSUPPORTED_PROTOCOL_VERSION = WireErrorCode.UnsupportedProtocolVersion;

/** The 2026-07-28 tasks extension (SEP-2663), under `capabilities.extensions`: not bridged by the proxy. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** Methods of the legacy era with no meaning in 2026-07-28 (a 2026 peer answers them 404 / -32601). */
export const LEGACY_ONLY_METHODS = new Set(["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"]);

/** Methods whose result may be `input_required` (the method table's multi-round ones). */
export const MULTI_ROUND_METHODS: ReadonlySet<string> = new Set(Object.entries(METHODS).flatMap(([method, spec]) => (spec.era === "multiRound" ? [method] : [])));

/** The `Mcp-Name` header value for a request: the member the method table names (a tool or prompt name, a resource URI). */
export function nameOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  const key = isProxyMethod(method) ? METHODS[method].nameKey : undefined;
  const value = key === undefined ? undefined : params?.[key];
  return typeof value === "string" ? value : undefined;
}

/** Header-safe form of a value: printable ASCII kept, anything else base64-encoded as the spec allows. */
export function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) && value.trim() === value ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

export type JsonObject = Record<string, unknown>;

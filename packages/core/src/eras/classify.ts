import type { IncomingMessage } from "node:http";
import { isProxyState } from "./request-state.js";
import { LEGACY_VERSIONS, META, MODERN_VERSION, isObject } from "./wire.js";

const DATED = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Whether a streamable HTTP request belongs to the 2026-07-28 era: a POST whose body claims it (a
 * `_meta` protocol version on a request) or whose MCP-Protocol-Version header names 2026-07-28 or a
 * later dated revision. Everything else (initialize, a request with Mcp-Session-Id, GET and DELETE,
 * older or unknown version headers) is legacy, answered as before. A modern claim that is malformed still goes to the modern side, which owns those errors.
 */
export function isModernRequest(req: IncomingMessage, body: unknown): boolean {
  // A session belongs to the legacy era, whatever its requests claim (its transport answers them).
  if (req.method !== "POST" || req.headers["mcp-session-id"] !== undefined) return false;
  const header = req.headers["mcp-protocol-version"];
  const version = Array.isArray(header) ? header[0] : header;
  if (version !== undefined && DATED.test(version) && !LEGACY_VERSIONS.has(version) && version >= MODERN_VERSION) return true;
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => isObject(m) && typeof m.method === "string" && isObject(m.params) && isObject(m.params._meta) && META.protocolVersion in m.params._meta);
}

/** Whether a 2026 request is the retry of a call the proxy asked for input (it carries a state the proxy minted). */
export function resumesHeldCall(body: unknown): boolean {
  return isObject(body) && isObject(body.params) && typeof body.params.requestState === "string" && isProxyState(body.params.requestState);
}

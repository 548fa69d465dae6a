import type { IncomingMessage } from "node:http";
import { LEGACY_VERSIONS, META, isObject } from "./wire.js";

/**
 * Whether a streamable HTTP request belongs to the 2026-07-28 era: a POST whose body claims it (a
 * `_meta` protocol version on a request) or whose MCP-Protocol-Version header names a revision newer
 * than the legacy ones. Everything else (initialize, sessions, GET and DELETE, legacy headers) is
 * legacy. A modern claim that is malformed still goes to the modern side, which owns those errors.
 */
export function isModernRequest(req: IncomingMessage, body: unknown): boolean {
  if (req.method !== "POST") return false;
  const header = req.headers["mcp-protocol-version"];
  const version = Array.isArray(header) ? header[0] : header;
  if (version !== undefined && !LEGACY_VERSIONS.has(version)) return true;
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => isObject(m) && typeof m.method === "string" && isObject(m.params) && isObject(m.params._meta) && META.protocolVersion in m.params._meta);
}

import type { IncomingMessage, ServerResponse } from "node:http";

/** Browser clients allowed to call the HTTP front. */
export interface Cors {
  /** Exact origins (`https://app.example.com`), or "*" for any. */
  origins: readonly string[];
}

/** What a browser may send, and read back, on the MCP endpoint. */
const ALLOW_HEADERS = "content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name";
const EXPOSE_HEADERS = "mcp-session-id, mcp-protocol-version, www-authenticate";

/**
 * Sets the CORS headers on `res` when `origin` is allowed, and says whether it is. The answer
 * names the origin (never "*"), so it also works for requests that carry credentials.
 */
export function corsHeaders(cors: Cors, origin: string, req: IncomingMessage, res: ServerResponse): boolean {
  if (!cors.origins.includes("*") && !cors.origins.includes(origin)) return false;
  // A preflight names the headers it wants (2026-07-28 clients add Mcp-Param-* ones): allow those.
  const requested = req.headers["access-control-request-headers"];
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "Origin");
  res.setHeader("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
  res.setHeader("access-control-allow-headers", typeof requested === "string" && requested !== "" ? requested : ALLOW_HEADERS);
  res.setHeader("access-control-expose-headers", EXPOSE_HEADERS);
  res.setHeader("access-control-max-age", "600");
  return true;
}

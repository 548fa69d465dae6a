import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { META, MODERN_VERSION, isObject } from "./wire.js";

/** Bounded, as a probe must be. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Which era an HTTP backend speaks: a `server/discover` that lists 2026-07-28 means modern; an HTTP or
 * JSON-RPC refusal (404, 405, 400, -32601, an initialize-only server) means legacy. Network failures
 * throw, and so does a refusal of the credentials (401, 403: StreamableHTTPError), which says nothing of the era.
 */
export async function probeEra(url: string, headers: Record<string, string> = {}): Promise<"modern" | "legacy"> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      ...headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": MODERN_VERSION,
      "mcp-method": "server/discover",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: "probe",
      method: "server/discover",
      params: { _meta: { [META.protocolVersion]: MODERN_VERSION, [META.clientCapabilities]: {}, [META.clientInfo]: { name: "fastmcp-proxy", version: "0" } } },
    }),
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel().catch(() => {});
    throw new StreamableHTTPError(response.status, `${url} refused the proxy's credentials (HTTP ${response.status})`);
  }
  const text = await response.text().catch(() => "");
  // An SSE answer carries the response in a data line; a JSON one is the body.
  const json = text.startsWith("{") ? text : /^data: ?(.*)$/m.exec(text)?.[1];
  let parsed: unknown;
  try {
    parsed = json ? JSON.parse(json) : undefined;
  } catch {
    parsed = undefined;
  }
  const result = isObject(parsed) ? parsed.result : undefined;
  return isObject(result) && Array.isArray(result.supportedVersions) && result.supportedVersions.includes(MODERN_VERSION) ? "modern" : "legacy";
}

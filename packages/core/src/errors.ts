import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { WireErrorCode } from "./wire/codes.js";

/**
 * Stable JSON-RPC error codes the proxy itself produces (the implementation-defined
 * server range -32000..-32099, clear of the SDK's -32000, -32001 and -32042).
 */
export const ProxyErrorCode = {
  /** A backend could not be reached, died, or closed its connection. */
  BackendUnavailable: -32010,
  /** The caller is not authenticated. */
  Unauthorized: -32011,
  /** The caller is authenticated but not allowed. */
  Forbidden: -32012,
  /** A backend did not answer in time. */
  Timeout: WireErrorCode.RequestTimeout,
  /** A middleware broke the chain contract (e.g. called next() twice). */
  MiddlewareMisuse: -32013,
  /** The proxy was configured wrongly (bad config file, name collision, ...). */
  InvalidConfig: -32014,
  /** A service the proxy needs to decide (an identity provider, a store) is unavailable. */
  ServiceUnavailable: -32015,
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

/** An error raised by the proxy rather than by a backend. Travels to the client with its code. */
export class ProxyError extends McpError {
  constructor(code: number, message: string, data?: unknown, options?: { cause?: unknown }) {
    super(code, message, data);
    this.name = "ProxyError";
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * Offered a keep-alive connection of a caller to slow down (`HttpError.hold`, `holdAfterAnswer`):
 * return true to hold it (not read again until `resume()`, or until it closes), false not to.
 */
export type ConnectionHold = (socket: Socket, resume: () => void) => boolean;

/**
 * A refusal with an HTTP status and headers (401 with `WWW-Authenticate`, 403, 503). Thrown by a
 * front's `authenticate`, or by middleware: where the answer is still plain JSON, the HTTP front
 * answers with this status and these headers; elsewhere the JSON-RPC error alone is sent.
 */
export class HttpError extends ProxyError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * A refusal from a front's `authenticate` only: whether to stop reading this connection after the
   * answer. Called as the refusal is answered; return true to hold the connection (not read again
   * until `resume()`, or until it closes), false to close it after the answer (see
   * docs/extension-points.md, "Holding a refused connection").
   */
  readonly hold: ConnectionHold | undefined;

  constructor(status: number, message: string, headers: Record<string, string> = {}, options: { hold?: ConnectionHold } = {}) {
    const code =
      status === 401 ? ProxyErrorCode.Unauthorized
      : status === 403 ? ProxyErrorCode.Forbidden
      : status >= 500 ? ProxyErrorCode.ServiceUnavailable
      : WireErrorCode.InvalidRequest;
    super(code, message, { http: { status, headers } });
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
    this.hold = options.hold;
  }
}

/** The HTTP status and headers a JSON-RPC error message asks its HTTP answer to carry (see HttpError). */
export function httpStatusOf(message: unknown): { status: number; headers: Record<string, string> } | undefined {
  const http = (message as { error?: { data?: { http?: { status?: unknown; headers?: unknown } } } }).error?.data?.http;
  if (typeof http?.status !== "number" || http.status < 400 || http.status > 599) return undefined;
  return { status: http.status, headers: typeof http.headers === "object" && http.headers !== null ? (http.headers as Record<string, string>) : {} };
}

/**
 * Who is calling, as one string: the identity an authenticator named (`authInfo.extra.identity`),
 * else a hash of the token. Sessions are bound to it and caches partition by it.
 */
export function identityOf(authInfo: AuthInfo | undefined): string | undefined {
  if (!authInfo) return undefined;
  const named = authInfo.extra?.identity;
  if (typeof named === "string" && named !== "") return named;
  return `token:${createHash("sha256").update(authInfo.token).digest("base64url")}`;
}

/**
 * The one normaliser: anything thrown becomes an McpError whose code survives the wire. Its message
 * goes without the SDK's "MCP error <code>: " prefix: the client's SDK adds one, so it reads once.
 */
export function toMcpError(error: unknown): McpError {
  const mcp = error instanceof McpError ? error : new McpError(WireErrorCode.InternalError, "");
  mcp.message = plainMessage(error);
  return mcp;
}

/** The SDK prefixes McpError messages with "MCP error <code>: " (each SDK on the way once more); strip them all. */
export function plainMessage(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? error.message : String(error);
  } catch {
    message = "[unreadable error]"; // a hostile toString or message getter
  }
  return message.replace(/^(?:MCP error -?\d+: )+/, "");
}

/**
 * A backend's JSON-RPC error, re-raised so the client sees the backend's own code, message
 * and data. The SDKs on the way prefixed the message (the backend's server, the proxy's client):
 * undo that so the client's own SDK adds the only one.
 */
export function forwardedError(error: McpError): McpError {
  const forwarded = McpError.fromError(error.code, "", error.data);
  forwarded.message = plainMessage(error);
  return forwarded;
}

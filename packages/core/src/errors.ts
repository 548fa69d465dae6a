import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";

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
  Timeout: ErrorCode.RequestTimeout,
  /** A middleware broke the chain contract (e.g. called next() twice). */
  MiddlewareMisuse: -32013,
  /** The proxy was configured wrongly (bad config file, name collision, ...). */
  InvalidConfig: -32014,
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

/** The one normaliser: anything thrown becomes an McpError whose code survives the wire. */
export function toMcpError(error: unknown): McpError {
  if (error instanceof McpError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new McpError(ErrorCode.InternalError, message);
}

/** The SDK prefixes McpError messages with "MCP error <code>: "; strip it when re-wrapping. */
export function plainMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^MCP error -?\d+: /, "");
}

/**
 * A backend's JSON-RPC error, re-raised so the client sees the backend's own code, message
 * and data. The SDK client prefixed the wire message once; undo that so it is not doubled.
 */
export function forwardedError(error: McpError): McpError {
  const forwarded = McpError.fromError(error.code, "", error.data);
  forwarded.message = error.message.replace(`MCP error ${error.code}: `, "");
  return forwarded;
}

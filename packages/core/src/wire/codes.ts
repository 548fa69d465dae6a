// The JSON-RPC error codes that travel on the wire: the standard ones, and those MCP and its SDK
// give meaning to. The proxy's own codes (ProxyErrorCode, errors.ts) sit in the server range beside them.

export const WireErrorCode = {
  /** Bytes that are not JSON (invalid UTF-8 included). */
  ParseError: -32700,
  /** JSON that is not a JSON-RPC message, or a message refused as a whole. */
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The SDK's: the connection closed; also the HTTP fronts' generic refusal (405, 406, 413, 503...). */
  ConnectionClosed: -32000,
  /** The SDK's: a request timed out; also an unknown HTTP session (404). */
  RequestTimeout: -32001,
  /** MCP: a resource URI that names nothing. */
  ResourceNotFound: -32002,
  /** MCP 2026-07-28: a protocol revision the peer does not speak (its data lists those it does). */
  UnsupportedProtocolVersion: -32022,
  /** MCP: the request needs the user to visit a URL first (URL elicitation). */
  UrlElicitationRequired: -32042,
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

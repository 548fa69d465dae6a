import { plainMessage, type ProxyContext, type ProxyMethod } from "@fastmcp-proxy/core";

/** How a forwarded request ended: a result, a tool's own failure (`isError: true`), or a thrown JSON-RPC error. */
export type Outcome = "ok" | "isError" | "error";

/** JSON-RPC InternalError: what the proxy's normaliser makes of a throw without a numeric code. */
export const INTERNAL_ERROR = -32603;

export function isToolError(result: unknown): boolean {
  return typeof result === "object" && result !== null && (result as { isError?: unknown }).isError === true;
}

/** The JSON-RPC code the client will see for this throw (McpError's own, else InternalError). */
export function errorCode(error: unknown): number {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "number" && Number.isInteger(code) ? code : INTERNAL_ERROR;
}

/** The error's message without the SDK's "MCP error <code>: " prefix. */
export const errorMessage = plainMessage;

/** The error's `data` (McpError carries one), if any. */
export function errorData(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { data?: unknown }).data : undefined;
}

/** Low-cardinality labels of a request: the component and its backend come from the proxy's registry, never from the client. */
export interface RequestLabels {
  method: ProxyMethod;
  /** The backend's configured name, "" when the request targets no one backend (lists, setLevel). */
  backend: string;
  /** The component's name as clients see it (tool, prompt, resource URI, template), "" when none. */
  component: string;
}

export function requestLabels(ctx: ProxyContext): RequestLabels {
  const component = ctx.component;
  return { method: ctx.method, backend: component?.backend.name ?? "", component: component?.name ?? "" };
}

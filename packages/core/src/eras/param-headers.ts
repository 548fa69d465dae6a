import { headerValue, isObject, type JsonObject } from "./wire.js";

/** A header name: visible ASCII token characters only (no space, colon, or control characters). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_TYPES = new Set(["string", "integer", "boolean"]);

/**
 * The `x-mcp-header` annotations of a tool's input schema: argument name → header name (sent as
 * `Mcp-Param-<name>`), or undefined when an annotation is invalid (empty, not a token, on a type other
 * than string, integer or boolean, or named twice ignoring case). A client must not use such a tool.
 */
export function paramHeadersOf(tool: unknown): Map<string, string> | undefined {
  const headers = new Map<string, string>();
  const properties = isObject(tool) && isObject(tool.inputSchema) && isObject(tool.inputSchema.properties) ? tool.inputSchema.properties : {};
  const seen = new Set<string>();
  for (const [argument, schema] of Object.entries(properties)) {
    if (!isObject(schema) || !("x-mcp-header" in schema)) continue;
    const name = schema["x-mcp-header"];
    if (typeof name !== "string" || !TOKEN.test(name) || !HEADER_TYPES.has(schema.type as string) || seen.has(name.toLowerCase())) return undefined;
    seen.add(name.toLowerCase());
    headers.set(argument, name);
  }
  return headers;
}

/** The Mcp-Param-* headers for a call's arguments; null and absent arguments send none. */
export function paramHeaderValues(headers: Map<string, string> | undefined, args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || !isObject(args)) return out;
  for (const [argument, name] of headers) {
    const value = (args as JsonObject)[argument];
    if (value === undefined || value === null) continue;
    out[`mcp-param-${name.toLowerCase()}`] = typeof value === "string" ? headerValue(value) : String(value);
  }
  return out;
}

/**
 * The tools of a backend as its 2026 transports saw them listed: their header annotations, shared by
 * every session of the backend (a session that calls a tool may not be the one that listed it).
 */
export class ToolHeaderBook {
  readonly #tools = new Map<string, Map<string, string>>();

  /** Learns a tools/list page; returns it without the tools whose annotations are invalid. */
  learn(result: JsonObject): JsonObject {
    if (!Array.isArray(result.tools)) return result;
    const kept = result.tools.filter((tool: unknown) => {
      const headers = paramHeadersOf(tool);
      const name = isObject(tool) ? tool.name : undefined;
      if (typeof name === "string") {
        if (headers) this.#tools.set(name, headers);
        else this.#tools.delete(name);
      }
      return headers !== undefined;
    });
    return kept.length === result.tools.length ? result : { ...result, tools: kept };
  }

  headersFor(name: unknown, args: unknown): Record<string, string> {
    return typeof name === "string" ? paramHeaderValues(this.#tools.get(name), args) : {};
  }
}

/**
 * The input schemas of the tools the 2026 front has listed, by name: what the SDK checks a call's
 * `Mcp-Param-*` headers against (McpServer.toolInputSchemaJson). Learned from every tools/list the
 * front answers; a call to a tool not seen yet has them listed again, at most once a second.
 */
export class ListedSchemas {
  readonly #schemas = new Map<string, JsonObject>();
  #listedAt = 0;

  learn(result: JsonObject): void {
    if (!Array.isArray(result.tools)) return;
    for (const tool of result.tools) {
      if (isObject(tool) && typeof tool.name === "string" && isObject(tool.inputSchema)) this.#schemas.set(tool.name, tool.inputSchema);
    }
  }

  get(name: string): JsonObject | undefined {
    return this.#schemas.get(name);
  }

  /** Whether a call to `name` should have the tools listed first. */
  stale(name: string): boolean {
    if (this.#schemas.has(name) || Date.now() - this.#listedAt < 1000) return false;
    this.#listedAt = Date.now();
    return true;
  }
}

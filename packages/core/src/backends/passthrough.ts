import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { passthrough } from "../wire/message.js";

const MAX_PAGES = 1000;

/** Reads every page of a list method. A backend that does not know the method has an empty list. */
export async function listAll<T>(client: Client, method: string, key: string): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let result: Record<string, unknown>;
    try {
      result = (await client.request({ method, params: cursor === undefined ? {} : { cursor } }, passthrough)) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.MethodNotFound) return items;
      throw error;
    }
    const found = result[key];
    if (Array.isArray(found)) items.push(...(found as T[]));
    const next = result.nextCursor;
    if (typeof next !== "string" || seen.has(next)) return items;
    seen.add(next);
    cursor = next;
  }
  return items;
}

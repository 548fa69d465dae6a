import { createHash } from "node:crypto";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { encodeOnce, isKept } from "../wire/raw.js";

/** A cursor the proxy mints: base64url of a small JSON object, opaque to clients. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** The object inside a cursor the proxy minted, or undefined for anything else. */
export function decodeCursor(cursor: unknown): Record<string, unknown> | undefined {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A short fingerprint of a list's content: its version, as far as cursors are concerned. */
const versions = new WeakMap<object, string>();
function versionOf(items: readonly unknown[]): string {
  let version = versions.get(items);
  if (version === undefined) {
    version = createHash("sha256").update(JSON.stringify(items)).digest("base64url").slice(0, 12);
    versions.set(items, version);
  }
  return version;
}

/** The pages made of each shared list, by offset and page size. */
const pages = new WeakMap<object, Map<string, object>>();

/**
 * Marks a deep-frozen list answer whose JSON is made and UTF-8 encoded once, and reused for every
 * response that carries it (wire/raw.ts): a mirrored list is shared by every client, and
 * serializing 5,000 tools costs milliseconds a call.
 */
export function shareable<R extends object>(list: R): R {
  return encodeOnce(list);
}

/**
 * One page of a mirrored list (`key` is `tools`, `resources`, `resourceTemplates` or `prompts`).
 * Without a `pageSize`, the whole list as it is. With one, `pageSize` items from the offset in
 * the cursor, and a `nextCursor` (offset + the list's version) when more follow. A cursor that
 * is not one the proxy minted for this list, or was minted for a list since changed, is
 * InvalidParams: the client lists again from the start.
 */
export function pageOf<R extends object>(method: string, list: R, key: keyof R & string, cursor: string | undefined, pageSize: number | undefined): R {
  const items = list[key] as unknown as readonly unknown[];
  if (cursor === undefined && (pageSize === undefined || items.length <= pageSize)) return list;
  const version = versionOf(items);
  let offset = 0;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (pageSize === undefined || decoded?.k !== key || typeof decoded.o !== "number" || !Number.isInteger(decoded.o) || decoded.o <= 0) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid cursor for ${method}: it is not one this proxy gave (list again without a cursor)`);
    }
    if (decoded.v !== version || decoded.o >= items.length) {
      throw new McpError(ErrorCode.InvalidParams, `Stale cursor for ${method}: the list has changed since it was given (list again without a cursor)`);
    }
    offset = decoded.o;
  }
  // A page of a shared list is made once per offset, so its JSON text is made once too.
  const shared = isKept(list);
  const at = `${offset}:${pageSize}`;
  const made = shared ? pages.get(list)?.get(at) : undefined;
  if (made) return made as R;
  const end = offset + (pageSize ?? items.length);
  const page = { ...list, [key]: items.slice(offset, end) } as R & { nextCursor?: string };
  delete page.nextCursor;
  if (end < items.length) page.nextCursor = encodeCursor({ k: key, o: end, v: version });
  if (!shared) return page;
  let byOffset = pages.get(list);
  if (!byOffset) pages.set(list, (byOffset = new Map()));
  byOffset.set(at, shareable(Object.freeze(page)));
  return page;
}


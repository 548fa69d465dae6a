/**
 * Hostile-input-proof views of request and result payloads: a bounded, redacted, JSON-safe copy
 * for log lines, and an approximate serialized size. Neither recurses on the input's own depth
 * (a 100 000-deep object cannot overflow the stack), neither follows a cycle, neither throws.
 */
import { REDACTED, type Scrubber } from "./redact.js";

export interface Limits {
  /** Nesting shown before a subtree is summarised as `[Object]` / `[Array(n)]`. Default 6. */
  maxDepth: number;
  /** Characters kept of each string (and key). Default 1000. */
  maxStringLength: number;
  /** Array items and object keys kept at each level. Default 50. */
  maxItems: number;
  /** Rough size budget of one copied payload; past it the rest is `[Truncated]`. Default 16 KiB. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: Limits = { maxDepth: 6, maxStringLength: 1000, maxItems: 50, maxBytes: 16 * 1024 };

export const TRUNCATED = "[Truncated]";

interface CopyState {
  budget: number;
  readonly limits: Limits;
  readonly scrubber: Scrubber;
  readonly ancestors: Set<object>;
}

/**
 * A bounded, redacted, JSON-safe copy of `value` rooted at `root` (`["params"]`, `["result"]`):
 * sensitive keys and paths become `[REDACTED]`, known secrets and credential patterns are
 * scrubbed from every string and key, long strings, wide objects and deep nesting are cut with a
 * marker saying how much was left out.
 */
export function boundedCopy(value: unknown, root: readonly string[], scrubber: Scrubber, limits: Limits = DEFAULT_LIMITS): unknown {
  const state: CopyState = { budget: limits.maxBytes, limits, scrubber, ancestors: new Set() };
  try {
    return copy(value, [...root], 0, state);
  } catch {
    return "[Unloggable]";
  }
}

/** A string, truncated to the limit, with every secret scrubbed (before cutting, so no half-secret survives the cut). */
export function boundedString(text: string, scrubber: Scrubber, maxLength: number): string {
  if (text.length <= maxLength) return scrubber.scrub(text);
  // Scrub a little more than is kept, so a secret straddling the cut is removed whole.
  const scrubbed = scrubber.scrub(text.slice(0, maxLength + Math.max(512, scrubber.longest)));
  return `${scrubbed.slice(0, maxLength)}…[+${text.length - maxLength} chars]`;
}

function copy(value: unknown, path: string[], depth: number, state: CopyState): unknown {
  const { limits, scrubber } = state;
  switch (typeof value) {
    case "string": {
      const out = boundedString(value, scrubber, limits.maxStringLength);
      state.budget -= out.length + 2;
      return out;
    }
    case "number":
      state.budget -= 8;
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      state.budget -= 5;
      return value;
    case "bigint":
      state.budget -= 8;
      return scrubber.scrub(String(value));
    case "undefined":
      return undefined;
    case "function":
      state.budget -= 12;
      return "[Function]";
    case "symbol":
      state.budget -= 12;
      return "[Symbol]";
  }
  if (value === null) {
    state.budget -= 4;
    return null;
  }
  const object = value as object;
  state.budget -= 2;
  if (state.ancestors.has(object)) return "[Circular]";
  try {
    return copyObject(object, path, depth, state);
  } catch {
    // a revoked Proxy throws even on instanceof and Array.isArray
    return "[Unreadable]";
  }
}

function copyObject(object: object, path: string[], depth: number, state: CopyState): unknown {
  const { limits, scrubber } = state;
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "[Invalid Date]" : object.toISOString();
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  if (object instanceof ArrayBuffer) return `[ArrayBuffer ${object.byteLength} bytes]`;
  if (object instanceof Map || object instanceof Set) return `[${object.constructor.name}(${object.size})]`;
  if (object instanceof Error) {
    const error: Record<string, unknown> = { name: object.name, message: boundedString(String(object.message), scrubber, limits.maxStringLength) };
    const code = (object as { code?: unknown }).code;
    if (typeof code === "number" || typeof code === "string") error.code = code;
    return error;
  }
  if (depth >= limits.maxDepth) return Array.isArray(object) ? `[Array(${object.length})]` : "[Object]";

  state.ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const out: unknown[] = [];
      const n = Math.min(object.length, limits.maxItems);
      let i = 0;
      for (; i < n && state.budget > 0; i++) {
        let item: unknown;
        try {
          item = object[i];
        } catch {
          item = "[Unreadable]";
        }
        const itemPath = [...path, String(i)];
        out.push(redactedHere(itemPath, String(i), state) ? REDACTED : (copy(item, itemPath, depth + 1, state) ?? null));
      }
      if (i < object.length) out.push(`[+${object.length - i} more]`);
      return out;
    }
    let keys: string[];
    try {
      keys = Object.keys(object);
    } catch {
      return "[Unreadable]";
    }
    const out: Record<string, unknown> = {};
    const n = Math.min(keys.length, limits.maxItems);
    let i = 0;
    for (; i < n && state.budget > 0; i++) {
      const key = keys[i]!;
      const shownKey = boundedString(key, scrubber, limits.maxStringLength);
      state.budget -= shownKey.length + 3;
      const childPath = [...path, key];
      if (redactedHere(childPath, key, state)) {
        out[shownKey] = REDACTED;
        continue;
      }
      let child: unknown;
      try {
        child = (object as Record<string, unknown>)[key];
      } catch {
        child = "[Unreadable]";
      }
      const copied = copy(child, childPath, depth + 1, state);
      if (copied !== undefined) out[shownKey] = copied;
    }
    if (i < keys.length) out["…"] = state.budget > 0 ? `[+${keys.length - i} more keys]` : `${TRUNCATED} [+${keys.length - i} keys]`;
    return out;
  } finally {
    state.ancestors.delete(object);
  }
}

function redactedHere(path: readonly string[], key: string, state: CopyState): boolean {
  const rules = state.scrubber.rules;
  return rules.sensitiveKey(key) || rules.sensitivePath(path);
}

/**
 * The approximate size in bytes of `value` serialized as JSON (string escapes aside), computed
 * without serializing: iterative, so any depth is fine. Past the first few hundred values an object
 * seen before is counted once (so a cycle ends); before that none is remembered, which keeps the
 * common small payload cheap. Stops after `maxNodes` values (the result is then a lower bound).
 */
export function jsonSize(value: unknown, maxNodes = 1_000_000): number {
  const scalar = scalarSize(value);
  if (scalar !== undefined) return scalar;
  let size = 0;
  let nodes = 0;
  // Only objects and arrays are stacked, scalars counted where they are found: a small payload
  // then never grows the stack.
  const stack: object[] = [value as object];
  let seen: WeakSet<object> | undefined;
  while (stack.length > 0 && nodes < maxNodes) {
    const object = stack.pop()!;
    nodes++;
    if (nodes > 256) {
      seen ??= new WeakSet();
      if (seen.has(object)) {
        size += 12;
        continue;
      }
      seen.add(object);
    }
    try {
      if (ArrayBuffer.isView(object)) {
        size += object.byteLength * 2;
        continue;
      }
      if (Array.isArray(object)) {
        size += 2 + Math.max(0, object.length - 1);
        const room = Math.min(object.length, maxNodes - nodes);
        for (let i = 0; i < room; i++) {
          const child = scalarSize(object[i]);
          if (child === undefined) stack.push(object[i] as object);
          else {
            size += child;
            nodes++;
          }
        }
        continue;
      }
      // Keys walked in place (no array of them made): JSON's own enumerable ones.
      let count = 0;
      for (const key in object) {
        if (!Object.hasOwn(object, key)) continue;
        count++;
        if (nodes + stack.length >= maxNodes) continue;
        const value = (object as Record<string, unknown>)[key];
        const child = scalarSize(value);
        size += utf8Length(key) + 3 + (child ?? 0);
        if (child === undefined) stack.push(value as object);
        else nodes++;
      }
      size += 2 + Math.max(0, count - 1);
    } catch {
      // a throwing getter or Proxy: count what was read
    }
  }
  return size;
}

/** A scalar's JSON size (what JSON leaves out counts 0); undefined for an object or an array. */
function scalarSize(value: unknown): number | undefined {
  switch (typeof value) {
    case "string":
      return utf8Length(value) + 2;
    case "number":
      return Number.isFinite(value) ? String(value).length : 4;
    case "boolean":
      return value ? 4 : 5;
    case "bigint":
      return String(value).length;
    case "object":
      return value === null ? 4 : undefined;
    default:
      return 0;
  }
}

/** UTF-8 length of a string: counted here for short strings (a native call costs more than the loop). */
function utf8Length(text: string): number {
  if (text.length > 64) return Buffer.byteLength(text, "utf8");
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

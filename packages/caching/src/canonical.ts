import { createHash } from "node:crypto";

/** Bounds on what is hashed into a key: a request beyond them is not cached (bypass:key-too-large). */
export interface KeyLimits {
  /** Nesting depth of the arguments. Default 32. */
  maxDepth: number;
  /** Length of their canonical JSON. Default 64 KiB. */
  maxBytes: number;
}

export const KEY_LIMITS: KeyLimits = { maxDepth: 32, maxBytes: 64 * 1024 };

/**
 * Canonical JSON of a JSON value: object keys in code-unit order, `undefined` members left out, as
 * `JSON.stringify` would. Two argument objects that differ only in key order give the same text.
 * Undefined when the value is deeper or longer than the limits, or holds something JSON cannot
 * (a bigint, a cycle).
 */
export function canonical(value: unknown, limits: KeyLimits = KEY_LIMITS): string | undefined {
  const parts: string[] = [];
  let length = 0;
  const push = (text: string): boolean => {
    length += text.length;
    parts.push(text);
    return length <= limits.maxBytes;
  };
  const walk = (node: unknown, depth: number): boolean => {
    if (depth > limits.maxDepth) return false;
    if (node === null || typeof node !== "object") {
      if (typeof node === "bigint") return false;
      // Functions, symbols and undefined in arrays become null, as in JSON.
      const text = JSON.stringify(node) as string | undefined;
      return push(text ?? "null");
    }
    if (Array.isArray(node)) {
      if (!push("[")) return false;
      for (let i = 0; i < node.length; i++) {
        if ((i > 0 && !push(",")) || !walk(node[i], depth + 1)) return false;
      }
      return push("]");
    }
    if (!push("{")) return false;
    let first = true;
    for (const key of Object.keys(node).sort()) {
      const member = (node as Record<string, unknown>)[key];
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      if ((!first && !push(",")) || !push(`${JSON.stringify(key)}:`) || !walk(member, depth + 1)) return false;
      first = false;
    }
    return push("}");
  };
  return walk(value, 0) ? parts.join("") : undefined;
}

/** SHA-256 of the parts (unambiguous: JSON of the array), base64url: a bounded, opaque key. */
export function digest(parts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}

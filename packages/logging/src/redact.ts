/**
 * Redaction: what must never reach a log line, a span or a health report.
 *
 * Three rules, applied together:
 * - keys: a value under a sensitive key (`authorization`, `cookie`, `password`, `apiKey`, ...) at
 *   any depth is replaced by `[REDACTED]`;
 * - paths: values at the paths named in the options (`arguments.password`, `result.structuredContent.token`)
 *   are replaced the same way;
 * - values: every secret found by the two rules above (and the caller's bearer token) is also
 *   scrubbed from every other string of the same entry, so a tool that echoes a secret, an error
 *   message that quotes it, or a `_meta` that carries it cannot leak it. Patterns (bearer and basic
 *   credentials, JWTs, credentials in URLs and query strings) are scrubbed from every string.
 */

import { REDACTED, isSensitiveKey, scrubCredentials } from "@fastmcp-proxy/core";

export { REDACTED };

export interface RedactOptions {
  /**
   * Paths whose values are redacted. The first segment names the root: `params`, `result` or
   * `error` (the error's `data`); any other first segment is relative to `params`, so
   * `arguments.password` means `params.arguments.password`. `*` matches any one segment
   * (an object key or an array index): `arguments.users.*.token`.
   */
  paths?: readonly string[];
  /** More sensitive keys, redacted at any depth: a string (compared case- and punctuation-insensitively) or a RegExp tested on the raw key. */
  keys?: readonly (string | RegExp)[];
  /** More patterns scrubbed from every string; each match is replaced by `[REDACTED]`. Use the `g` flag. */
  patterns?: readonly RegExp[];
  /** Secret values shorter than this are redacted where found but not scrubbed from other strings. Default 4. */
  minSecretLength?: number;
}

/** Splits a header value into the secrets it carries: the whole value, a scheme's credentials, each cookie value. */
function secretParts(key: string, value: string): string[] {
  const parts = [value];
  const scheme = /^\s*[A-Za-z-]+\s+(\S+)\s*$/.exec(value);
  if (scheme?.[1]) parts.push(scheme[1]);
  if (/cookie/i.test(key)) {
    for (const pair of value.split(/[;,]/)) {
      const eq = pair.indexOf("=");
      if (eq >= 0) parts.push(pair.slice(eq + 1).trim());
    }
  }
  return parts;
}

function normaliseKey(key: string): string {
  // "example.com/token" → "token": a namespaced _meta key is judged by its last segment.
  const last = key.split(/[/.:]/).pop() ?? key;
  return last.toLowerCase().replace(/[-_\s]/g, "");
}

/** Compiled redaction rules, shared by every request of one middleware. */
export class Redaction {
  readonly #paths: string[][];
  readonly #extraKeys: Set<string>;
  readonly #keyPatterns: RegExp[];
  readonly #patterns: [RegExp, string][];
  readonly minSecretLength: number;

  constructor(options: RedactOptions = {}) {
    this.#paths = (options.paths ?? []).map((path) => {
      const segments = path.split(".").filter((s) => s.length > 0);
      return segments[0] === "params" || segments[0] === "result" || segments[0] === "error" ? segments : ["params", ...segments];
    });
    this.#extraKeys = new Set((options.keys ?? []).filter((k): k is string => typeof k === "string").map(normaliseKey));
    this.#keyPatterns = (options.keys ?? []).filter((k): k is RegExp => k instanceof RegExp);
    this.#patterns = (options.patterns ?? []).map((p): [RegExp, string] => [p, REDACTED]);
    this.minSecretLength = options.minSecretLength ?? 4;
  }

  /** Whether a key names a secret wherever it appears. */
  sensitiveKey(key: string): boolean {
    if (isSensitiveKey(key) || this.#extraKeys.has(normaliseKey(key))) return true;
    return this.#keyPatterns.some((pattern) => pattern.test(key));
  }

  /** Whether a path (root first: `params`, `arguments`, `password`) is one the options name. */
  sensitivePath(path: readonly string[]): boolean {
    return this.#paths.some((rule) => rule.length === path.length && rule.every((segment, i) => segment === "*" || segment === path[i]));
  }

  /** A scrubber for one log entry, to which the entry's secrets are added before anything is written. */
  scrubber(): Scrubber {
    return new Scrubber(this);
  }

  /** Replaces every known credential shape (core's `scrubCredentials`), and the options' patterns, in a string. */
  scrubPatterns(text: string): string {
    let out = scrubCredentials(text);
    for (const [pattern, replacement] of this.#patterns) {
      pattern.lastIndex = 0;
      out = out.replace(pattern, replacement);
    }
    return out;
  }
}

/** Bounds on the secret-collecting walk: secrets are looked for deeper than values are shown. */
const COLLECT_MAX_DEPTH = 64;
const COLLECT_MAX_NODES = 20_000;

/** The secrets of one entry, and the function that removes them from any string. */
export class Scrubber {
  readonly rules: Redaction;
  readonly #secrets = new Set<string>();
  #sorted: string[] | undefined;

  constructor(rules: Redaction) {
    this.rules = rules;
  }

  /** Remembers a secret value (and the parts of it that travel on their own) so it is scrubbed everywhere. */
  addSecret(value: unknown, key = ""): void {
    if (typeof value === "number" || typeof value === "bigint") value = String(value);
    if (typeof value !== "string") return;
    for (const part of secretParts(key, value)) {
      if (part.length >= this.rules.minSecretLength) this.#secrets.add(part);
    }
    this.#sorted = undefined;
  }

  /** Adds every string under `value` as a secret (a redacted object's leaves). */
  addAll(value: unknown, key = ""): void {
    let nodes = 0;
    const stack: [unknown, string, number][] = [[value, key, 0]];
    const seen = new WeakSet<object>();
    while (stack.length > 0 && nodes++ < COLLECT_MAX_NODES) {
      const [v, k, depth] = stack.pop()!;
      if (v === null || typeof v !== "object") {
        this.addSecret(v, k);
        continue;
      }
      if (seen.has(v) || depth >= COLLECT_MAX_DEPTH) continue;
      seen.add(v);
      for (const [childKey, child] of safeEntries(v, COLLECT_MAX_NODES)) stack.push([child, childKey, depth + 1]);
    }
  }

  /**
   * Walks `value` (rooted at `root`, e.g. ["params"]) and remembers every value that a key or
   * path rule will redact, so its copies elsewhere are scrubbed too.
   */
  collect(value: unknown, root: readonly string[]): void {
    let nodes = 0;
    const stack: [unknown, string[]][] = [[value, [...root]]];
    const seen = new WeakSet<object>();
    while (stack.length > 0 && nodes++ < COLLECT_MAX_NODES) {
      const [v, path] = stack.pop()!;
      if (v === null || typeof v !== "object" || seen.has(v) || path.length > COLLECT_MAX_DEPTH) continue;
      seen.add(v);
      for (const [key, child] of safeEntries(v, COLLECT_MAX_NODES)) {
        const childPath = [...path, key];
        if (this.rules.sensitiveKey(key) || this.rules.sensitivePath(childPath)) this.addAll(child, key);
        else if (child !== null && typeof child === "object") stack.push([child, childPath]);
        else if (typeof child === "string" && child.length >= this.rules.minSecretLength) this.#collectFromPatterns(child);
      }
    }
  }

  /** A bearer credential in a plain string (`"Bearer abc"` in an argument) is a secret on its own too. */
  #collectFromPatterns(text: string): void {
    for (const match of text.matchAll(/\b(?:Bearer|Basic)\s+([A-Za-z0-9\-._~+/]+=*)/gi)) this.addSecret(match[1]);
  }

  get size(): number {
    return this.#secrets.size;
  }

  /** Length of the longest known secret. */
  get longest(): number {
    let longest = 0;
    for (const secret of this.#secrets) longest = Math.max(longest, secret.length);
    return longest;
  }

  /** Removes every known secret and pattern from a string. */
  scrub(text: string): string {
    let out = text;
    if (this.#secrets.size > 0) {
      this.#sorted ??= [...this.#secrets].sort((a, b) => b.length - a.length);
      for (const secret of this.#sorted) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return this.rules.scrubPatterns(out);
  }
}

/**
 * Own enumerable entries of an object or array, at most `limit` of them; never throws (a hostile
 * getter yields "[Unreadable]", a hostile Proxy nothing).
 */
export function safeEntries(value: object, limit = Number.POSITIVE_INFINITY): [string, unknown][] {
  const entries: [string, unknown][] = [];
  const read = (key: string) => {
    try {
      entries.push([key, (value as Record<string, unknown>)[key]]);
    } catch {
      entries.push([key, "[Unreadable]"]);
    }
  };
  try {
    if (Array.isArray(value)) {
      const n = Math.min(value.length, limit);
      for (let i = 0; i < n; i++) read(String(i));
      return entries;
    }
    const keys = Object.keys(value);
    const n = Math.min(keys.length, limit);
    for (let i = 0; i < n; i++) read(keys[i]!);
  } catch {
    // a Proxy whose ownKeys trap throws: nothing readable
  }
  return entries;
}

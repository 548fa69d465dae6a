import type { Verified } from "./principal.js";

interface Entry {
  verified: Verified;
  until: number;
}

/**
 * Verified tokens by token hash, least recently used dropped first. An entry lives until the
 * token expires and at most `ttlMs`, so a jwtVerify (~150 µs) runs once per token per minute.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly maxEntries = 10_000,
    readonly ttlMs = 60_000,
  ) {}

  get(hash: string, now = Date.now()): Verified | undefined {
    const entry = this.#entries.get(hash);
    if (!entry) return undefined;
    this.#entries.delete(hash);
    if (entry.until <= now) return undefined;
    this.#entries.set(hash, entry);
    return entry.verified;
  }

  set(hash: string, verified: Verified, now = Date.now()): void {
    const until = Math.min(now + (verified.cacheTtlMs ?? this.ttlMs), now + this.ttlMs, verified.expiresAt === undefined ? Infinity : verified.expiresAt * 1000);
    if (until <= now || this.maxEntries <= 0) return;
    this.#entries.delete(hash);
    this.#entries.set(hash, { verified, until });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }
}

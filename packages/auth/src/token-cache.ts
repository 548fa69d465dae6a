import { RecentMap } from "./recent.js";

interface Entry<V> {
  value: V;
  until: number;
}

/**
 * Verified tokens by token hash, the least recently used dropped first (`RecentMap`). An entry lives
 * until the token expires and at most `ttlMs`, so a jwtVerify (~150 µs) runs once per token per minute.
 */
export class TokenCache<V> {
  readonly #entries: RecentMap<string, Entry<V>>;

  constructor(
    readonly maxEntries = 10_000,
    readonly ttlMs = 60_000,
  ) {
    this.#entries = new RecentMap(maxEntries);
  }

  get(hash: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(hash);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.#entries.delete(hash);
    return undefined;
  }

  /** `expiresAt`: the token's expiry (s since the epoch); `ttlMs`: a shorter reuse for this entry. */
  set(hash: string, value: V, expiresAt: number | undefined, ttlMs = this.ttlMs, now = Date.now()): void {
    const until = Math.min(now + Math.min(ttlMs, this.ttlMs), expiresAt === undefined ? Infinity : expiresAt * 1000);
    if (until > now) this.#entries.set(hash, { value, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}

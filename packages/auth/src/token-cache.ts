interface Entry<V> {
  value: V;
  until: number;
}

/**
 * Verified tokens by token hash, least recently used dropped first. An entry lives until the
 * token expires and at most `ttlMs`, so a jwtVerify (~150 µs) runs once per token per minute.
 */
export class TokenCache<V> {
  readonly #entries = new Map<string, Entry<V>>();

  constructor(
    readonly maxEntries = 10_000,
    readonly ttlMs = 60_000,
  ) {}

  get(hash: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(hash);
    if (!entry) return undefined;
    this.#entries.delete(hash);
    if (entry.until <= now) return undefined;
    this.#entries.set(hash, entry);
    return entry.value;
  }

  /** `expiresAt`: the token's expiry (s since the epoch); `ttlMs`: a shorter reuse for this entry. */
  set(hash: string, value: V, expiresAt: number | undefined, ttlMs = this.ttlMs, now = Date.now()): void {
    const until = Math.min(now + Math.min(ttlMs, this.ttlMs), expiresAt === undefined ? Infinity : expiresAt * 1000);
    if (until <= now || this.maxEntries <= 0) return;
    this.#entries.delete(hash);
    this.#entries.set(hash, { value, until });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }
}

import { randomBytes } from "node:crypto";
import { StoreUnavailable, type Breaker } from "./breaker.js";
import type { CacheStore } from "./store.js";

/**
 * Generation stamps, kept in the store so every replica sharing it reads the same ones. A stamp
 * is a random token: bumping it (invalidation) makes every entry stored under the old one a miss;
 * a missing stamp is created (set only if still absent), so a lost or expired stamp can only turn
 * entries into misses, never revive one.
 */
export class Generations {
  /** Bumps not yet in the store: retried in the background, and waited for before any lookup, so this replica never serves what it was told is stale. */
  readonly #pending = new Map<string, Promise<void> | undefined>();
  #retry: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #closed = false;

  constructor(
    readonly store: CacheStore,
    readonly breaker: Breaker,
    /** Bumps are writes: they go through the writes' breaker. */
    readonly writes: Breaker,
    readonly ttlMs: number,
  ) {}

  /** The stamps for `keys`, given the values just read for them (undefined where missing). */
  async complete(keys: readonly string[], values: readonly (string | undefined)[]): Promise<string[]> {
    const missing = keys.flatMap((key, i) => (values[i] === undefined ? [[key, token()] as const] : []));
    if (missing.length === 0) return values as string[];
    const held = await this.breaker.run(() => this.store.add(missing, this.ttlMs));
    const created = new Map(missing.map(([key], i) => [key, held[i]!]));
    return keys.map((key, i) => values[i] ?? created.get(key)!);
  }

  /**
   * Gives the stamp a new token. Rejects if the store could not take it; it is then retried in the
   * background until it lands (other replicas serve the old entries until then), and before any
   * lookup here.
   */
  bump(key: string): Promise<void> {
    const write = this.writes.run(() => this.store.set(key, token(), this.ttlMs));
    const attempt: Promise<void> = write.then(
      () => {
        if (this.#pending.get(key) === attempt) this.#pending.delete(key);
        if (this.#pending.size === 0) this.#retryMs = FIRST_RETRY_MS;
      },
      () => {
        if (this.#pending.get(key) !== attempt) return;
        this.#pending.set(key, undefined);
        this.#retrySoon();
      },
    );
    this.#pending.set(key, attempt);
    return write;
  }

  #retrySoon(): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      for (const [key, attempt] of this.#pending) if (attempt === undefined) this.bump(key).catch(() => {});
    }, this.#retryMs);
    this.#retry.unref?.();
    this.#retryMs = Math.min(2 * this.#retryMs, MAX_RETRY_MS);
  }

  /**
   * Stamps in use live on: each entry stored under them extends them, so stamps expire only when
   * nothing has been stored under them for their whole TTL (when every entry of theirs is gone too).
   */
  refresh(keys: readonly string[]): Promise<void> {
    return this.writes.run(() => this.store.touch?.(keys, this.ttlMs) ?? Promise.resolve());
  }

  /** Stops retrying (the cache is closing). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  /** Resolves once no bump is outstanding; rejects (so the lookup bypasses) while one cannot reach the store. */
  async settled(): Promise<void> {
    if (this.#pending.size === 0) return;
    await Promise.all([...this.#pending].map(([key, attempt]) => attempt ?? this.bump(key)));
    if (this.#pending.size > 0) throw new StoreUnavailable("error", new Error("an invalidation is not in the store yet"));
  }
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

function token(): string {
  return randomBytes(9).toString("base64url");
}

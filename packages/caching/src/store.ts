/**
 * Where entries and generation stamps live. Values are strings (entries are stored serialized).
 * Every implementation passes the same contract suite (store-contract.ts). Failures reject; the
 * cache puts a timeout and a breaker around every call (guarded-store.ts) and bypasses on failure.
 */
export interface CacheStore {
  /** "memory", "redis", ...: for logs and stats. */
  readonly kind: string;
  /** The value of each key, undefined where it is missing or expired. */
  get(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Stores a value for `ttlMs` milliseconds (replacing any). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets each absent key to its value, for `ttlMs`; returns the value each key holds afterwards. */
  add(entries: readonly (readonly [key: string, value: string])[], ttlMs: number): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /** Gives each key that exists a new TTL of `ttlMs` (its value unchanged). Optional: without it, stamps in use still expire on their own schedule. */
  touch?(keys: readonly string[], ttlMs: number): Promise<void>;
  /** Resolves once the store can answer (a Redis connection is up). Optional. */
  ready?(): Promise<void>;
  /** Entries, approximate bytes, and evictions for lack of room, where the store knows them. */
  stats?(): StoreStats;
  close(): Promise<void>;
}

export interface StoreStats {
  entries: number;
  bytes: number;
  evictions: number;
}

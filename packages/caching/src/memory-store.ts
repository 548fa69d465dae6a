import { LRUCache } from "lru-cache";
import { ENTRY_PREFIX } from "./keys.js";
import type { CacheStore, StoreStats } from "./store.js";

export interface MemoryStoreOptions {
  /** At most this many keys (entries and generation stamps). Default 10,000. */
  maxEntries?: number;
  /** At most about this many bytes of keys and values (UTF-8). Default 64 MiB. */
  maxBytes?: number;
}

/** The default store: an in-process LRU bounded by entries and bytes. Not shared between replicas. */
export function memoryStore(options: MemoryStoreOptions = {}): CacheStore {
  return new MemoryStore(options);
}

class MemoryStore implements CacheStore {
  readonly kind = "memory";
  #evictions = 0;
  readonly #lru: LRUCache<string, string>;

  constructor(options: MemoryStoreOptions) {
    this.#lru = new LRUCache<string, string>({
      max: positive(options.maxEntries ?? 10_000, "maxEntries"),
      maxSize: positive(options.maxBytes ?? 64 * 1024 * 1024, "maxBytes"),
      sizeCalculation: (value, key) => Buffer.byteLength(value) + Buffer.byteLength(key),
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.#evictions++;
      },
    });
  }

  async get(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((key) => this.#lru.get(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#lru.set(key, value, { ttl: Math.max(1, ttlMs) });
  }

  async add(entries: readonly (readonly [string, string])[], ttlMs: number): Promise<string[]> {
    return entries.map(([key, value]) => {
      const held = this.#lru.get(key);
      if (held !== undefined) return held;
      this.#lru.set(key, value, { ttl: Math.max(1, ttlMs) });
      return value;
    });
  }

  async touch(keys: readonly string[], ttlMs: number): Promise<void> {
    for (const key of keys) {
      const value = this.#lru.get(key);
      if (value !== undefined) this.#lru.set(key, value, { ttl: Math.max(1, ttlMs) });
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#lru.delete(key);
  }

  /** Entries are the cache's entries only, not its generation stamps; bytes count both. */
  stats(): StoreStats {
    let entries = 0;
    for (const key of this.#lru.keys()) if (key.startsWith(ENTRY_PREFIX)) entries++;
    return { entries, bytes: this.#lru.calculatedSize, evictions: this.#evictions };
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`memoryStore: ${name} must be a positive integer, got ${value}`);
  return value;
}

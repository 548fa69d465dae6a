import { createRequire } from "node:module";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { ENTRY_PREFIX } from "./keys.js";
import type { CacheStore, StoreStats } from "./store.js";

export interface RedisStoreOptions {
  /** `redis://host:port/db`. Ignored when `client` is given. */
  url?: string;
  /** An ioredis client of your own, or a `Cluster` (its options are yours; `close()` leaves it open). */
  client?: Redis | Cluster;
  /** Prefix of every key, so several proxies or apps can share one Redis. Default "fastmcp-proxy:cache:". */
  prefix?: string;
  /** Per-command timeout of the client this store creates, in ms. Default 200. */
  commandTimeoutMs?: number;
}

export const DEFAULT_PREFIX = "fastmcp-proxy:cache:";
const COUNT_EVERY_MS = 10_000;

/**
 * A store in Redis, shared by every replica that uses the same URL and prefix. The client it
 * creates fails commands at once while disconnected (no offline queue, no retries per command)
 * and times each out, so a Redis that is down costs a request a few milliseconds, never a hang.
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}

export class RedisStore implements CacheStore {
  readonly kind = "redis";
  readonly client: Redis | Cluster;
  readonly #prefix: string;
  readonly #owned: boolean;
  #figures: StoreStats = { entries: 0, bytes: 0, evictions: 0 };
  #counting: Promise<void> | undefined;
  #countedAt = 0;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#owned = options.client === undefined;
    if (options.client) this.client = options.client;
    else {
      if (!options.url) throw new TypeError("redisStore: give a url or a client");
      this.client = openClient(options.url, options.commandTimeoutMs ?? 200);
      // Errors reach the callers as rejections; the event would otherwise be logged by ioredis.
      this.client.on("error", () => {});
    }
  }

  // One key per command, never a multi-key one: keys of one lookup are in different hash slots of a
  // Redis Cluster. Commands issued together still go in one round trip (auto-pipelining).
  async get(keys: readonly string[]): Promise<(string | undefined)[]> {
    const values = await Promise.all(keys.map((key) => this.client.get(this.#prefix + key)));
    return values.map((v) => v ?? undefined);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.#prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async add(entries: readonly (readonly [string, string])[], ttlMs: number): Promise<string[]> {
    const ms = Math.max(1, Math.ceil(ttlMs));
    // SET NX GET (Redis ≥ 7.0): one command per key, and the answer says who won.
    const held = await Promise.all(entries.map(([key, value]) => this.client.set(this.#prefix + key, value, "PX", ms, "NX", "GET")));
    return entries.map(([, value], i) => held[i] ?? value);
  }

  async touch(keys: readonly string[], ttlMs: number): Promise<void> {
    const ms = Math.max(1, Math.ceil(ttlMs));
    await Promise.all(keys.map((key) => this.client.pexpire(this.#prefix + key, ms)));
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.client.del(this.#prefix + key)));
  }

  ready(): Promise<void> {
    return whenReady(this.client);
  }

  /**
   * The figures of the last count (SCAN over this prefix's entries, their value bytes, and Redis's
   * own `evicted_keys`), starting a new count in the background when that one is older than 10 s.
   */
  stats(): StoreStats {
    if (this.#counting === undefined && Date.now() - this.#countedAt >= COUNT_EVERY_MS) {
      this.#counting = this.#count()
        .catch(() => {})
        .finally(() => {
          this.#counting = undefined;
          this.#countedAt = Date.now();
        });
    }
    return { ...this.#figures };
  }

  async #count(): Promise<void> {
    const match = `${this.#prefix.replace(/[*?[\]\\]/g, "\\$&")}${ENTRY_PREFIX}*`;
    let [cursor, entries, bytes] = ["0", 0, 0];
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.client.pipeline();
      for (const key of keys) pipeline.strlen(key);
      for (const [i, [error, length]] of ((await pipeline.exec()) ?? []).entries()) {
        if (error || typeof length !== "number" || length === 0) continue;
        entries++;
        bytes += length + Buffer.byteLength(keys[i]!);
      }
    } while (cursor !== "0");
    const evicted = /evicted_keys:(\d+)/.exec(await this.client.info("stats"))?.[1];
    this.#figures = { entries, bytes, evictions: Number(evicted ?? 0) };
  }

  async close(): Promise<void> {
    if (this.#owned) await closeClient(this.client);
  }
}

export function clientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    // Keep reconnecting, at most every 2 s, so a Redis that comes back is used again.
    retryStrategy: (times) => Math.min(50 * times, 2000),
  };
}

/**
 * A new ioredis client. ioredis is loaded on first use, not with the package: a proxy that caches in
 * memory (or not at all) never pays its ~120 ms load.
 */
export function openClient(url: string, commandTimeoutMs: number): Redis {
  const { Redis: Client } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  return new Client(url, clientOptions(commandTimeoutMs));
}

/** Ends a connection this package opened: quit, or disconnect when quit fails. */
export async function closeClient(client: Redis | Cluster): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** Resolves once the client is connected; rejects if it gives up for good. */
export function whenReady(client: Redis | Cluster): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ready = () => {
      client.off("end", ended);
      resolve();
    };
    const ended = () => {
      client.off("ready", ready);
      reject(new Error("redis connection ended"));
    };
    client.once("ready", ready);
    client.once("end", ended);
  });
}

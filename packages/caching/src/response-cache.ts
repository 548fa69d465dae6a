import type { ProxyContext } from "@fastmcp-proxy/core";
import { Breaker, StoreUnavailable, type BreakerState } from "./breaker.js";
import { decodeEntry, encodeEntry } from "./entry.js";
import { Generations } from "./generations.js";
import { ALL, backendGeneration, componentGeneration, entryKey, generationKeys, kindGeneration, type ComponentKind } from "./keys.js";
import { memoryStore } from "./memory-store.js";
import { DEFAULT_MAX_ITEM_BYTES, type CachingOptions } from "./options.js";
import type { BypassReason, Cacheable } from "./policy.js";
import { SingleFlight } from "./single-flight.js";
import { Counters, type CacheOutcome, type CacheStats } from "./stats.js";
import type { CacheStore } from "./store.js";

/** What `invalidate` drops: everything, one backend's entries, one kind of them, or one component (a tool or prompt by the backend's name, a resource by the backend's URI). */
export interface InvalidateScope {
  backend?: string;
  kind?: ComponentKind;
  name?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MISS = Symbol("miss");

/** The stored result, when the miss produced one worth keeping, and its JSON for the waiters. */
interface Produced {
  readonly result: unknown;
  readonly json: string;
}

/**
 * The cache's engine: lookups checked against generation stamps, misses sent on (once for
 * identical concurrent ones) and stored, invalidation by bumping stamps in the store itself so
 * every replica sharing it sees it. Every store call goes through the breaker; a store failure
 * sends the request on uncached and never fails it.
 */
export class ResponseCache {
  readonly store: CacheStore;
  readonly counters = new Counters();
  readonly #breaker: Breaker;
  /** Writes fail on their own (a Redis at maxmemory with noeviction still reads): their own breaker. */
  readonly #writes: Breaker;
  readonly #flights = new SingleFlight();
  readonly #now: () => number;
  readonly #maxItemBytes: number;
  readonly #coalesce: boolean;
  readonly #waitTimeoutMs: number | undefined;
  readonly #generations: Generations;

  constructor(options: CachingOptions, maxTtlMs: number, onBreaker: (state: BreakerState, calls: "reads" | "writes") => void = () => {}) {
    this.store = options.store ?? memoryStore();
    this.#breaker = new Breaker(options.storeTimeoutMs ?? 100, options.breaker, (state) => onBreaker(state, "reads"));
    this.#writes = new Breaker(options.storeTimeoutMs ?? 100, options.breaker, (state) => onBreaker(state, "writes"));
    this.#now = options.now ?? Date.now;
    this.#maxItemBytes = options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    this.#coalesce = options.coalesce !== false;
    this.#waitTimeoutMs = options.waitTimeoutMs;
    this.#generations = new Generations(this.store, this.#breaker, this.#writes, Math.max(DAY_MS, 2 * maxTtlMs));
  }

  get breaker(): Breaker {
    return this.#breaker;
  }

  get inFlight(): number {
    return this.#flights.size;
  }

  /** Answers a cacheable request: from the store, from an identical call in flight, or from `next()` (then stored). */
  async answer(ctx: ProxyContext, next: () => Promise<unknown>, c: Cacheable): Promise<unknown> {
    const key = entryKey(c.target, c.partition, c.args);
    const genKeys = generationKeys(c.target);
    let generations: string;
    let entryText: string | undefined;
    try {
      await this.#generations.settled();
      const values = await this.#breaker.run(() => this.store.get([key, ...genKeys]));
      entryText = values[0];
      generations = (await this.#generations.complete(genKeys, values.slice(1))).join(" ");
    } catch (error) {
      return this.bypass(ctx, next, storeReason(error));
    }
    const stored = this.#read(key, entryText, generations);
    if (stored !== MISS) {
      this.#outcome(ctx, "hit");
      return stored;
    }
    const produce = (signal: AbortSignal | undefined) => this.#produce(ctx, next, c, key, generations, signal);
    if (!this.#coalesce) {
      this.#outcome(ctx, "miss");
      return (await produce(undefined)).result;
    }
    // The shared call is bounded by core's timeout for the leader's request (reset by progress,
    // hard maximum): waiters follow it, with a cap of their own only if the operator sets one.
    const flight = this.#flights.run(`${key} ${generations}`, produce, { signal: ctx.signal, timeoutMs: this.#waitTimeoutMs });
    this.#outcome(ctx, flight.leader ? "miss" : "coalesced");
    const produced = await flight.promise;
    // The leader gets the backend's own object; every other waiter a fresh copy.
    return flight.leader ? produced.result : JSON.parse(produced.json);
  }

  bypass(ctx: ProxyContext, next: () => Promise<unknown>, reason: BypassReason): Promise<unknown> {
    this.#outcome(ctx, `bypass:${reason}`);
    return next();
  }

  /** Drops entries by bumping their generation stamp (in the store, so every replica sees it); rejects if the store could not take it (it is retried in the background until it lands). */
  invalidate(scope: InvalidateScope = {}): Promise<void> {
    const { backend, kind, name } = scope;
    const key =
      backend === undefined ? ALL
      : kind === undefined ? backendGeneration(backend)
      : name === undefined ? kindGeneration(backend, kind)
      : componentGeneration(backend, kind, name);
    return this.#generations.bump(key);
  }

  /** Stops background work (invalidation retries) and closes the store. */
  async close(): Promise<void> {
    this.#generations.close();
    await this.store.close();
  }

  stats(): CacheStats {
    return {
      outcomes: { ...this.counters.outcomes },
      hitRatio: this.counters.hitRatio,
      notStored: { ...this.counters.notStored },
      corrupt: this.counters.corrupt,
      store: this.store.stats?.(),
      breaker: this.#breaker.state,
      breakerOpened: this.#breaker.opened,
      writes: this.#writes.state,
      writesOpened: this.#writes.opened,
    };
  }

  async #produce(ctx: ProxyContext, next: () => Promise<unknown>, c: Cacheable, key: string, generations: string, signal: AbortSignal | undefined): Promise<Produced> {
    let result: unknown;
    if (signal) {
      // The shared call runs on the flight's signal, so one caller cancelling does not cancel it for the rest.
      const own = ctx.signal;
      (ctx as { signal: AbortSignal }).signal = signal;
      try {
        result = await next();
      } finally {
        (ctx as { signal: AbortSignal }).signal = own;
      }
    } else {
      result = await next();
    }
    const json = JSON.stringify(result);
    const ttlMs = this.#storable(result, json, c);
    if (ttlMs > 0) {
      const text = encodeEntry({ expiresAt: this.#now() + ttlMs, generations, json });
      try {
        await this.#writes.run(() => this.store.set(key, text, ttlMs));
      } catch (error) {
        this.counters.skip(error instanceof StoreUnavailable && error.reason === "open" ? "store-open" : "store");
        return { result, json };
      }
      // Not refreshed, a stamp in use only expires sooner (a miss), never serves anything stale.
      await this.#generations.refresh(generationKeys(c.target)).catch(() => {});
    }
    return { result, json };
  }

  /** The TTL to store a result for, or 0 (counted by reason) when it must not be stored. */
  #storable(result: unknown, json: string | undefined, c: Cacheable): number {
    const r = (typeof result === "object" && result !== null ? result : {}) as Record<string, unknown>;
    const skip = (reason: string) => (this.counters.skip(reason), 0);
    if (json === undefined) return skip("not-json");
    if (r.isError === true) return skip("isError");
    if (r.task !== undefined || r.resultType === "input_required") return skip("task");
    if (Buffer.byteLength(json) > this.#maxItemBytes) return skip("too-large");
    let ttlMs = c.ttlMs;
    // Upstream hints (2026-07-28) may shorten the TTL or make an entry private, never public.
    if (typeof r.ttlMs === "number") ttlMs = Math.min(ttlMs, Math.max(0, r.ttlMs));
    if (ttlMs <= 0) return skip("upstream-ttl");
    if (c.partitionMode === "public" && r.cacheScope === "private") return skip("upstream-private");
    return ttlMs;
  }

  /** The stored result when the entry is current, else MISS. A corrupt entry is a miss, and is deleted. */
  #read(key: string, text: string | undefined, generations: string): unknown {
    if (text === undefined) return MISS;
    const entry = decodeEntry(text);
    if (entry !== undefined) {
      if (entry.generations !== generations || entry.expiresAt <= this.#now()) return MISS;
      try {
        const result: unknown = JSON.parse(entry.json);
        if (typeof result === "object" && result !== null) return result;
      } catch {
        // corrupt: dropped below
      }
    }
    this.counters.corrupt++;
    this.#writes.run(() => this.store.delete([key])).catch(() => {});
    return MISS;
  }

  #outcome(ctx: ProxyContext, outcome: CacheOutcome): void {
    ctx.state.cache = outcome;
    this.counters.count(outcome);
  }
}

function storeReason(error: unknown): BypassReason {
  if (error instanceof StoreUnavailable) return error.reason === "open" ? "store-open" : error.reason === "timeout" ? "store-timeout" : "store-error";
  return "store-error";
}

import type { StoreStats } from "./store.js";
import type { BreakerState } from "./breaker.js";

/** How a request met the cache: answered from it, sent on and stored, joined a call in flight, or went past it. */
export type CacheOutcome = "hit" | "miss" | "coalesced" | `bypass:${string}`;

export interface CacheStats {
  /** Requests by outcome ("hit", "miss", "coalesced", "bypass:not-listed", ...). */
  outcomes: Record<string, number>;
  /** (hit + coalesced) / (hit + coalesced + miss): the share of cacheable requests that made no backend call of their own. */
  hitRatio: number;
  /** Misses whose result was not stored, by reason (isError, too-large, task, upstream-ttl, upstream-private, store, store-open). */
  notStored: Record<string, number>;
  /** Stored entries that could not be read (answered as misses, and deleted). */
  corrupt: number;
  /** The store's own figures, when it keeps them (the memory store does). */
  store: StoreStats | undefined;
  breaker: BreakerState;
  /** How many times the breaker has opened. */
  breakerOpened: number;
  /** The breaker of writes (storing entries, invalidations): open while the store refuses them, when nothing is stored. */
  writes: BreakerState;
  writesOpened: number;
}

export class Counters {
  readonly outcomes: Record<string, number> = {};
  readonly notStored: Record<string, number> = {};
  corrupt = 0;

  count(outcome: CacheOutcome): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  skip(reason: string): void {
    this.notStored[reason] = (this.notStored[reason] ?? 0) + 1;
  }

  get hitRatio(): number {
    const { hit = 0, coalesced = 0, miss = 0 } = this.outcomes;
    const lookups = hit + coalesced + miss;
    return lookups === 0 ? 0 : (hit + coalesced) / lookups;
  }
}

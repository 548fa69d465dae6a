export interface BreakerOptions {
  /** Consecutive store failures (errors or timeouts) that open the breaker. Default 3. */
  failures?: number;
  /** How long it stays open before one call may try again, in ms. Default 10,000. */
  cooldownMs?: number;
}

export type BreakerState = "closed" | "open" | "half-open";

/** Why a store call did not answer: the breaker is open, or the call failed or took too long. */
export class StoreUnavailable extends Error {
  constructor(readonly reason: "open" | "error" | "timeout", cause?: unknown) {
    super(`cache store ${reason === "open" ? "breaker is open" : reason === "timeout" ? "timed out" : "failed"}`, { cause });
    this.name = "StoreUnavailable";
  }
}

/**
 * A timeout on every store call, and a breaker: after `failures` in a row the store is not asked
 * for `cooldownMs`; then one call probes it, and a success closes the breaker again.
 */
export class Breaker {
  #state: BreakerState = "closed";
  #failures = 0;
  #openedAt = 0;
  #opened = 0;
  readonly #threshold: number;
  readonly #cooldownMs: number;

  constructor(
    readonly timeoutMs: number,
    options: BreakerOptions = {},
    readonly onChange: (state: BreakerState) => void = () => {},
    readonly now: () => number = Date.now,
  ) {
    this.#threshold = Math.max(1, options.failures ?? 3);
    this.#cooldownMs = Math.max(0, options.cooldownMs ?? 10_000);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** How many times it has opened. */
  get opened(): number {
    return this.#opened;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#state === "open") {
      if (this.now() - this.#openedAt < this.#cooldownMs) throw new StoreUnavailable("open");
      this.#set("half-open");
    } else if (this.#state === "half-open") {
      throw new StoreUnavailable("open"); // one probe at a time
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StoreUnavailable("timeout")), this.timeoutMs);
          timer.unref?.();
        }),
      ]);
      this.#failures = 0;
      if (this.#state !== "closed") this.#set("closed");
      return result;
    } catch (error) {
      this.#failures++;
      const state = this.state; // the getter: what a concurrent probe may have changed
      if (state === "half-open" || this.#failures >= this.#threshold) {
        this.#openedAt = this.now();
        if (state !== "open") {
          this.#opened++;
          this.#set("open");
        }
      }
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable("error", error);
    } finally {
      clearTimeout(timer);
    }
  }

  #set(state: BreakerState): void {
    this.#state = state;
    this.onChange(state);
  }
}

import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, TaskCancelledError, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap, type IPolicy } from "cockatiel";

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

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "open",
};

/**
 * A timeout on every store call, and a breaker (cockatiel's): after `failures` in a row the store
 * is not asked for `cooldownMs`; then one call probes it (calls meanwhile wait for the probe), and
 * a success closes the breaker again.
 */
export class Breaker {
  readonly #circuit;
  readonly #policy: IPolicy;
  #opened = 0;

  constructor(
    readonly timeoutMs: number,
    options: BreakerOptions = {},
    onChange: (state: BreakerState) => void = () => {},
  ) {
    this.#circuit = circuitBreaker(handleAll, {
      halfOpenAfter: Math.max(0, options.cooldownMs ?? 10_000),
      breaker: new ConsecutiveBreaker(Math.max(1, options.failures ?? 3)),
    });
    this.#circuit.onBreak(() => this.#opened++);
    this.#circuit.onStateChange((state) => onChange(STATES[state]));
    // Outside the timeout: a call that takes too long counts as a failure.
    this.#policy = wrap(this.#circuit, timeout(timeoutMs, TimeoutStrategy.Aggressive).dangerouslyUnref());
  }

  get state(): BreakerState {
    return STATES[this.#circuit.state];
  }

  /** How many times it has opened. */
  get opened(): number {
    return this.#opened;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(() => call());
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new StoreUnavailable("open");
      if (error instanceof TaskCancelledError) throw new StoreUnavailable("timeout");
      throw new StoreUnavailable("error", error);
    }
  }
}

import { describe, type Backend } from "./backend.js";
import type { Logger } from "../logger.js";

export interface RestartOptions {
  /** First retry delay; doubles each failure, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 30 s. */
  maxDelayMs?: number;
  /** Consecutive failed restarts after which calls fail fast (the breaker opens). Default 5. */
  breakerThreshold?: number;
}

interface Health {
  failures: number;
  lastError: string;
  timer: NodeJS.Timeout | undefined;
  nextAttemptAt: number;
}

/**
 * Watches each backend's shared session: a lost or unreachable backend is retried with
 * exponential backoff and jitter until it answers again; a crash loop opens a breaker.
 */
export class BackendSupervisor {
  readonly #down = new Map<Backend, Health>();
  readonly #base: number;
  readonly #max: number;
  readonly #threshold: number;
  readonly #logger: Logger;
  readonly #attempt: (backend: Backend) => Promise<void>;
  #stopped = false;

  /** `attempt` reconnects and rediscovers a backend, rejecting if it cannot. */
  constructor(options: RestartOptions, logger: Logger, attempt: (backend: Backend) => Promise<void>) {
    this.#base = options.baseDelayMs ?? 500;
    this.#max = options.maxDelayMs ?? 30_000;
    this.#threshold = options.breakerThreshold ?? 5;
    this.#logger = logger;
    this.#attempt = attempt;
  }

  /** Why a backend is down (its last error), or undefined while it is up. */
  downReason(backend: Backend): string | undefined {
    return this.#down.get(backend)?.lastError;
  }

  get anyDown(): Backend[] {
    return [...this.#down.keys()];
  }

  /** Why calls to this backend fail fast, or undefined while they may still be tried. */
  breakerOpen(backend: Backend): string | undefined {
    const health = this.#down.get(backend);
    if (!health || health.failures < this.#threshold) return undefined;
    const wait = Math.max(0, health.nextAttemptAt - Date.now());
    return `Backend ${describe(backend)} is down (${health.failures} restarts failed; next try in ${Math.ceil(wait / 1000)} s): ${health.lastError}`;
  }

  /** The backend was lost or could not be reached: schedule a restart. */
  lost(backend: Backend, error: string): void {
    if (this.#stopped) return;
    const health = this.#down.get(backend) ?? { failures: 0, lastError: error, timer: undefined, nextAttemptAt: 0 };
    health.lastError = error;
    this.#down.set(backend, health);
    this.#schedule(backend, health);
  }

  /** Stops watching a backend (a reload took it out): a restart it had pending is cancelled. */
  forget(backend: Backend): void {
    clearTimeout(this.#down.get(backend)?.timer);
    this.#down.delete(backend);
  }

  stop(): void {
    this.#stopped = true;
    for (const health of this.#down.values()) clearTimeout(health.timer);
    this.#down.clear();
  }

  #schedule(backend: Backend, health: Health): void {
    clearTimeout(health.timer);
    const delay = Math.min(this.#max, this.#base * 2 ** health.failures) * (0.5 + Math.random() / 2);
    health.nextAttemptAt = Date.now() + delay;
    health.timer = setTimeout(() => void this.#retry(backend, health), delay);
    health.timer.unref();
  }

  async #retry(backend: Backend, health: Health): Promise<void> {
    if (this.#stopped || this.#down.get(backend) !== health) return;
    try {
      await this.#attempt(backend);
      if (this.#down.get(backend) !== health) return; // forgotten meanwhile
      this.#down.delete(backend);
      this.#logger.warn(`backend ${describe(backend)} is back after ${health.failures + 1} attempts`);
    } catch (error) {
      if (this.#stopped || this.#down.get(backend) !== health) return;
      health.failures++;
      health.lastError = error instanceof Error ? error.message : String(error);
      if (health.failures === this.#threshold) this.#logger.error(`backend ${describe(backend)} keeps failing: calls to it now fail fast`);
      this.#schedule(backend, health);
    }
  }
}

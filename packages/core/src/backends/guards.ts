// What keeps a backend from being overrun: a cap on the requests in flight to it, and a breaker for
// a crash loop of its sessions. One of each per backend, whatever the number of clients.
import { ProxyError, ProxyErrorCode } from "../errors.js";
import { InFlightTally } from "../in-flight.js";
import { describe, type Backend } from "./backend.js";

/**
 * The sessions of each backend that crashed lately (closed by themselves, or could not start): past
 * `threshold` within `windowMs`, calls to it fail fast, for `coolMs` after each crash. One watcher
 * per backend, however many clients' sessions (children) crash.
 */
export class CrashLoop {
  readonly #crashes = new Map<Backend, number[]>();
  constructor(
    readonly threshold = 5,
    readonly windowMs = 30_000,
    readonly coolMs = 10_000,
  ) {}

  crashed(backend: Backend, now = Date.now()): void {
    const recent = (this.#crashes.get(backend) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    this.#crashes.set(backend, recent.slice(-this.threshold));
  }

  /** Why calls to `backend` fail fast now, if they do. */
  down(backend: Backend, now = Date.now()): string | undefined {
    const recent = this.#crashes.get(backend);
    if (!recent || recent.length < this.threshold || now - recent[0]! >= this.windowMs) return undefined;
    const wait = recent.at(-1)! + this.coolMs - now;
    if (wait <= 0) return undefined; // cooled off: the next call tries again
    return `Backend ${describe(backend)} is down: its sessions crashed ${recent.length} times in ${Math.round((now - recent[0]!) / 1000)} s; next try in ${Math.ceil(wait / 1000)} s`;
  }
}

/**
 * Requests in flight to one backend: at most `max` from every caller, and `maxPerCaller` of one
 * caller's (`tenant.share`), so no caller's slow calls take the whole backend from the others.
 * Past either a call fails at once (never queued).
 */
export class InFlight {
  #count = 0;
  readonly #byCaller = new InFlightTally<string>();
  constructor(
    readonly max: number,
    readonly maxPerCaller: number,
    readonly backend: Backend,
  ) {}

  /** One more request of `caller` in flight; each `enter(caller)` is followed by one `leave(caller)`. */
  enter(caller: string): void {
    if (this.#count >= this.max) {
      throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Too many requests in flight to backend "${this.backend.name}" (${this.#count}, at most ${this.max}): retry later`);
    }
    const mine = this.#byCaller.of(caller);
    if (mine >= this.maxPerCaller) {
      throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Too many of your requests in flight to backend "${this.backend.name}" (${mine}, at most ${this.maxPerCaller} of one caller's): retry later`);
    }
    this.#count++;
    this.#byCaller.add(caller);
  }

  leave(caller: string): void {
    this.#count--;
    this.#byCaller.remove(caller);
  }
}


import { ProxyError, ProxyErrorCode } from "@fastmcp-proxy/core";

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * How one caller waits: its own cancellation, and optionally a cap of its own. Without one, it
 * waits as long as the call, which core's request timeout bounds (reset by progress, hard maximum).
 */
export interface Waiter {
  readonly signal: AbortSignal;
  readonly timeoutMs?: number | undefined;
}

/**
 * Concurrent identical misses make one backend call. The call runs on its own AbortController,
 * aborted only when every waiter has gone (cancelled or timed out); a waiter may have a cap of its
 * own; a failure reaches every waiter still waiting. Nothing is remembered once it settles.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight<unknown>>();

  get size(): number {
    return this.#flights.size;
  }

  /** Joins the call in flight for `key`, or starts one with `start(signal)`. `leader` says which. */
  run<T>(key: string, start: (signal: AbortSignal) => Promise<T>, waiter: Waiter): { leader: boolean; promise: Promise<T> } {
    let flight = this.#flights.get(key) as Flight<T> | undefined;
    const leader = flight === undefined;
    if (!flight) {
      const controller = new AbortController();
      let promise: Promise<T>;
      try {
        promise = start(controller.signal);
      } catch (error) {
        promise = Promise.reject(error);
      }
      const started: Flight<T> = { promise, controller, waiters: 0 };
      flight = started;
      this.#flights.set(key, started as Flight<unknown>);
      const forget = () => {
        if (this.#flights.get(key) === started) this.#flights.delete(key);
      };
      promise.then(forget, forget);
    }
    return { leader, promise: this.#wait(key, flight, waiter) };
  }

  #wait<T>(key: string, flight: Flight<T>, { signal, timeoutMs }: Waiter): Promise<T> {
    flight.waiters++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      const leave = (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
        // The last waiter gone: nobody wants the answer, so the backend call is cancelled.
        if (--flight.waiters === 0) {
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(new Error("every caller waiting on this request has gone"));
        }
      };
      const onAbort = () => leave(signal.reason ?? new Error("Request cancelled"));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => leave(new ProxyError(ProxyErrorCode.Timeout, `No answer within ${timeoutMs} ms (waiting on an identical request in flight)`)), timeoutMs);
        timer.unref?.();
      }
      flight.promise.then(
        (value) => {
          if (settled) return;
          finish();
          flight.waiters--;
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          finish();
          flight.waiters--;
          reject(error);
        },
      );
    });
  }
}

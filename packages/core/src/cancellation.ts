// A request's cancellation without an AbortSignal until someone asks for one: what a forwarded
// request listens to (the router and forwarder take a `Cancellable`).
import type { Cancellable } from "./tenant.js";

type AbortListener = { handleEvent(): void };

/**
 * A request's cancellation. Its AbortSignal is made only when someone reads `signal` (middleware,
 * a component): a forwarded request listens here without one.
 */
export class Cancellation implements Cancellable {
  aborted = false;
  reason: unknown;
  #signal: AbortSignal | undefined;
  #controller: AbortController | undefined;
  #listeners: AbortListener[] | undefined;

  /** One that aborts with `signal` (a request the SDK Server handed on, with its own). */
  static following(signal: AbortSignal): Cancellation {
    const cancellation = new Cancellation();
    cancellation.#signal = signal;
    if (signal.aborted) cancellation.abort(signal.reason);
    else signal.addEventListener("abort", () => cancellation.abort(signal.reason), { once: true });
    return cancellation;
  }

  get signal(): AbortSignal {
    if (!this.#signal) {
      this.#controller = new AbortController();
      this.#signal = this.#controller.signal;
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    // AbortController's default reason, for whoever reads it.
    this.reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    this.#controller?.abort(this.reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    for (const listener of listeners ?? []) listener.handleEvent();
  }

  addEventListener(_type: "abort", listener: AbortListener): void {
    if (!this.aborted) (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: AbortListener): void {
    const at = this.#listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.#listeners!.splice(at, 1);
  }
}

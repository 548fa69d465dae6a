import { AsyncLocalStorage } from "node:async_hooks";
import type { ServerEvent, ServerEventBus } from "@modelcontextprotocol/server";

type Listener = (event: ServerEvent) => void;

/**
 * The events `subscriptions/listen` streams hear, for the SDK's handler: list changes go to every
 * stream, a resource's update only to the streams of the caller whose subscription it came through.
 * Which caller opened a stream is known from the request being handled when the SDK subscribes it.
 */
export class ListenBus implements ServerEventBus {
  readonly #streams = new Map<Listener, object | undefined>();
  readonly #handling = new AsyncLocalStorage<object>();

  constructor(readonly onerror: (error: Error) => void) {}

  /** Handles one request as `owner`'s: a listen stream it opens is that owner's. */
  as<T>(owner: object, handle: () => T): T {
    return this.#handling.run(owner, handle);
  }

  subscribe(listener: Listener): () => void {
    this.#streams.set(listener, this.#handling.getStore());
    return () => void this.#streams.delete(listener);
  }

  /** To every stream. */
  publish(event: ServerEvent): void {
    for (const listener of [...this.#streams.keys()]) this.#deliver(listener, event);
  }

  /** To `owner`'s streams alone. */
  publishTo(owner: object, event: ServerEvent): void {
    for (const [listener, whose] of [...this.#streams]) if (whose === owner) this.#deliver(listener, event);
  }

  #deliver(listener: Listener, event: ServerEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.onerror(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

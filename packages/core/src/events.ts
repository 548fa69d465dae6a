import type { Backend } from "./backends/backend.js";
import type { ComponentKind } from "./components/registry.js";
import { plainMessage } from "./errors.js";
import type { Logger } from "./logger.js";

/** What happens to backends that packages may act on (a cache invalidates, a metric counts). */
export interface ProxyEvents {
  /**
   * A backend said one of its lists changed, before the mirror is refreshed: what was cached from
   * it may be stale from now on (`listChanged` follows once the mirror is refreshed).
   */
  listStale: { backend: Backend; kind: ComponentKind };
  /** A backend's list changed; the mirror has been refreshed already. */
  listChanged: { backend: Backend; kind: ComponentKind };
  /** A backend said a resource changed; `uri` as clients see it, `backendUri` as the backend does. */
  resourceUpdated: { backend: Backend; uri: string; backendUri: string };
  /** A backend's connection was lost; the proxy is restarting it. */
  backendLost: { backend: Backend; reason: string };
  /** A lost backend is back and mirrored again. */
  backendRestarted: { backend: Backend };
}

export type ProxyEventName = keyof ProxyEvents;
export type ProxyEventListener<E extends ProxyEventName> = (event: ProxyEvents[E]) => void;

/** A small typed emitter: listeners run synchronously; one that throws is logged and the rest still run. */
export class ProxyEventBus {
  readonly #listeners = new Map<ProxyEventName, Set<(event: never) => void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Adds a listener; the function returned removes it. */
  on<E extends ProxyEventName>(event: E, listener: ProxyEventListener<E>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<E extends ProxyEventName>(event: E, payload: ProxyEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as ProxyEventListener<E>)(payload);
      } catch (error) {
        this.#logger.warn(`a ${event} listener failed: ${plainMessage(error)}`);
      }
    }
  }
}

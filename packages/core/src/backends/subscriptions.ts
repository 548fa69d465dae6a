import type { Channel } from "../tenant.js";

/**
 * Who subscribed to which resource through one backend session. A backend's `resources/updated`
 * goes to them alone: never to a client that happens to be waiting on a shared session. The
 * backend's subscription lasts while any of them wants it: one client's unsubscribe (or its session
 * closing) does not end another's.
 */
export class Subscriptions {
  readonly #byUri = new Map<string, Set<Channel>>();

  /** URIs someone is subscribed to. */
  get size(): number {
    return this.#byUri.size;
  }

  /** Adds `who`'s subscription; whether it is new. */
  add(uri: string, who: Channel): boolean {
    const subscribers = this.#byUri.get(uri) ?? new Set();
    if (subscribers.has(who)) return false;
    this.#byUri.set(uri, subscribers.add(who));
    return true;
  }

  /** Removes `who`'s subscription; whether nobody is left subscribed to `uri` (the backend's may end). */
  remove(uri: string, who: Channel): boolean {
    const subscribers = this.#byUri.get(uri);
    subscribers?.delete(who);
    if (subscribers?.size) return false;
    this.#byUri.delete(uri);
    return true;
  }

  /** Who is subscribed to `uri`. */
  of(uri: unknown): Channel[] {
    return typeof uri === "string" ? [...(this.#byUri.get(uri) ?? [])] : [];
  }

  /** Removes all of `who`'s subscriptions; the URIs nobody is subscribed to any more. */
  forget(who: Channel): string[] {
    const ended: string[] = [];
    for (const [uri, subscribers] of this.#byUri) if (subscribers.has(who) && this.remove(uri, who)) ended.push(uri);
    return ended;
  }
}

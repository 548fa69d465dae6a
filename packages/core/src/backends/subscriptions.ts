import { ProxyError } from "../errors.js";
import { WireErrorCode } from "../wire/codes.js";
import type { Channel } from "../tenant.js";

/** What one client may hold on one backend session: the proxy keeps each subscription in memory. */
export const MAX_SUBSCRIPTIONS = 1000;
export const MAX_SUBSCRIBED_URI_CHARS = 1024 * 1024;

/**
 * Who subscribed to which resource through one backend session. A backend's `resources/updated`
 * goes to them alone: never to a client that happens to be waiting on a shared session. The
 * backend's subscription lasts while any of them wants it: one client's unsubscribe (or its session
 * closing) does not end another's.
 */
export class Subscriptions {
  readonly #byUri = new Map<string, Set<Channel>>();
  /** What each client holds here: its subscriptions, and their URIs' characters. */
  readonly #held = new Map<Channel, { count: number; chars: number }>();

  /** URIs someone is subscribed to. */
  get size(): number {
    return this.#byUri.size;
  }

  /**
   * Adds `who`'s subscription; whether it is new. Past MAX_SUBSCRIPTIONS, or MAX_SUBSCRIBED_URI_CHARS
   * of URIs, a client's new one is refused (-32600): its own, not another's, are what it spends.
   */
  add(uri: string, who: Channel): boolean {
    const subscribers = this.#byUri.get(uri) ?? new Set();
    if (subscribers.has(who)) return false;
    const held = this.#held.get(who) ?? { count: 0, chars: 0 };
    if (held.count >= MAX_SUBSCRIPTIONS || held.chars + uri.length > MAX_SUBSCRIBED_URI_CHARS) {
      throw new ProxyError(WireErrorCode.InvalidRequest, `Too many subscriptions: a client may hold ${MAX_SUBSCRIPTIONS} (and ${MAX_SUBSCRIBED_URI_CHARS} characters of URIs) on one backend session; unsubscribe from some first`);
    }
    this.#held.set(who, { count: held.count + 1, chars: held.chars + uri.length });
    this.#byUri.set(uri, subscribers.add(who));
    return true;
  }

  /** Removes `who`'s subscription; whether nobody is left subscribed to `uri` (the backend's may end). */
  remove(uri: string, who: Channel): boolean {
    const subscribers = this.#byUri.get(uri);
    if (subscribers?.delete(who)) {
      const held = this.#held.get(who)!;
      if (--held.count === 0) this.#held.delete(who);
      else held.chars -= uri.length;
    }
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

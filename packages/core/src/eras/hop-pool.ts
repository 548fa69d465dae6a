import { createHash } from "node:crypto";
import type { Hop } from "./hop.js";

/** Idle pooled hops are closed after this long. */
const IDLE_MS = 30_000;

/**
 * Hops kept open for requests that cannot ask for input (lists, completion), keyed by who asks (the
 * token, so scopes are never mixed) and what they declared (the mirror differs per capability
 * profile). At most `max`; the least recently used is closed first; an idle one after 30 s.
 */
export class HopPool {
  readonly #hops = new Map<string, { hop: Promise<Hop>; timer: NodeJS.Timeout }>();
  readonly #max: number;

  constructor(max = 32) {
    this.#max = max;
  }

  static key(token: string | undefined, capabilities: unknown): string {
    return createHash("sha256").update(`${token ?? ""}\0${JSON.stringify(capabilities ?? {})}`).digest("base64url");
  }

  /** The pooled hop for `key`, opened with `open` when there is none (or it closed). */
  get(key: string, open: () => Promise<Hop>): Promise<Hop> {
    const found = this.#hops.get(key);
    if (found) {
      this.#hops.delete(key); // re-inserted last: the map's order is the use order
      clearTimeout(found.timer);
      this.#hops.set(key, { hop: found.hop, timer: this.#idle(key) });
      return found.hop;
    }
    const hop = open().then((opened) => {
      const onclose = opened.client.onclose;
      opened.client.onclose = () => {
        if (this.#hops.get(key)?.hop === hop) this.#forget(key);
        onclose?.();
      };
      return opened;
    });
    hop.catch(() => this.#hops.get(key)?.hop === hop && this.#forget(key));
    this.#hops.set(key, { hop, timer: this.#idle(key) });
    while (this.#hops.size > this.#max) void this.#close(this.#hops.keys().next().value!);
    return hop;
  }

  #idle(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => void this.#close(key), IDLE_MS);
    timer.unref();
    return timer;
  }

  #forget(key: string): void {
    clearTimeout(this.#hops.get(key)?.timer);
    this.#hops.delete(key);
  }

  async #close(key: string): Promise<void> {
    const found = this.#hops.get(key);
    this.#forget(key);
    await found?.hop.then((hop) => hop.close(), () => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.#hops.keys()].map((key) => this.#close(key)));
  }
}

import type { ServerNotifier } from "@modelcontextprotocol/server";
import type { Hop } from "./hop.js";
import { openHop, type Front } from "./requests.js";
import { isObject, type JsonObject } from "./wire.js";

const PUBLISHED: Record<string, "toolsChanged" | "promptsChanged" | "resourcesChanged"> = {
  "notifications/tools/list_changed": "toolsChanged",
  "notifications/prompts/list_changed": "promptsChanged",
  "notifications/resources/list_changed": "resourcesChanged",
};

/**
 * One long-lived front session that only listens, for the open `subscriptions/listen` streams: the
 * proxy tells it when a list changed (after its mirror was refreshed), and it subscribes to the
 * resources those streams ask about (once per URI however many streams do) and relays their updates.
 */
export class Watcher {
  readonly #hop: Hop;
  readonly #uris = new Map<string, number>();

  private constructor(hop: Hop) {
    this.#hop = hop;
  }

  static async open(front: Front, notify: () => ServerNotifier): Promise<Watcher> {
    const hop = await openHop(front, undefined, () => undefined);
    hop.client.fallbackNotificationHandler = async (notification) => {
      const kind = PUBLISHED[notification.method];
      if (kind) notify()[kind]();
      const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
      if (notification.method === "notifications/resources/updated" && typeof uri === "string") notify().resourceUpdated(uri);
    };
    return new Watcher(hop);
  }

  /** Subscribes to `uris` for as long as a listen stream wants them; the function it returns lets go. */
  async watch(uris: string[]): Promise<() => void> {
    await Promise.all(uris.map((uri) => this.#count(uri, +1)));
    return () => void Promise.all(uris.map((uri) => this.#count(uri, -1)));
  }

  async #count(uri: string, by: 1 | -1): Promise<void> {
    const n = (this.#uris.get(uri) ?? 0) + by;
    if (n > 0) this.#uris.set(uri, n);
    else this.#uris.delete(uri);
    const method = by > 0 && n === 1 ? "resources/subscribe" : by < 0 && n === 0 ? "resources/unsubscribe" : undefined;
    // A URI that cannot be subscribed to (unknown, hidden, no backend support) simply sends no updates.
    if (method) await this.#hop.request(method, { uri }, AbortSignal.timeout(10_000)).catch(() => {});
  }

  /** Every page of a list, as an anonymous caller sees it (at most 100 pages). */
  async list(method: string): Promise<JsonObject[]> {
    const pages: JsonObject[] = [];
    let cursor: unknown;
    do {
      const page = await this.#hop.request(method, cursor === undefined ? {} : { cursor }, AbortSignal.timeout(10_000));
      pages.push(page);
      cursor = page.nextCursor;
    } while (typeof cursor === "string" && pages.length < 100);
    return pages;
  }

  close(): Promise<void> {
    return this.#hop.close();
  }
}

/** The resource URIs a `subscriptions/listen` request asks to be told about. */
export function listenedUris(body: unknown): string[] {
  if (!isObject(body) || body.method !== "subscriptions/listen" || !isObject(body.params) || !isObject(body.params.notifications)) return [];
  const uris = body.params.notifications.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === "string").slice(0, 100) : [];
}

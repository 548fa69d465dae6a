import type { ServerNotifier } from "@modelcontextprotocol/server";
import type { ComponentKind } from "../components/registry.js";
import { tenantOf, type Call } from "../tenant.js";
import type { ModernFrontHost } from "./modern-front.js";
import { isObject, type JsonObject } from "./wire.js";

const PUBLISHED: Record<ComponentKind, "toolsChanged" | "promptsChanged" | "resourcesChanged"> = {
  tools: "toolsChanged",
  prompts: "promptsChanged",
  resources: "resourcesChanged",
};

/**
 * What the open `subscriptions/listen` streams hear: the proxy's list changes (after its mirror was
 * refreshed) and updates of the resources those streams ask about, subscribed to once per URI
 * however many streams do, through the pipeline as an anonymous caller.
 */
export class Watcher {
  readonly #host: ModernFrontHost;
  readonly #uris = new Map<string, number>();
  readonly #stop: Array<() => void>;
  readonly #channel = { capabilities: undefined, notify: async () => {} };

  constructor(host: ModernFrontHost, notify: () => ServerNotifier) {
    this.#host = host;
    this.#stop = [
      host.on("listChanged", ({ kind }) => notify()[PUBLISHED[kind]]()),
      host.on("resourceUpdated", ({ uri }) => notify().resourceUpdated(uri)),
    ];
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
    if (method) await this.#request(method, { uri }).catch(() => {});
  }

  /** Every page of a list, as an anonymous caller sees it (at most 100 pages). */
  async list(method: string): Promise<JsonObject[]> {
    const pages: JsonObject[] = [];
    let cursor: unknown;
    do {
      const page = await this.#request(method, cursor === undefined ? {} : { cursor });
      pages.push(page);
      cursor = page.nextCursor;
    } while (typeof cursor === "string" && pages.length < 100);
    return pages;
  }

  #request(method: string, params: JsonObject): Promise<JsonObject> {
    const call: Call = {
      tenant: tenantOf({}),
      authInfo: undefined,
      // One channel for all its requests: its subscriptions are its own (it hears updates as events).
      channel: this.#channel,
      signal: AbortSignal.timeout(10_000),
      requestId: `watch-${method}`,
    };
    return this.#host.handle(method, params, call) as Promise<JsonObject>;
  }

  async close(): Promise<void> {
    for (const stop of this.#stop) stop();
  }
}

/** The resource URIs a `subscriptions/listen` request asks to be told about. */
export function listenedUris(body: unknown): string[] {
  if (!isObject(body) || body.method !== "subscriptions/listen" || !isObject(body.params) || !isObject(body.params.notifications)) return [];
  const uris = body.params.notifications.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === "string").slice(0, 100) : [];
}

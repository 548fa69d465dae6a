import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { ServerNotifier } from "@modelcontextprotocol/server";
import type { ComponentKind } from "../components/registry.js";
import { tenantOf, type Call, type Channel } from "../tenant.js";
import type { ModernFrontHost } from "./modern-front.js";
import { declared } from "./requests.js";
import { isObject, type JsonObject } from "./wire.js";

const PUBLISHED: Record<ComponentKind, "toolsChanged" | "promptsChanged" | "resourcesChanged"> = {
  tools: "toolsChanged",
  prompts: "promptsChanged",
  resources: "resourcesChanged",
};

/** Who opened a listen stream, and how its updates reach it. */
export interface ListenCaller {
  readonly authInfo: AuthInfo | undefined;
  readonly capabilities: ClientCapabilities | undefined;
  /** The one client of a stdio front (see `Front.caller`). */
  readonly sessionId?: string | undefined;
  /** Tells this caller's listen streams that `uri` changed. */
  tell(uri: string): void;
}

/**
 * What the open `subscriptions/listen` streams hear: the proxy's list changes (after its mirror was
 * refreshed), and updates of the resources a stream names. Those are subscribed to as the stream's
 * caller, through the pipeline (its rules judge that caller), while the stream is open; an update
 * comes back through that subscription, to that caller's streams alone.
 */
export class Watcher {
  readonly #host: ModernFrontHost;
  readonly #stop: () => void;

  constructor(host: ModernFrontHost, notify: () => ServerNotifier) {
    this.#host = host;
    this.#stop = host.on("listChanged", ({ kind }) => notify()[PUBLISHED[kind]]());
  }

  /** Subscribes to `uris` as `caller` (those it may); the function it returns lets go of them. */
  async watch(uris: string[], caller: ListenCaller): Promise<() => void> {
    // One channel for the stream: its subscriptions are its own, and their updates come to it.
    const channel: Channel = {
      capabilities: caller.capabilities,
      notify: async (notification) => {
        const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
        if (notification.method === "notifications/resources/updated" && typeof uri === "string") caller.tell(uri);
      },
    };
    const tenant = tenantOf({ authInfo: caller.authInfo, sessionId: caller.sessionId, capabilities: caller.capabilities });
    const request = (method: string, uri: string) => this.#host.handle(method, { uri }, { tenant, authInfo: caller.authInfo, channel, signal: AbortSignal.timeout(10_000), requestId: `watch-${method}` });
    // A URI that cannot be subscribed to (unknown, hidden, refused, no backend support) simply sends no updates.
    const subscribed = (await Promise.all(uris.map((uri) => request("resources/subscribe", uri).then(() => uri, () => undefined)))).filter((uri) => uri !== undefined);
    return () => void Promise.all(subscribed.map((uri) => request("resources/unsubscribe", uri).catch(() => {})));
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
      channel: { capabilities: undefined, notify: async () => {} },
      signal: AbortSignal.timeout(10_000),
      requestId: `watch-${method}`,
    };
    return this.#host.handle(method, params, call) as Promise<JsonObject>;
  }

  async close(): Promise<void> {
    this.#stop();
  }
}

/** What the client of a `subscriptions/listen` request declared (in its `_meta`). */
export function listenerCapabilities(body: unknown): ClientCapabilities | undefined {
  return isObject(body) && isObject(body.params) && isObject(body.params._meta) ? declared(body.params._meta) : undefined;
}

/** The resource URIs a `subscriptions/listen` request asks to be told about. */
export function listenedUris(body: unknown): string[] {
  if (!isObject(body) || body.method !== "subscriptions/listen" || !isObject(body.params) || !isObject(body.params.notifications)) return [];
  const uris = body.params.notifications.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === "string").slice(0, 100) : [];
}

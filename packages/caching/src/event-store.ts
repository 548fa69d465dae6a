import { randomBytes } from "node:crypto";
import type { EventStore } from "@fastmcp-proxy/core/advanced";
import type { Redis } from "ioredis";
import { closeClient, openClient, whenReady } from "./redis-store.js";

type Message = Parameters<EventStore["storeEvent"]>[1];

export interface RedisEventStoreOptions {
  /** `redis://host:port/db`. Ignored when `client` is given. */
  url?: string;
  client?: Redis;
  /** Default "fastmcp-proxy:events:". */
  prefix?: string;
  /** Events kept per stream (approximately; Redis trims in whole nodes). Default 1,000. */
  maxEvents?: number;
  /** A stream is forgotten this long after its last event, in ms. Default 10 minutes. */
  ttlMs?: number;
  /** Per-command timeout of the client this creates, in ms. Default 1,000. */
  commandTimeoutMs?: number;
}

/**
 * Event stores for the streamable HTTP front, in Redis streams, so that a client resuming with
 * `Last-Event-ID` gets its missed events from any replica sharing the Redis. An event id names
 * its Redis stream, so any store of the family can replay it:
 * `httpHandler({ eventStore: () => events.create() })`.
 */
export class RedisEventStores {
  readonly client: Redis;
  readonly #prefix: string;
  readonly #maxEvents: number;
  readonly #ttlMs: number;
  readonly #owned: boolean;

  constructor(options: RedisEventStoreOptions) {
    this.#prefix = options.prefix ?? "fastmcp-proxy:events:";
    this.#maxEvents = Math.max(1, options.maxEvents ?? 1000);
    this.#ttlMs = Math.max(1, options.ttlMs ?? 10 * 60_000);
    this.#owned = options.client === undefined;
    if (options.client) this.client = options.client;
    else {
      if (!options.url) throw new TypeError("RedisEventStores: give a url or a client");
      this.client = openClient(options.url, options.commandTimeoutMs ?? 1000);
      this.client.on("error", () => {});
    }
  }

  /** A store for one session: its streams live under a fresh random namespace. */
  create(): EventStore {
    const namespace = randomBytes(12).toString("base64url");
    return {
      storeEvent: async (streamId, message) => {
        const key = this.#key(namespace, streamId);
        const [[error, xid] = [new Error("no reply")]] = (await this.client
          .multi()
          .xadd(key, "MAXLEN", "~", this.#maxEvents, "*", "m", JSON.stringify(message))
          .pexpire(key, this.#ttlMs)
          .exec()) ?? [];
        if (error) throw error;
        return `${namespace}.${Buffer.from(streamId).toString("base64url")}.${xid as string}`;
      },
      getStreamIdForEventId: async (eventId) => parse(eventId)?.streamId,
      replayEventsAfter: async (lastEventId, { send }) => {
        const event = parse(lastEventId);
        if (!event) return "";
        const key = this.#key(event.namespace, event.streamId);
        let after = event.xid;
        for (;;) {
          const page = await this.client.xrange(key, `(${after}`, "+", "COUNT", 100);
          for (const [xid, fields] of page) {
            const json = fields[fields.indexOf("m") + 1];
            if (json !== undefined) await send(`${event.namespace}.${Buffer.from(event.streamId).toString("base64url")}.${xid}`, JSON.parse(json) as Message);
            after = xid;
          }
          if (page.length < 100) return event.streamId;
        }
      },
    };
  }

  /** Resolves once Redis is connected (events stored before that fail). */
  ready(): Promise<void> {
    return whenReady(this.client);
  }

  async close(): Promise<void> {
    if (this.#owned) await closeClient(this.client);
  }

  #key(namespace: string, streamId: string): string {
    return `${this.#prefix}${namespace}:${streamId}`;
  }
}

function parse(eventId: string): { namespace: string; streamId: string; xid: string } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.(\d+-\d+)$/.exec(eventId);
  if (!match) return undefined;
  return { namespace: match[1]!, streamId: Buffer.from(match[2]!, "base64url").toString(), xid: match[3]! };
}

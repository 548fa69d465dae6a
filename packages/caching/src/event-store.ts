import { randomBytes } from "node:crypto";
import type { EventStore, Logger } from "@fastmcp-proxy/core";
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
  /**
   * Bytes of events (their JSON) one session may store in each `ttlMs` window. Past that its events
   * are sent but not stored (not resumable) until the window ends, so no caller can fill the Redis
   * other sessions and deployments share. Default 16 MiB.
   */
  maxBytes?: number;
  /** Per-command timeout of the client this creates, in ms. Default 1,000. */
  commandTimeoutMs?: number;
  /** Where a Redis that stops taking events (once per outage) or a failed replay is reported. */
  logger?: Pick<Logger, "warn">;
}

/**
 * One event, in one round trip: counted against its session's bytes this window (KEYS[1], which
 * expires ttl after the window's first event), and appended to its stream (KEYS[2]) unless that
 * passes the budget. ARGV: bytes, ttl ms, budget, events kept per stream, the JSON.
 */
const APPEND = `
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used == tonumber(ARGV[1]) or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if used > tonumber(ARGV[3]) then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'm', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return id
`;

/**
 * Event stores for the streamable HTTP front, in Redis streams, so that a client resuming with
 * `Last-Event-ID` gets its missed events, on any replica sharing the Redis:
 * `httpHandler({ eventStore: (session) => events.create(session.key) })`.
 * Each store belongs to one session (core binds a session to its principal) and replays only
 * event ids issued under its key; any other id, malformed or out of range, is a fresh stream. Sending never
 * depends on storing: an event Redis could not take is still sent, under an id that replays
 * nothing (logged once per outage, counted in `unstored`).
 */
export class RedisEventStores {
  readonly client: Redis;
  readonly #prefix: string;
  readonly #maxEvents: number;
  readonly #ttlMs: number;
  readonly #maxBytes: number;
  readonly #owned: boolean;
  readonly #logger: Pick<Logger, "warn"> | undefined;
  #unstored = 0;
  #failing = false;

  constructor(options: RedisEventStoreOptions) {
    this.#prefix = options.prefix ?? "fastmcp-proxy:events:";
    this.#maxEvents = Math.max(1, options.maxEvents ?? 1000);
    this.#ttlMs = Math.max(1, options.ttlMs ?? 10 * 60_000);
    this.#maxBytes = Math.max(0, options.maxBytes ?? 16 * 1024 * 1024);
    this.#owned = options.client === undefined;
    this.#logger = options.logger;
    if (options.client) this.client = options.client;
    else {
      if (!options.url) throw new TypeError("RedisEventStores: give a url or a client");
      this.client = openClient(options.url, options.commandTimeoutMs ?? 1000);
      this.client.on("error", () => {});
    }
  }

  /** Events sent without being stored (Redis down or refusing): those cannot be resumed after. */
  get unstored(): number {
    return this.#unstored;
  }

  /**
   * A store for one session: its streams live under the session's key (core's `session.key`, the
   * same on every replica serving the session), or a fresh random one, and it replays only its own.
   */
  create(sessionKey?: string): EventStore {
    if (sessionKey !== undefined && !/^[A-Za-z0-9_-]{16,64}$/.test(sessionKey)) {
      throw new TypeError("RedisEventStores.create: a session key is 16 to 64 characters of A-Z, a-z, 0-9, _ and -");
    }
    const namespace = sessionKey ?? randomBytes(12).toString("base64url");
    let unstored = 0;
    const own = (eventId: string) => {
      const event = parse(eventId);
      return event?.namespace === namespace ? event : undefined;
    };
    return {
      storeEvent: async (streamId, message) => {
        const stream = `${namespace}.${Buffer.from(streamId).toString("base64url")}`;
        try {
          const xid = await this.#append(namespace, this.#key(namespace, streamId), message);
          this.#failing = false;
          if (xid !== undefined) return `${stream}.${xid}`;
          this.#unstored++; // over its session's budget: sent, not resumable
          return `${stream}.unstored-${++unstored}`;
        } catch (error) {
          this.#lost(error);
          // Not a Redis stream id: resuming from it is a fresh stream, never someone else's events.
          return `${stream}.unstored-${++unstored}`;
        }
      },
      getStreamIdForEventId: async (eventId) => own(eventId)?.streamId,
      replayEventsAfter: async (lastEventId, { send }) => {
        const event = own(lastEventId);
        if (!event) return "";
        const key = this.#key(event.namespace, event.streamId);
        let after = event.xid;
        try {
          for (;;) {
            const page = await this.client.xrange(key, `(${after}`, "+", "COUNT", 100);
            for (const [xid, fields] of page) {
              const json = fields[fields.indexOf("m") + 1];
              if (json !== undefined) await send(`${event.namespace}.${Buffer.from(event.streamId).toString("base64url")}.${xid}`, JSON.parse(json) as Message);
              after = xid;
            }
            if (page.length < 100) return event.streamId;
          }
        } catch (error) {
          this.#logger?.warn(`event store: replay after ${lastEventId} failed (${(error as Error).message}); the client gets a fresh stream`);
          return "";
        }
      },
    };
  }

  /** Appends `message` to the stream at `key`, within its session's budget: the event's id, or undefined when over it. */
  async #append(namespace: string, key: string, message: Message): Promise<string | undefined> {
    const json = JSON.stringify(message);
    const xid = await this.client.eval(APPEND, 2, `${this.#prefix}${namespace}!bytes`, key, Buffer.byteLength(json), this.#ttlMs, this.#maxBytes, this.#maxEvents, json);
    return typeof xid === "string" ? xid : undefined;
  }

  #lost(error: unknown): void {
    this.#unstored++;
    if (this.#failing) return;
    this.#failing = true;
    this.#logger?.warn(`event store: Redis did not take an event (${(error as Error).message}); events are sent but not resumable until it does`);
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

const MAX_ID_PART = 2n ** 64n - 1n;

/** The parts of an event id this package issued; undefined for anything else (a fresh stream). */
function parse(eventId: string): { namespace: string; streamId: string; xid: string } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.((\d{1,20})-(\d{1,20}))$/.exec(eventId);
  if (!match || BigInt(match[4]!) > MAX_ID_PART || BigInt(match[5]!) > MAX_ID_PART) return undefined;
  return { namespace: match[1]!, streamId: Buffer.from(match[2]!, "base64url").toString(), xid: match[3]! };
}

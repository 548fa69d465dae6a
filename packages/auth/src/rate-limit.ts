import { HttpError, identityOf, type Authenticate, type Next, type ProxyContext, type ProxyMethod, type ResultOf } from "@fastmcp-proxy/core";
import { sha256 } from "./hash.js";
import { HeldConnections, type HoldLimits } from "./held-connections.js";
import { RecentMap } from "./recent.js";

/** A token bucket: `capacity` requests at once, refilled at `perSecond`. */
export interface BucketSpec {
  capacity: number;
  perSecond: number;
}

export interface RateLimitOptions extends BucketSpec {
  /** A bucket per caller and tool as well (tools/call only). */
  perTool?: BucketSpec;
  /**
   * Requests of one caller in the pipeline at once (on this replica); past it, 429 at once, nothing
   * queued. A bucket limits how often a caller starts requests, not how many slow ones it holds open.
   */
  maxInFlight?: number;
  /**
   * With `front`: a connection refused for a principal over its limit is not read again until that
   * principal's next token is due (its connections one per token, in order), nor one let through on a
   * token while it keeps sending, once answered; so a flood waits in TCP back-pressure and reaches the
   * proxy about once per token instead of costing a refusal per request. Past the bounds, the 429 closes the
   * connection. Only a caller's own connection is held, never one that has carried another caller's
   * requests. Off by default: not behind a proxy that reuses connections for many callers (docs/auth.md).
   */
  holdConnections?: boolean | HoldLimits;
  /** Where the buckets are. Default: `memoryBuckets()`, each replica on its own; `redisBuckets(redis, { namespace })` shares them across a deployment's replicas. */
  store?: BucketStore;
}

/** Token buckets by key. `take` gives 0 when a token was taken, else the ms until there will be one. */
export interface BucketStore {
  take(key: string, spec: BucketSpec): number | Promise<number>;
}

/** Buckets in memory, at most `maxBuckets` (10,000); the least recently used go first (a dropped bucket starts full again). */
export function memoryBuckets(maxBuckets = 10_000): BucketStore {
  return new TokenBuckets(maxBuckets);
}

/** Token buckets by key, in memory, refilled lazily when taken from. */
class TokenBuckets implements BucketStore {
  readonly #buckets: RecentMap<string, { tokens: number; at: number }>;
  constructor(readonly maxBuckets: number) {
    this.#buckets = new RecentMap(maxBuckets);
  }

  /** Takes a token: 0 when there was one, else the ms until there will be. */
  take(key: string, spec: BucketSpec): number {
    const now = Date.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = { tokens: spec.capacity, at: now }));
    bucket.tokens = Math.min(spec.capacity, bucket.tokens + ((now - bucket.at) / 1000) * spec.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / spec.perSecond) * 1000);
  }
}

/** The rate-limit middleware, and the same limit judged at an HTTP front before a request's body is read. */
export type RateLimit = (<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>) & {
  /**
   * The HTTP front's `authenticate`, wrapped: a principal whose bucket this limiter found empty is
   * refused (429, Retry-After) as soon as its token is verified, before its body is read or its
   * session looked up, until its next token is due. Use it as `authenticate` beside `use(limit)`.
   */
  front(authenticate: Authenticate): Authenticate;
  /** Connections held now (`holdConnections`). */
  readonly heldConnections: number;
};

/**
 * Rate limits per caller: a token bucket per tenant (`ctx.tenant.share`), and optionally per
 * tenant and tool. Anonymous callers the proxy cannot recognise again (`tenant.ephemeral`) share one
 * bucket. Past the limit: HTTP 429 with Retry-After on HTTP fronts, a JSON-RPC error on stdio.
 * In memory by default (each replica limits on its own); `store: redisBuckets(redis, { namespace })` shares them.
 */
export function rateLimit(options: RateLimitOptions): RateLimit {
  for (const spec of [options, options.perTool]) {
    if (spec && !(spec.capacity >= 1 && spec.perSecond > 0)) throw new TypeError("rateLimit: capacity must be at least 1 and perSecond above 0");
  }
  if (options.maxInFlight !== undefined && !(options.maxInFlight >= 1)) throw new TypeError("rateLimit: maxInFlight must be at least 1");
  const buckets = options.store ?? memoryBuckets();
  const inFlight = new Map<string, number>();
  // Principals found over their limit, and when their next token is due: what the front refuses early.
  const empty = new EmptyUntil(1000 / options.perSecond);
  const held = options.holdConnections ? new HeldConnections(1000 / options.perSecond, options.capacity, options.holdConnections === true ? {} : options.holdConnections) : undefined;
  const tooMany = (wait: number, tool?: unknown, hold?: HttpError["hold"]): HttpError => {
    const seconds = Math.ceil(wait / 1000);
    return new HttpError(429, `Too many requests${tool === undefined ? "" : ` to ${String(tool)}`}: retry in ${seconds} s`, { "retry-after": String(seconds) }, { hold });
  };
  async function rateLimited<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    const caller = ctx.tenant.share;
    if (options.maxInFlight === undefined) return admitted(ctx, next, caller);
    const open = inFlight.get(caller) ?? 0;
    if (open >= options.maxInFlight) {
      throw new HttpError(429, `Too many requests in flight: ${open} (at most ${options.maxInFlight}); retry when one is answered`, { "retry-after": "1" });
    }
    inFlight.set(caller, open + 1);
    try {
      return await admitted(ctx, next, caller);
    } finally {
      const left = (inFlight.get(caller) ?? 1) - 1;
      if (left > 0) inFlight.set(caller, left);
      else inFlight.delete(caller);
    }
  }
  /** The caller's buckets (and the tool's): a token from each, or 429. */
  async function admitted<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>, caller: string): Promise<ResultOf<M>> {
    const wait = await buckets.take(caller, options);
    if (wait > 0) {
      if (ctx.tenant.principal !== undefined) {
        const due = Date.now() + wait;
        empty.set(ctx.tenant.principal, due);
        held?.notBefore(ctx.tenant.principal, due);
      }
      throw tooMany(wait);
    }
    const tool = ctx.method === "tools/call" ? (ctx.params as { name?: unknown }).name : undefined;
    if (options.perTool && typeof tool === "string") {
      const toolWait = await buckets.take(`${caller}\0${tool}`, options.perTool);
      if (toolWait > 0) throw tooMany(toolWait, tool);
    }
    return next();
  }
  const limiter = Object.assign(rateLimited, {
    front(authenticate: Authenticate): Authenticate {
      // A flood is refused with the same error while its Retry-After is the same: no Error (and stack) built per request.
      let refusal = tooMany(1000);
      return async function rateLimitedAuthenticate(req, front) {
        const authInfo = await authenticate(req, front);
        const identity = identityOf(authInfo);
        // Only a caller's own connection is held: one that has carried another caller's requests (a
        // balancer's pooled upstream connection) may carry anyone's next. Forwarding headers are not
        // trusted for this: a client could send one to escape the hold.
        const holdable = held !== undefined && held.carries(req.socket, identity);
        if (identity === undefined) return authInfo;
        const now = Date.now();
        const wait = held?.onTurn(req.socket, identity) ? empty.turnTaken(identity, now) : empty.waitFor(identity, now);
        if (wait <= 0) {
          // Let through on its token while flooding: its connection waits for the next one once answered,
          // rather than bringing its next request only to be refused.
          const next = holdable && empty.dueAt(identity);
          if (next) front?.holdAfterAnswer((socket, resume) => held.hold(identity, socket, resume, next));
          return authInfo;
        }
        // Held until its next token: an error of its own, for this principal's connection.
        if (holdable) throw tooMany(wait, undefined, (socket, resume) => held.hold(identity, socket, resume, now + wait));
        if (refusal.headers["retry-after"] !== String(Math.ceil(wait / 1000))) refusal = tooMany(wait);
        throw refusal;
      };
    },
  });
  return Object.defineProperty(limiter, "heldConnections", { get: () => held?.size ?? 0 }) as RateLimit;
}

/**
 * Until when each principal's bucket is known to be empty (at most `max`, the oldest dropped first).
 * When that time comes, one request goes through to take the token that came, and the next is due
 * an `intervalMs` later: a principal that keeps sending reaches the pipeline about once per token
 * (exactly, with a capacity of 2 or more: its bucket never fills up between two such requests).
 */
class EmptyUntil {
  readonly #until = new Map<string, number>();
  constructor(
    readonly intervalMs: number,
    readonly max = 10_000,
  ) {}

  set(identity: string, until: number): void {
    this.#until.delete(identity);
    this.#until.set(identity, until);
    if (this.#until.size > this.max) this.#until.delete(this.#until.keys().next().value as string);
  }

  /** When `identity`'s next token is due, while it is known to be empty (it keeps sending). */
  dueAt(identity: string): number | undefined {
    return this.#until.get(identity);
  }

  /**
   * A held connection brought the request its turn was for (it was resumed when a token was due):
   * 0, and the next is due an interval from now at the latest. Unlike `waitFor`, this neither
   * refuses nor forgets a principal whose turns came late, as they do when the timer fires late (a GC
   * pause): each would cost a refusal and a connection let go unheld.
   */
  turnTaken(identity: string, now: number): 0 {
    this.set(identity, Math.max(this.#until.get(identity) ?? 0, now + this.intervalMs));
    return 0;
  }

  /** The ms until `identity`'s next token, 0 when it may have one. */
  waitFor(identity: string, now: number): number {
    const until = this.#until.get(identity);
    if (until === undefined) return 0;
    if (now < until) return until - now;
    // Quiet for a whole interval since: its bucket may hold more than one token now.
    if (now < until + this.intervalMs) this.#until.set(identity, until + this.intervalMs);
    else this.#until.delete(identity);
    return 0;
  }
}

/** The part of a Redis client (ioredis, or node-redis through an adapter) that `redisBuckets` uses. */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** One atomic take: refilled by the server's clock, so replicas with skewed clocks agree. */
const TAKE = `
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = math.min(capacity, (tonumber(saved[1]) or capacity) + math.max(0, now - (tonumber(saved[2]) or now)) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return wait`;

export interface RedisBucketsOptions {
  /**
   * This deployment's name in the keys (1-64 letters, digits, "_", "-" or "."), the same on all its
   * replicas. Required: deployments sharing one Redis under one name would share their callers'
   * buckets, and callers of two deployments can have one identity (an API key's subject, the
   * anonymous callers' bucket) without being one caller.
   */
  namespace: string;
  /** The longest a take may wait for Redis, in ms. Default 250. */
  timeoutMs?: number;
  onError?: (error: Error) => void;
}

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Buckets in Redis, shared by every replica of a deployment: one atomic script per take. A take that
 * fails or takes longer than `timeoutMs` lets the request through and is reported to `onError`: a
 * Redis outage does not stop the service (the limit is then not enforced).
 */
export function redisBuckets(redis: RedisEval, options: RedisBucketsOptions): BucketStore {
  const namespace = (options as Partial<RedisBucketsOptions> | undefined)?.namespace;
  if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
    throw new TypeError(`redisBuckets: give this deployment's name as { namespace } (1-64 letters, digits, "_", "-" or "."; the same on every replica): deployments sharing one Redis under one name share their callers' buckets`);
  }
  const prefix = `fastmcp-proxy:rate:${namespace}:`;
  return {
    async take(key, spec) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`rate limit store: no answer from Redis in ${options.timeoutMs ?? 250} ms`)), options.timeoutMs ?? 250);
      });
      try {
        return Number(await Promise.race([redis.eval(TAKE, 1, prefix + sha256(key), spec.capacity, spec.perSecond), timeout]));
      } catch (error) {
        options.onError?.(error as Error);
        return 0;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

import { HttpError, partitionOf, type Next, type ProxyContext, type ProxyMethod, type ResultOf } from "@fastmcp-proxy/core";

/** A token bucket: `capacity` requests at once, refilled at `perSecond`. */
export interface BucketSpec {
  capacity: number;
  perSecond: number;
}

export interface RateLimitOptions extends BucketSpec {
  /** A bucket per caller and tool as well (tools/call only). */
  perTool?: BucketSpec;
  /** Buckets kept at most; the least recently used go first (a dropped bucket starts full again). Default 10,000. */
  maxBuckets?: number;
}

/** Token buckets by key, in memory, refilled lazily when taken from. */
class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly maxBuckets: number) {}

  /** Takes a token: 0 when there was one, else the ms until there will be. */
  take(key: string, spec: BucketSpec): number {
    const now = Date.now();
    const bucket = this.#buckets.get(key) ?? { tokens: spec.capacity, at: now };
    this.#buckets.delete(key); // re-inserted last: the map's order is the least recently used first
    bucket.tokens = Math.min(spec.capacity, bucket.tokens + ((now - bucket.at) / 1000) * spec.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    for (const oldest of this.#buckets.keys()) {
      if (this.#buckets.size <= this.maxBuckets) break;
      this.#buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / spec.perSecond) * 1000);
  }
}

/**
 * Rate limits per caller: a token bucket per tenant (`partitionOf(ctx.tenant)`), and optionally per
 * tenant and tool. Anonymous callers the proxy cannot recognise again (`tenant.ephemeral`) share one
 * bucket. Past the limit: HTTP 429 with Retry-After on HTTP fronts, a JSON-RPC error on stdio.
 * In memory: each replica limits on its own.
 */
export function rateLimit(options: RateLimitOptions) {
  for (const spec of [options, options.perTool]) {
    if (spec && !(spec.capacity >= 1 && spec.perSecond > 0)) throw new TypeError("rateLimit: capacity must be at least 1 and perSecond above 0");
  }
  const buckets = new TokenBuckets(options.maxBuckets ?? 10_000);
  return async function rateLimited<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    const caller = ctx.tenant.ephemeral ? "anonymous" : partitionOf(ctx.tenant);
    const tool = ctx.method === "tools/call" ? (ctx.params as { name?: unknown }).name : undefined;
    const wait = buckets.take(caller, options) || (options.perTool && typeof tool === "string" ? buckets.take(`${caller}\0${tool}`, options.perTool) : 0);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new HttpError(429, `Too many requests${tool && options.perTool ? ` to ${String(tool)}` : ""}: retry in ${seconds} s`, { "retry-after": String(seconds) });
    }
    return next();
  };
}

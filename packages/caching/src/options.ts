import type { BreakerOptions } from "./breaker.js";
import type { Filter } from "./glob.js";
import type { KeyLimits } from "./canonical.js";
import type { CachedMethod } from "./keys.js";
import type { CacheStore } from "./store.js";
import { optionsSchema, problem } from "./schema.js";

/**
 * Whose entries a request may see. "tenant" (default): one tenant's (core's `partitionOf`: an
 * authenticated principal's; an anonymous client's own session's; an anonymous stateless or
 * 2026-07-28 request's alone, which is never stored); "session": one front session's, for backends
 * whose answers vary per session; "public": everyone's, anonymous callers included, an explicit
 * opt-in for public data (never for a backend that acts with each caller's credentials).
 */
export type Partition = "tenant" | "session" | "public";

/** A tool the operator names for caching. `true` means the defaults. */
export type ToolCacheRule = true | {
  /** Overrides the tools/call TTL for this tool. */
  ttlMs?: number;
  /** Cache it even though its readOnlyHint is not true (the backend says it may change things). */
  force?: boolean;
};

/** Per-method TTLs in ms; 0 turns the method's caching off. */
export type MethodTtls = Partial<Record<CachedMethod, number>>;

/** Rules for one backend (by its configured name), over the proxy-wide ones. */
export interface ServerCacheRules {
  /** false: nothing from this backend is cached. */
  enabled?: boolean;
  partition?: Partition;
  /** The caller's granted scopes are part of the partition. Always for a server whose `auth` acts per caller (passthrough, token_exchange, per_user, id_jag without `idToken`). */
  scopes?: boolean;
  ttl?: MethodTtls;
  /** Resource URIs (as clients see them) to cache or not. */
  resources?: Filter;
  /** Prompt names (as clients see them). */
  prompts?: Filter;
  /** Tools to cache, by the backend's own tool name (exact or glob). */
  tools?: Readonly<Record<string, ToolCacheRule>>;
}

export interface CachingOptions {
  /** Where entries live. Default: `memoryStore()` (this process only). */
  store?: CacheStore;
  /** Per-method TTLs. Default resources/read 60 s, prompts/get 300 s, tools/call 60 s. */
  ttl?: MethodTtls;
  /** Resource URIs (as clients see them, globs) to cache. Default: all. */
  resources?: Filter;
  /** Prompt names (as clients see them, globs) to cache. Default: all. */
  prompts?: Filter;
  /** Tools to cache, by the name clients see (exact or glob). Default: none. */
  tools?: Readonly<Record<string, ToolCacheRule>>;
  /** Default "tenant". */
  partition?: Partition;
  /** The caller's granted scopes are part of the partition, for every backend. Always for servers whose `auth` acts per caller. */
  scopes?: boolean;
  /** Per-backend rules, by the backend's configured name. */
  servers?: Readonly<Record<string, ServerCacheRules>>;
  /**
   * Auth is configured: a request without an identity is neither served from nor stored in the
   * cache (it fails closed: a missing identity means a misordered chain, not an anonymous user).
   */
  requireIdentity?: boolean;
  /** Results larger than this (UTF-8 bytes of their JSON) are not stored. Default 1 MiB. */
  maxItemBytes?: number;
  /** Concurrent identical misses make one backend call. Default true. */
  coalesce?: boolean;
  /** A cap on how long a caller waits on an identical call in flight. Default: none (the call itself is bounded by the proxy's request timeout, reset by progress). */
  waitTimeoutMs?: number;
  /** Each store call's timeout, in ms. Default 100. */
  storeTimeoutMs?: number;
  breaker?: BreakerOptions;
  /** Bounds on the arguments hashed into a key. */
  keyLimits?: Partial<KeyLimits>;
  /** The clock entries expire by (ms). Default Date.now. */
  now?: () => number;
}

export const DEFAULT_TTLS: Required<MethodTtls> = { "resources/read": 60_000, "prompts/get": 300_000, "tools/call": 60_000 };
export const DEFAULT_MAX_ITEM_BYTES = 1024 * 1024;

/** Refuses options no cache can run with, naming the option (a TypeError, at `caching()`): the config file's schema. */
export function checkOptions(options: CachingOptions): void {
  const found = problem(optionsSchema, options, "caching");
  if (found !== undefined) throw new TypeError(found);
}

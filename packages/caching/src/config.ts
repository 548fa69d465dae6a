import { ProxyError, ProxyErrorCode } from "@fastmcp-proxy/core";
import { z } from "zod";
import { memoryStore } from "./memory-store.js";
import type { CachingOptions, MethodTtls, ServerCacheRules } from "./options.js";
import { DEFAULT_PREFIX, redisStore } from "./redis-store.js";
import { describe, sectionSchema, serverSchema } from "./schema.js";

/** The config file's `cache` section (see docs/caching.md). */
export type CacheConfig = z.input<typeof sectionSchema>;
/** A server's own `cache` section in `mcpServers`. */
export type ServerCacheConfig = z.input<typeof serverSchema>;

/**
 * Caching options from a config file: the top-level `cache` section and, optionally, each
 * server's own `cache` section by server name (they win over `cache.servers`). Anything not in
 * the schema is refused with InvalidConfig naming the field. The store is created here.
 */
export function cacheFromConfig(config: unknown, servers: Readonly<Record<string, unknown>> = {}): CachingOptions {
  const parsed = check(sectionSchema, config ?? {}, "cache");
  const perServer: Record<string, ServerCacheRules> = { ...parsed.servers };
  for (const [name, value] of Object.entries(servers)) {
    if (value !== undefined) perServer[name] = { ...perServer[name], ...check(serverSchema, value, `mcpServers.${name}.cache`) };
  }
  const { store: storeConfig, servers: _, namespace, ...rest } = parsed;
  const options: CachingOptions = { ...rest, servers: perServer };
  if (storeConfig === undefined || storeConfig === "memory") options.store = memoryStore();
  else if ("memory" in storeConfig) options.store = memoryStore(storeConfig.memory);
  else options.store = redisStore({ url: storeConfig.redis, prefix: `${storeConfig.prefix ?? DEFAULT_PREFIX}${namespace === undefined ? "" : `${namespace}:`}` });
  return options;
}

function check<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ProxyError(ProxyErrorCode.InvalidConfig, `Invalid ${describe(result.error, where)}`);
}

const METHODS = ["resources/read", "prompts/get", "tools/call"] as const;

/**
 * `--cache-ttl resources/read=30000,tools/call=5000`: per-method TTLs in ms. Throws a TypeError
 * naming the bad part (an unknown method, a value that is not a whole number of ms).
 */
export function ttlFromFlag(text: string): MethodTtls {
  const ttl: MethodTtls = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [method, value, extra] = part.split("=");
    if (!METHODS.includes(method as (typeof METHODS)[number])) throw new TypeError(`unknown method "${method}" in "${part}": use ${METHODS.join(", ")}`);
    if (extra !== undefined || value === undefined || !/^\d+$/.test(value.trim())) throw new TypeError(`"${part}" is not method=milliseconds`);
    ttl[method as (typeof METHODS)[number]] = Number(value);
  }
  if (Object.keys(ttl).length === 0) throw new TypeError("expected method=milliseconds[,method=milliseconds...]");
  return ttl;
}

/** The CLI's cache flags. */
export interface CacheFlags {
  /** `--cache`: cache in memory. */
  cache?: boolean;
  /** `--cache-redis URL`: cache in Redis (implies --cache). */
  redis?: string;
  /** `--cache-ttl method=ms,...` (implies --cache). */
  ttl?: string;
}

/**
 * The flags as a config `cache` section, to merge over the file's:
 * `cacheFromConfig(cacheSectionFromFlags(flags, config.cache), servers)`. Undefined when neither
 * the flags nor the file ask for a cache. Throws a TypeError naming a bad flag value.
 */
export function cacheSectionFromFlags(flags: CacheFlags, file?: unknown): CacheConfig | undefined {
  const asked = flags.cache === true || flags.redis !== undefined || flags.ttl !== undefined;
  if (!asked && file === undefined) return undefined;
  const section: Record<string, unknown> = typeof file === "object" && file !== null ? { ...file } : {};
  if (flags.redis !== undefined) {
    if (!/^rediss?:\/\/./.test(flags.redis)) throw new TypeError(`--cache-redis ${flags.redis}: expected a redis:// or rediss:// URL`);
    section.store = { redis: flags.redis };
  }
  if (flags.ttl !== undefined) section.ttl = { ...(section.ttl as object | undefined), ...ttlFromFlag(flags.ttl) };
  return section as CacheConfig;
}

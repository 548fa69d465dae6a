import { z } from "zod";
import type { CacheStore } from "./store.js";

// One schema for the cache's options, whether they come from code (`caching(options)`) or from a
// config file's `cache` section (`cacheFromConfig`): the two differ only in how the store is given.

const ms = z.number().int().nonnegative();
const positive = z.number().int().positive();
const ttl = z.strictObject({ "resources/read": ms.optional(), "prompts/get": ms.optional(), "tools/call": ms.optional() });
const filter = z.strictObject({ include: z.array(z.string()).optional(), exclude: z.array(z.string()).optional() });
const tools = z.record(z.string(), z.union([z.literal(true), z.strictObject({ ttlMs: ms.optional(), force: z.boolean().optional() })]));
const partition = z.enum(["tenant", "session", "public"]);

export const serverSchema = z.strictObject({
  enabled: z.boolean().optional(),
  partition: partition.optional(),
  scopes: z.boolean().optional(),
  ttl: ttl.optional(),
  resources: filter.optional(),
  prompts: filter.optional(),
  tools: tools.optional(),
});

const common = {
  ttl: ttl.optional(),
  resources: filter.optional(),
  prompts: filter.optional(),
  tools: tools.optional(),
  partition: partition.optional(),
  scopes: z.boolean().optional(),
  servers: z.record(z.string(), serverSchema).optional(),
  requireIdentity: z.boolean().optional(),
  maxItemBytes: positive.optional(),
  coalesce: z.boolean().optional(),
  waitTimeoutMs: positive.optional(),
  storeTimeoutMs: positive.optional(),
  breaker: z.strictObject({ failures: positive.optional(), cooldownMs: ms.optional() }).optional(),
};

const storeConfig = z.union([
  z.literal("memory"),
  z.strictObject({ memory: z.strictObject({ maxEntries: positive.optional(), maxBytes: positive.optional() }) }),
  z.strictObject({ redis: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"), prefix: z.string().optional() }),
]);

/** The config file's `cache` section. */
export const sectionSchema = z.strictObject({
  ...common,
  store: storeConfig.optional(),
  /** This deployment's name in shared store keys: deployments sharing one Redis stay apart even with identical servers. */
  namespace: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, "_", "-" or "."').optional(),
});

const isStore = (value: unknown): value is CacheStore =>
  typeof value === "object" && value !== null && ["get", "set", "add", "delete", "close"].every((m) => typeof (value as Record<string, unknown>)[m] === "function");

/** `caching(options)`: the same fields, with a store object, a clock and key limits. */
export const optionsSchema = z.strictObject({
  ...common,
  store: z.custom<CacheStore>(isStore, "a CacheStore (get, set, add, delete, close)").optional(),
  now: z.custom<() => number>((v) => typeof v === "function", "a function returning ms").optional(),
  keyLimits: z.strictObject({ maxDepth: positive.optional(), maxBytes: positive.optional() }).optional(),
});

/** The first problem with `value`, as "<where>.<path>: <message>", or undefined when it fits. */
export function problem(schema: z.ZodType, value: unknown, where: string): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : describe(result.error, where);
}

export function describe(error: z.ZodError, where: string): string {
  const issue = error.issues[0]!;
  return `${[where, ...issue.path.map(String)].join(".")}: ${issue.message}`;
}

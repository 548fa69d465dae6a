import { ProxyError, ProxyErrorCode, type FastMCPProxy, type Logger, type Next, type ProxyContext, type ProxyMethod, type ResultOf } from "@fastmcp-proxy/core";
import { TimeoutStrategy, timeout } from "cockatiel";
import { checkOptions, type CachingOptions } from "./options.js";
import { CACHED_METHODS, Policy } from "./policy.js";
import { ResponseCache, type InvalidateScope } from "./response-cache.js";
import type { CacheOutcome, CacheStats } from "./stats.js";
import type { CacheStore } from "./store.js";

/** The caching middleware, with what it needs from the proxy and what code can ask of it. */
export type CachingMiddleware = (<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>) & {
  /**
   * Registers the middleware on the proxy and subscribes to its events (list_changed,
   * resources/updated, backend restarts), then starts the proxy and refuses (InvalidConfig) a
   * named tool whose readOnlyHint is not true unless its rule says `force`. Register auth first.
   */
  install(proxy: FastMCPProxy): Promise<void>;
  /** Drops entries (everything, a backend's, a kind of a backend's, or one component's) in every replica sharing the store. */
  invalidate(scope?: InvalidateScope): Promise<void>;
  stats(): CacheStats;
  readonly store: CacheStore;
  /** Unsubscribes from the proxy and closes the store. */
  close(): Promise<void>;
};

/**
 * Identity-safe response caching of resources/read, prompts/get and named read-only tools:
 * `await caching({ ... }).install(proxy)`. Entries are partitioned by identity (or session),
 * stored serialized, checked against generation stamps, and never include errors, isError
 * results, task results or oversized ones.
 */
export function caching(options: CachingOptions = {}): CachingMiddleware {
  checkOptions(options);
  const policy = new Policy(options);
  let logger: Logger | undefined;
  let storing = true;
  const cache = new ResponseCache(options, policy.maxTtlMs, (state, calls) => {
    if (calls === "reads") return logger?.warn(`cache store breaker ${state}`);
    // Said once when the cache stops storing, and once when it stores again.
    if (state === "open" && storing) logger?.warn("cache store refuses writes: results are not stored (and invalidations wait) until it takes them again");
    else if (state === "closed" && !storing) logger?.info("cache store takes writes again");
    if (state !== "half-open") storing = state === "closed";
  });
  const subscriptions: (() => void)[] = [];

  let installed = false;

  const middleware = function caching<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    if (!CACHED_METHODS.has(ctx.method)) return next();
    // Used without install(), nothing would invalidate entries: serve nothing rather than stale data.
    const decision = installed ? policy.decide(ctx as ProxyContext) : "not-installed";
    const answer = typeof decision === "string" ? cache.bypass(ctx as ProxyContext, next, decision) : cache.answer(ctx as ProxyContext, next, decision);
    return answer as Promise<ResultOf<M>>;
  };

  async function install(proxy: FastMCPProxy): Promise<void> {
    if (installed) throw new ProxyError(ProxyErrorCode.InvalidConfig, "caching: install() was already called for this middleware");
    // Per caller is what core says (the credentials provider's perCaller), whether given in config or code.
    const perCaller = proxy.backends.filter((backend) => proxy.isPerCaller(backend)).map((b) => b.name);
    const contradicted = perCaller.filter((name) => options.servers?.[name]?.partition === "public");
    if (contradicted.length > 0) {
      throw new ProxyError(
        ProxyErrorCode.InvalidConfig,
        `caching: servers.${contradicted[0]}.partition is "public", but that server acts with each caller's own credentials: one caller's answers would reach every other. Remove the partition (entries stay per tenant and scopes)`,
      );
    }
    installed = true;
    policy.perCaller = (backend) => proxy.isPerCaller(backend);
    logger = proxy.logger;
    if (options.partition === "public" && perCaller.length > 0) {
      logger.warn(`caching: partition "public" does not apply to ${perCaller.join(", ")}, which act with each caller's own credentials: their entries stay per tenant and scopes`);
    }
    proxy.use(middleware);
    const drop = (scope: InvalidateScope) => {
      cache.invalidate(scope).catch(() => logger?.warn("cache invalidation could not reach the store; retried in the background until it lands"));
    };
    subscriptions.push(
      // On the notification itself, and again once the mirror is refreshed (anything stored meanwhile).
      proxy.on("listStale", (e) => drop({ backend: e.backend.name, kind: e.kind })),
      proxy.on("listChanged", (e) => drop({ backend: e.backend.name, kind: e.kind })),
      proxy.on("resourceUpdated", (e) => drop({ backend: e.backend.name, kind: "resources", name: e.backendUri })),
      proxy.on("backendRestarted", (e) => drop({ backend: e.backend.name })),
    );
    // A store that is down at start must not hold the proxy back: it is used once it answers.
    if (!(await within(cache.store.ready?.(), READY_TIMEOUT_MS))) logger?.warn(`cache store (${cache.store.kind}) not reachable yet: requests go uncached until it is`);
    await proxy.start();
    const refused = proxy.registry.listed("tools").flatMap((tool) => {
      const rule = policy.toolRule(tool);
      if (rule === undefined || (rule !== true && rule.force) || tool.definition.annotations?.readOnlyHint === true) return [];
      return [tool.name];
    });
    if (refused.length > 0) {
      throw new ProxyError(
        ProxyErrorCode.InvalidConfig,
        `caching: refusing to cache tools whose readOnlyHint is not true: ${refused.join(", ")} (give their rule force: true to cache them anyway)`,
      );
    }
  }

  return Object.assign(middleware, {
    install,
    invalidate: (scope?: InvalidateScope) => cache.invalidate(scope),
    stats: () => cache.stats(),
    store: cache.store,
    async close() {
      for (const off of subscriptions.splice(0)) off();
      await cache.close();
    },
  });
}

const READY_TIMEOUT_MS = 2000;

/** Whether `promise` (if any) resolved within `ms`. */
async function within(promise: Promise<void> | undefined, ms: number): Promise<boolean> {
  if (!promise) return true;
  return timeout(ms, TimeoutStrategy.Aggressive).dangerouslyUnref().execute(() => promise).then(() => true, () => false);
}

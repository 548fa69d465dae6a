// An invalidation the store could not take is retried before the next lookup, and until it lands
// nothing is served from the cache.
import { describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { client, countingBackend } from "../../../test/caching/fixtures.js";
import { caching } from "./caching.js";
import { memoryStore } from "./memory-store.js";
import type { CacheStore } from "./store.js";

/** A real memory store that can be switched off, as a network store goes away. */
function switchable(inner: CacheStore) {
  let down = false;
  const guard = <T>(call: () => Promise<T>) => (down ? Promise.reject(new Error("ECONNREFUSED")) : call());
  const store: CacheStore = {
    kind: "switchable",
    get: (keys) => guard(() => inner.get(keys)),
    set: (key, value, ttl) => guard(() => inner.set(key, value, ttl)),
    add: (entries, ttl) => guard(() => inner.add(entries, ttl)),
    delete: (keys) => guard(() => inner.delete(keys)),
    close: () => inner.close(),
  };
  return { store, setDown: (value: boolean) => (down = value) };
}

describe("invalidation while the store is unreachable", () => {
  it("rejects, is retried before the next lookup, and the cache is bypassed until it lands", async () => {
    const backend = countingBackend();
    const proxy = FastMCPProxy.asProxy(backend.server);
    const { store, setDown } = switchable(memoryStore());
    const cache = caching({ store, tools: { lookup: true }, breaker: { failures: 100 } });
    await cache.install(proxy);
    const c = await client(proxy);
    const call = () => c.callTool({ name: "lookup", arguments: { q: "x" } });
    try {
      await call();
      await call();
      expect(backend.runs.lookup).toBe(1);
      setDown(true);
      await expect(cache.invalidate({ backend: "backend", kind: "tools" })).rejects.toThrow(/store failed/);
      setDown(false);
      // The store is back and still holds the old entry; the retried bump makes it a miss.
      await call();
      expect(backend.runs.lookup).toBe(2);
      expect(cache.stats().outcomes.hit).toBe(1);
      await call();
      expect(cache.stats().outcomes.hit).toBe(2);

      // While the retry keeps failing, lookups bypass rather than risk a stale hit.
      setDown(true);
      await expect(cache.invalidate()).rejects.toBeDefined();
      await call();
      expect(cache.stats().outcomes["bypass:store-error"]).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
      await cache.close();
    }
  });
});

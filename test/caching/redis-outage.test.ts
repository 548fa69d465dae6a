// Redis killed mid-run: calls still succeed within the store timeout, the breaker opens, and it
// closes again once Redis is back.
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { caching, redisStore } from "@fastmcp-proxy/caching";
import { until } from "../helpers.js";
import { client, countingBackend, text } from "./fixtures.js";
import { REDIS_BINARY, freePort, startRedis, type RedisServer } from "./redis-server.js";

const servers: RedisServer[] = [];
let proxy: FastMCPProxy | undefined;
afterAll(async () => {
  await proxy?.close();
  for (const s of servers) await s.stop();
});

describe("Redis down from the start", () => {
  it("install() does not wait for it, and requests go uncached and answered", async () => {
    const port = await freePort(); // nothing listens there
    const backend = countingBackend();
    const down = FastMCPProxy.asProxy(backend.server);
    const cache = caching({ store: redisStore({ url: `redis://127.0.0.1:${port}` }) });
    try {
      const started = performance.now();
      await cache.install(down);
      expect(performance.now() - started).toBeLessThan(5000);
      const c = await client(down);
      await c.readResource({ uri: "data://doc" });
      await c.readResource({ uri: "data://doc" });
      expect(backend.runs.doc).toBe(2);
      expect(Object.keys(cache.stats().outcomes).every((k) => k.startsWith("bypass:store"))).toBe(true);
    } finally {
      await down.close();
      await cache.close();
    }
  });
});

describe.runIf(REDIS_BINARY !== undefined || process.env.CI === "true")("Redis outage", () => {
  it("bypasses the cache within the store timeout while Redis is down, and uses it again when it is back", async () => {
    const redis = await startRedis();
    servers.push(redis);
    const backend = countingBackend();
    proxy = FastMCPProxy.asProxy(backend.server);
    const store = redisStore({ url: redis.url, prefix: `outage:${Date.now()}:` });
    const cache = caching({ store, tools: { lookup: true }, storeTimeoutMs: 100, breaker: { failures: 3, cooldownMs: 300 } });
    await cache.install(proxy);
    const c = await client(proxy);
    const call = () => c.callTool({ name: "lookup", arguments: { q: "x" } });

    const first = await call();
    expect(text(await call())).toBe(text(first));
    expect(backend.runs.lookup).toBe(1);

    await redis.stop();
    const durations: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const result = await call();
      durations.push(performance.now() - started);
      expect(result.isError).toBeFalsy();
    }
    // Every call answered, none waited much beyond the store timeout.
    expect(Math.max(...durations)).toBeLessThan(400);
    expect(backend.runs.lookup).toBe(7);
    expect(cache.stats().breaker).toBe("open");
    expect(cache.stats().breakerOpened).toBe(1);
    const bypassed = Object.entries(cache.stats().outcomes).filter(([k]) => k.startsWith("bypass:store")).reduce((n, [, v]) => n + v, 0);
    expect(bypassed).toBe(6);

    // Back on the same port: the client reconnects, a probe closes the breaker, entries are used again.
    servers.push(await startRedis(redis.port));
    await until(async () => (await call(), cache.stats().breaker === "closed"), "the breaker to close", 10_000);
    const runs = backend.runs.lookup!;
    const hits = cache.stats().outcomes.hit ?? 0;
    await call();
    await call();
    expect(backend.runs.lookup! - runs).toBeLessThanOrEqual(1);
    expect(cache.stats().outcomes.hit).toBeGreaterThan(hits);
    await cache.close();
  });
});

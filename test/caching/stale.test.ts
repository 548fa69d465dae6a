// Wrong or stale answers (issue 19), against a real redis-server: a corrupt entry, a Redis that
// reads but refuses writes.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { silentLogger } from "@fastmcp-proxy/core/advanced";
import { caching, redisStore, type CachingOptions } from "@fastmcp-proxy/caching";
import { until } from "../helpers.js";
import { client, countingBackend, serveHttp, text } from "./fixtures.js";
import { REDIS_BINARY, freePort, startRedis, type RedisServer } from "./redis-server.js";

/** A loopback TCP relay to Redis that can be cut and restored: one replica's link to it. */
async function relay(to: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const upstream = connect(to, "127.0.0.1");
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("error", () => {}).on("close", () => sockets.delete(s));
    }
    socket.pipe(upstream).pipe(socket);
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    restore: listen,
  };
}

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function setup(options: CachingOptions = {}) {
  const redis: RedisServer = await startRedis();
  const raw = new Redis(redis.url);
  cleanup.push(() => redis.stop(), () => raw.quit());
  const backend = countingBackend();
  const warnings: string[] = [];
  const proxy = FastMCPProxy.asProxy(backend.server, { logger: { ...silentLogger, warn: (m: string) => void warnings.push(m) } });
  const prefix = "stale:";
  const cache = caching({ store: redisStore({ url: redis.url, prefix }), tools: { lookup: true }, ...options });
  await cache.install(proxy);
  cleanup.push(() => proxy.close(), () => cache.close());
  const c = await client(proxy);
  return { raw, prefix, backend, cache, warnings, lookup: (q = "x") => c.callTool({ name: "lookup", arguments: { q } }) };
}

describe.runIf(REDIS_BINARY !== undefined || process.env.CI === "true")("wrong or stale answers (real Redis)", () => {
  it("a corrupt stored entry is a miss, and is deleted, never a failed request", async () => {
    const { raw, prefix, backend, cache, lookup } = await setup();
    await lookup();
    const [key] = await raw.keys(`${prefix}e:*`);
    const stored = (await raw.get(key!))!;
    // Current stamps, broken JSON: only parsing it can tell.
    await raw.set(key!, `${stored.split("\n").slice(0, 2).join("\n")}\n{"content":[{"ty`, "PX", 60_000);
    const answered = await lookup();
    expect(answered.isError).toBeFalsy();
    expect(text(answered)).toContain("run 2");
    expect(backend.runs.lookup).toBe(2);
    expect(cache.stats().corrupt).toBe(1);
    expect(text(await lookup())).toContain("run 2");
    expect(backend.runs.lookup).toBe(2);
  });

  it("generation stamps in use are refreshed as entries are stored under them, so they never all expire at once", async () => {
    const { raw, prefix, lookup } = await setup();
    await lookup("first");
    const stamps = await raw.keys(`${prefix}g:*`);
    expect(stamps).toHaveLength(4);
    for (const key of stamps) await raw.pexpire(key, 5000); // as if created a day ago
    await lookup("second"); // a miss, stored under the same stamps
    for (const key of stamps) expect(await raw.pttl(key), key).toBeGreaterThan(60 * 60 * 1000);
  });

  it("the store's figures count entries (not generation stamps), in Redis as in memory", async () => {
    const { cache, lookup } = await setup();
    for (const q of ["a", "b", "c"]) await lookup(q);
    const figures = await until(() => (cache.stats().store?.entries === 3 ? cache.stats().store : undefined), "Redis's entries to be counted");
    expect(figures.bytes).toBeGreaterThan(0);

    const proxy = FastMCPProxy.asProxy(countingBackend().server, { logger: silentLogger });
    const memory = caching({ tools: { lookup: true } });
    await memory.install(proxy);
    cleanup.push(() => proxy.close(), () => memory.close());
    const c = await client(proxy);
    for (const q of ["a", "b", "c"]) await c.callTool({ name: "lookup", arguments: { q } });
    expect(memory.stats().store?.entries).toBe(3);
  });

  it("works on a Redis Cluster node: no command spans hash slots", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fastmcp-cache-cluster-"));
    const redis = await startRedis(undefined, ["--cluster-enabled", "yes", "--dir", dir, "--cluster-config-file", "nodes.conf"]);
    const raw = new Redis(redis.url);
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }), () => redis.stop(), () => raw.quit());
    await raw.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    await until(async () => String(await raw.call("CLUSTER", "INFO")).includes("cluster_state:ok"), "the one-node cluster");
    const proxy = FastMCPProxy.asProxy(countingBackend().server, { logger: silentLogger });
    const cache = caching({ store: redisStore({ url: redis.url }), tools: { lookup: true } });
    await cache.install(proxy);
    cleanup.push(() => proxy.close(), () => cache.close());
    const c = await client(proxy);
    const first = await c.callTool({ name: "lookup", arguments: { q: "slots" } });
    expect(text(await c.callTool({ name: "lookup", arguments: { q: "slots" } }))).toBe(text(first));
    await cache.invalidate();
    await c.callTool({ name: "lookup", arguments: { q: "slots" } });
    expect(cache.stats().outcomes).toEqual({ miss: 2, hit: 1 });
  });

  it("a Redis that reads but refuses writes (maxmemory, noeviction) opens the writes' breaker, said once", async () => {
    const { raw, cache, warnings, lookup } = await setup({ breaker: { failures: 3, cooldownMs: 60_000 } });
    await lookup("stamps"); // the generation stamps exist: lookups read only
    await raw.config("SET", "maxmemory-policy", "noeviction");
    await raw.config("SET", "maxmemory", "1");
    for (let i = 0; i < 6; i++) expect((await lookup(`q${i}`)).isError).toBeFalsy();
    const stats = cache.stats();
    expect(stats.breaker).toBe("closed"); // reads still work
    expect(stats.writes).toBe("open");
    expect(stats.notStored).toMatchObject({ store: 3, "store-open": 3 });
    expect(warnings.filter((w) => w.includes("refuses writes"))).toHaveLength(1);
  });

  it("an invalidation that could not reach Redis is retried in the background, so other replicas stop serving the entry without a lookup here", async () => {
    const redis = await startRedis();
    const link = await relay(redis.port);
    const backend = countingBackend();
    const alice = { token: "a", clientId: "test", scopes: [], extra: { identity: "https://idp.test alice" } };
    const replica = async (url: string) => {
      const proxy = FastMCPProxy.asProxy(backend.newServer(), { logger: silentLogger });
      const cache = caching({ store: redisStore({ url, prefix: "replicas:" }), tools: { lookup: true }, breaker: { failures: 3, cooldownMs: 100 } });
      await cache.install(proxy);
      cleanup.push(() => proxy.close(), () => cache.close());
      return { cache, lookup: async () => text(await (await client(proxy, alice)).callTool({ name: "lookup", arguments: { q: "x" } })) };
    };
    cleanup.push(() => redis.stop(), () => link.cut());
    const cut = await replica(link.url);
    const other = await replica(redis.url);
    const first = await cut.lookup();
    expect(await other.lookup()).toBe(first);

    await link.cut();
    await expect(cut.cache.invalidate({ backend: "backend" })).rejects.toThrow();
    await link.restore();
    // No request reaches the replica that saw the event: the other stops serving the old entry anyway.
    await until(async () => (await other.lookup()) !== first, "the invalidation to land", 10_000);
  });
});

describe("single flight follows the request's timeout rules", () => {
  it("a cached call reset by progress outlives the backend timeout, for the leader and for a caller waiting on it", async () => {
    const backend = countingBackend();
    const http = await serveHttp(backend);
    // 300 ms per request at this backend, reset by progress (every 100 ms); the call takes 800 ms.
    const proxy = FastMCPProxy.asProxy({ mcpServers: { data: { url: http.url, timeout: 300 } } }, { logger: silentLogger });
    const cache = caching({ tools: { progressive: true } });
    await cache.install(proxy);
    cleanup.push(() => http.close(), () => proxy.close(), () => cache.close());
    const alice = { token: "a", clientId: "test", scopes: [], extra: { identity: "https://idp.test alice" } };
    const [leader, follower] = [await client(proxy, alice), await client(proxy, alice)];
    const call = (c: typeof leader) => c.callTool({ name: "progressive", arguments: { steps: 8 } }, undefined, { onprogress: () => {}, resetTimeoutOnProgress: true });
    const first = call(leader);
    await until(() => backend.runs.progressive === 1, "the leader's call to start");
    const [a, b] = await Promise.all([first, call(follower)]);
    expect(text(a)).toContain("done 1");
    expect(text(b)).toBe(text(a));
    expect(cache.stats().outcomes).toMatchObject({ miss: 1, coalesced: 1 });
  });
});

describe("an HTTP backend restarted behind its URL", () => {
  it("its session id refused (404): the proxy opens a new session, says backendRestarted, and the cache drops the old entries", async () => {
    const before = countingBackend();
    const first = await serveHttp(before);
    const port = Number(new URL(first.url).port);
    const proxy = FastMCPProxy.asProxy(first.url, { logger: silentLogger });
    const cache = caching({ tools: { lookup: true } });
    await cache.install(proxy);
    cleanup.push(() => proxy.close(), () => cache.close());
    const c = await client(proxy);
    const lookup = () => c.callTool({ name: "lookup", arguments: { q: "x" } });
    const old = text(await lookup());
    expect(text(await lookup())).toBe(old);
    expect(before.runs.lookup).toBe(1);

    const restarted = new Promise((resolve) => proxy.on("backendRestarted", resolve));
    await first.close();
    const after = countingBackend();
    const second = await serveHttp(after, port);
    cleanup.push(() => second.close());
    await restarted;
    // The client's own backend session is gone too: the first call that meets the 404 fails, the next opens a new one.
    await until(async () => (await lookup()).isError !== true, "a call through a new session");
    expect(after.runs.lookup).toBeGreaterThanOrEqual(1);
    expect(cache.stats().outcomes.hit).toBe(1);
  }, 30_000);
});

// The middleware through a real proxy, in front of a real MCP server that counts its executions.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode, type Next, type ProxyContext } from "@fastmcp-proxy/core";
import { client, countingBackend, text } from "../../../test/caching/fixtures.js";
import { caching, type CachingMiddleware } from "./caching.js";
import type { CachingOptions } from "./options.js";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function setup(options: CachingOptions = {}) {
  const backend = countingBackend();
  const proxy = FastMCPProxy.asProxy(backend.server);
  const cache = caching({ tools: { lookup: true, failing: true, big: true, hinted: true }, ...options });
  await cache.install(proxy);
  cleanup.push(() => proxy.close(), () => cache.close());
  return { backend, proxy, cache };
}

describe("caching middleware", () => {
  it("serves a repeated resources/read, prompts/get and named tools/call from the cache", async () => {
    const { backend, proxy, cache } = await setup();
    const c = await client(proxy);
    const first = await c.readResource({ uri: "data://doc" });
    const second = await c.readResource({ uri: "data://doc" });
    expect(text(second)).toBe(text(first));
    expect(backend.runs.doc).toBe(1);
    await c.readResource({ uri: "data://items/1" });
    await c.readResource({ uri: "data://items/1" });
    await c.readResource({ uri: "data://items/2" });
    expect([backend.runs["item 1"], backend.runs["item 2"]]).toEqual([1, 1]);
    await c.getPrompt({ name: "greet", arguments: { name: "ann" } });
    await c.getPrompt({ name: "greet", arguments: { name: "ann" } });
    await c.getPrompt({ name: "greet", arguments: { name: "bob" } });
    expect(backend.runs.greet).toBe(2);
    const a = await c.callTool({ name: "lookup", arguments: { q: "x", page: 2 } });
    const b = await c.callTool({ name: "lookup", arguments: { page: 2, q: "x" } });
    expect(text(b)).toBe(text(a));
    expect(backend.runs.lookup).toBe(1);
    expect(cache.stats().outcomes).toMatchObject({ hit: 4, miss: 6 });
    expect(cache.stats().hitRatio).toBeCloseTo(4 / 10);
  });

  it("a hit is a fresh copy: changing a returned result changes nothing for the next caller", async () => {
    const { proxy } = await setup();
    let seen = "";
    proxy.use("resources/read", async function mangler(_ctx: ProxyContext<"resources/read">, next: Next<"resources/read">) {
      const result = await next();
      (result.contents[0] as { text: string }).text += " (changed by a middleware)";
      seen = (result.contents[0] as { text: string }).text;
      return result;
    });
    const c = await client(proxy);
    await c.readResource({ uri: "data://doc" });
    const again = await c.readResource({ uri: "data://doc" });
    expect(seen).toBe("v1 read 1 (changed by a middleware)");
    // Changed once by the middleware on the way out, not twice: the stored copy was untouched.
    expect((again.contents[0] as { text: string }).text).toBe("v1 read 1 (changed by a middleware)");
  });

  it("used without install(), it caches nothing (nothing would invalidate it)", async () => {
    const backend = countingBackend();
    const proxy = FastMCPProxy.asProxy(backend.server);
    const cache = caching();
    proxy.use(cache);
    cleanup.push(() => proxy.close());
    const c = await client(proxy);
    await c.readResource({ uri: "data://doc" });
    await c.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(2);
    expect(cache.stats().outcomes["bypass:not-installed"]).toBe(2);
  });

  it("refuses options it cannot run with, naming them, by the config file's schema", () => {
    expect(() => caching({ ttl: { "resources/read": -1 } })).toThrow(/^caching\.ttl\.resources\/read: /);
    expect(() => caching({ ttl: { "tools/list": 5 } as never })).toThrow(/caching\.ttl: .*tools\/list/);
    expect(() => caching({ partition: "everyone" as never })).toThrow(/caching\.partition: .*"tenant"\|"session"\|"public"/);
    expect(() => caching({ servers: { a: { partition: "x" as never } } })).toThrow(/caching\.servers\.a\.partition/);
    expect(() => caching({ maxItemBytes: 0 })).toThrow(/caching\.maxItemBytes/);
    expect(() => caching({ storeTimeoutMs: Number.NaN })).toThrow(/storeTimeoutMs/);
    // Infinity is not a TTL: refused, where it used to be a silent no-cache.
    expect(() => caching({ tools: { lookup: { ttlMs: Infinity } } })).toThrow(/caching\.tools\.lookup/);
    expect(() => caching({ servers: { a: { ttl: { "tools/call": Infinity } } } })).toThrow(/caching\.servers\.a\.ttl/);
    expect(() => caching({ store: {} as never })).toThrow(/caching\.store: a CacheStore/);
    expect(() => caching({ ttlMs: 5 } as never)).toThrow(/ttlMs/);
  });

  it("expires entries after their TTL, by the injected clock", async () => {
    let now = 1_000_000;
    const { backend, proxy } = await setup({ ttl: { "resources/read": 5000 }, now: () => now });
    const c = await client(proxy);
    await c.readResource({ uri: "data://doc" });
    now += 4999;
    await c.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(1);
    now += 2;
    await c.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(2);
  });

  it("never stores errors, isError results, oversized results or a zero upstream ttlMs", async () => {
    const { backend, proxy, cache } = await setup({ maxItemBytes: 1000 });
    const c = await client(proxy);
    for (let i = 0; i < 2; i++) {
      expect((await c.callTool({ name: "failing" })).isError).toBe(true);
      await expect(c.readResource({ uri: "data://broken" })).rejects.toMatchObject({ code: -32050 });
      await c.callTool({ name: "big" });
      await c.callTool({ name: "hinted" });
    }
    expect(backend.runs).toMatchObject({ failing: 2, broken: 2, big: 2, hinted: 2 });
    expect(cache.stats().notStored).toMatchObject({ isError: 2, "too-large": 2, "upstream-ttl": 2 });
  });

  it("upstream hints shorten the TTL and keep a private result off the shared partition, never widen anything", async () => {
    let now = 0;
    const { backend, proxy, cache } = await setup({ now: () => now, tools: { short: true, private: true } });
    const c = await client(proxy, "alice");
    await c.callTool({ name: "short" });
    now += 999;
    await c.callTool({ name: "short" });
    expect(backend.runs.short).toBe(1);
    now += 2;
    await c.callTool({ name: "short" });
    expect(backend.runs.short).toBe(2);
    // "public" did not make it shared: another principal misses.
    await (await client(proxy, "bob")).callTool({ name: "short" });
    expect(backend.runs.short).toBe(3);
    // "private" is stored per principal, as everything is by default.
    await c.callTool({ name: "private" });
    await c.callTool({ name: "private" });
    expect(backend.runs.private).toBe(1);
    expect(cache.stats().notStored["upstream-private"]).toBeUndefined();

    const shared = await setup({ partition: "public", tools: { private: true } });
    const anyone = await client(shared.proxy);
    await anyone.callTool({ name: "private" });
    await anyone.callTool({ name: "private" });
    expect(shared.backend.runs.private).toBe(2);
    expect(shared.cache.stats().notStored["upstream-private"]).toBe(2);
  });

  it("never caches a tool that is not named, nor a task-augmented call", async () => {
    const { backend, proxy, cache } = await setup({ tools: {} });
    const c = await client(proxy);
    await c.callTool({ name: "lookup", arguments: { q: "x" } });
    await c.callTool({ name: "lookup", arguments: { q: "x" } });
    await c.callTool({ name: "write", arguments: { v: "1" } });
    await c.callTool({ name: "write", arguments: { v: "1" } });
    expect(backend.runs).toMatchObject({ lookup: 2, write: 2 });
    expect(cache.stats().outcomes["bypass:not-listed"]).toBe(4);
  });

  it("refuses at start-up a named tool whose readOnlyHint is not true, unless forced", async () => {
    const backend = countingBackend();
    const proxy = FastMCPProxy.asProxy(backend.server);
    cleanup.push(() => proxy.close());
    const refused = await caching({ tools: { write: true } }).install(proxy).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: ProxyErrorCode.InvalidConfig });
    expect(String((refused as Error).message)).toContain("write");
    // A glob that takes in a tool that is not read-only is refused the same way.
    const globbed = FastMCPProxy.asProxy(countingBackend().server);
    cleanup.push(() => globbed.close());
    await expect(caching({ tools: { "*": true } }).install(globbed)).rejects.toThrow(/readOnlyHint is not true: write/);

    const forcedBackend = countingBackend();
    const forced = FastMCPProxy.asProxy(forcedBackend.server);
    cleanup.push(() => forced.close());
    await caching({ tools: { "wr*": { force: true } } }).install(forced);
    const c = await client(forced);
    await c.callTool({ name: "write", arguments: { v: "1" } });
    await c.callTool({ name: "write", arguments: { v: "1" } });
    expect(forcedBackend.runs.write).toBe(1);
  });

  it("partitions by principal: one principal's entry is never served to another", async () => {
    const { backend, proxy } = await setup();
    const alice = await client(proxy, "alice-token");
    const bob = await client(proxy, "bob-token");
    const anonymous = await client(proxy);
    const a1 = await alice.callTool({ name: "lookup", arguments: { q: "secret" } });
    const b1 = await bob.callTool({ name: "lookup", arguments: { q: "secret" } });
    const n1 = await anonymous.callTool({ name: "lookup", arguments: { q: "secret" } });
    expect(backend.runs.lookup).toBe(3);
    expect(new Set([text(a1), text(b1), text(n1)]).size).toBe(3);
    expect(text(await alice.callTool({ name: "lookup", arguments: { q: "secret" } }))).toBe(text(a1));
    expect(text(await bob.callTool({ name: "lookup", arguments: { q: "secret" } }))).toBe(text(b1));
    // The same principal on another connection shares its own entries.
    const alice2 = await client(proxy, "alice-token");
    expect(text(await alice2.callTool({ name: "lookup", arguments: { q: "secret" } }))).toBe(text(a1));
    expect(backend.runs.lookup).toBe(3);
  });

  it("a target hidden from a caller is never answered from the cache, even on the shared partition", async () => {
    const hiding = FastMCPProxy.asProxy(countingBackend().server);
    // Registered before the cache, as authorization must be.
    hiding.use(async function hideFromBob(ctx, next) {
      if (ctx.authInfo?.token === "bob") ctx.hide((component) => component.name === "lookup");
      return next();
    });
    const cache = caching({ partition: "public", tools: { lookup: true } });
    await cache.install(hiding);
    cleanup.push(() => hiding.close(), () => cache.close());
    const alice = await client(hiding, "alice");
    const bob = await client(hiding, "bob");
    await alice.callTool({ name: "lookup", arguments: { q: "x" } });
    await expect(bob.callTool({ name: "lookup", arguments: { q: "x" } })).rejects.toThrow(/Unknown tool/);
    expect(cache.stats().outcomes["bypass:hidden"]).toBe(1);
  });

  it("with requireIdentity, a request without identity is neither served nor stored", async () => {
    const { backend, proxy, cache } = await setup({ requireIdentity: true });
    const anonymous = await client(proxy);
    await anonymous.readResource({ uri: "data://doc" });
    await anonymous.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(2);
    expect(cache.stats().outcomes["bypass:no-identity"]).toBe(2);
    const alice = await client(proxy, "alice");
    await alice.readResource({ uri: "data://doc" });
    await alice.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(3);
  });

  it("the session partition keeps two sessions of one principal apart", async () => {
    const { backend, proxy } = await setup({ partition: "session" });
    const one = await client(proxy, "alice");
    const two = await client(proxy, "alice");
    await one.readResource({ uri: "data://doc" });
    await two.readResource({ uri: "data://doc" });
    await one.readResource({ uri: "data://doc" });
    await two.readResource({ uri: "data://doc" });
    expect(backend.runs.doc).toBe(2);
  });

  it("include/exclude globs and per-server rules choose what is cached", async () => {
    const { backend, proxy, cache } = await setup({ resources: { exclude: ["data://items/*"] }, servers: { backend: { prompts: { include: [] } } } });
    const c = await client(proxy);
    await c.readResource({ uri: "data://items/1" });
    await c.readResource({ uri: "data://items/1" });
    await c.getPrompt({ name: "greet", arguments: { name: "ann" } });
    await c.getPrompt({ name: "greet", arguments: { name: "ann" } });
    await c.readResource({ uri: "data://doc" });
    await c.readResource({ uri: "data://doc" });
    expect(backend.runs).toMatchObject({ "item 1": 2, greet: 2, doc: 1 });
    expect(cache.stats().outcomes["bypass:excluded"]).toBe(4);
  });

  it("20 concurrent identical calls make one backend execution; cancelling the first leaves the others answered", async () => {
    const { backend, proxy, cache } = await setup();
    const clients = await Promise.all(Array.from({ length: 4 }, () => client(proxy, "same-principal")));
    const release = backend.hold();
    const first = new AbortController();
    const leader = clients[0]!.callTool({ name: "lookup", arguments: { q: "hot" } }, undefined, { signal: first.signal });
    leader.catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    const followers = Array.from({ length: 19 }, (_, i) => clients[i % 4]!.callTool({ name: "lookup", arguments: { q: "hot" } }));
    await new Promise((r) => setTimeout(r, 20));
    first.abort();
    await expect(leader).rejects.toBeDefined();
    release();
    const results = await Promise.all(followers);
    expect(new Set(results.map(text)).size).toBe(1);
    expect(backend.runs.lookup).toBe(1);
    expect(cache.stats().outcomes).toMatchObject({ miss: 1, coalesced: 19 });
  });

  it("cache.invalidate() drops entries, by backend, kind or component", async () => {
    const { backend, proxy, cache } = await setup();
    const c = await client(proxy);
    const read = () => c.readResource({ uri: "data://doc" });
    await read();
    await cache.invalidate({ backend: "backend", kind: "resources", name: "data://doc" });
    await read();
    await cache.invalidate({ backend: "backend", kind: "prompts" });
    await read();
    await cache.invalidate({ backend: "backend", kind: "resources" });
    await read();
    await cache.invalidate({ backend: "backend" });
    await read();
    await cache.invalidate();
    await read();
    expect(backend.runs.doc).toBe(5);
  });
});

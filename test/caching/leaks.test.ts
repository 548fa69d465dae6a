// The five ways one caller or deployment could read another's data through a shared Redis
// (issue 19), each against a real redis-server: anonymous callers, deployments that differ only in
// their server's spec, down-scoped tokens, and the Redis event store (outages and foreign event ids).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy, type Backend, type SessionOwner } from "@fastmcp-proxy/core";
import type { HttpHandler } from "@fastmcp-proxy/core/advanced";
import { backendAuthFromConfig } from "@fastmcp-proxy/auth";
import { RedisEventStores, caching, redisStore, type CachingOptions } from "@fastmcp-proxy/caching";
import { client, countingBackend, serveHttp, text, type CountingBackend } from "./fixtures.js";
import { redisAvailable, startRedis, testRedis, type RedisServer } from "./redis-server.js";

let redis: RedisServer | undefined;
let cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  if (redisAvailable) redis = await testRedis();
});
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});
afterAll(async () => {
  await redis?.stop();
});

/** A proxy in front of `backend` with a cache on the shared Redis, under `prefix`. */
async function cached(backend: FastMCPProxy | CountingBackend | object, prefix: string, options: CachingOptions = {}) {
  const proxy = backend instanceof FastMCPProxy ? backend : FastMCPProxy.asProxy("server" in backend ? backend.server : (backend as never));
  const cache = caching({ store: redisStore({ url: redis!.url, prefix }), tools: { lookup: true }, ...options });
  await cache.install(proxy);
  cleanup.push(() => proxy.close(), () => cache.close());
  return { proxy, cache };
}

const alice = (scopes: string[], token = `alice-${scopes.join("+")}`) => ({ token, clientId: "test", scopes, extra: { identity: "https://idp.test alice" } });
const lookup = (c: Awaited<ReturnType<typeof client>>) => c.callTool({ name: "lookup", arguments: { q: "mine" } });

/** A proxy in front of an HTTP backend that gets each caller's own token (`auth: passthrough`). */
async function passthroughProxy() {
  const backend = countingBackend();
  const http = await serveHttp(backend);
  cleanup.push(() => http.close());
  const config = { mcpServers: { data: { url: http.url, auth: { type: "passthrough" } } } };
  const proxy = FastMCPProxy.asProxy(config);
  proxy.credentials(backendAuthFromConfig(config.mcpServers)!);
  return { backend, proxy, config };
}

describe.runIf(redisAvailable)("no entry crosses callers or deployments (real Redis)", () => {
  it("1. two anonymous clients on their own sessions never share an entry", async () => {
    const backend = countingBackend();
    const { proxy } = await cached(backend, `leak1:${Math.random()}:`);
    const [a, b] = [await client(proxy), await client(proxy)];
    const fromA = await lookup(a);
    expect(text(await lookup(b))).not.toBe(text(fromA));
    expect(text(await lookup(a))).toBe(text(fromA));
    expect(backend.runs.lookup).toBe(2);
  });

  it("1. sharing across anonymous callers is the explicit public partition", async () => {
    const open = countingBackend();
    const { proxy: publicProxy, cache } = await cached(open, `leak1p:${Math.random()}:`, { partition: "public" });
    const [c, d] = [await client(publicProxy), await client(publicProxy)];
    expect(text(await lookup(d))).toBe(text(await lookup(c)));
    expect(open.runs.lookup).toBe(1);
    expect(cache.stats().outcomes).toMatchObject({ miss: 1, hit: 1 });
  });

  it("1. an anonymous stateless request is never stored: no later caller could be it", async () => {
    const backend = countingBackend();
    const { proxy, cache } = await cached(backend, `leak1s:${Math.random()}:`);
    const running = await proxy.run({ transport: "http", port: 0, stateless: true });
    const call = async () => {
      const res = await fetch(running.url!, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "lookup", arguments: { q: "anon" } } }),
      });
      return res.text();
    };
    expect(await call()).toContain("run 1");
    expect(await call()).toContain("run 2");
    expect(cache.stats().outcomes).toEqual({ "bypass:ephemeral": 2 });
  });

  it("2. two deployments whose same-named server differs only in its headers never read each other's entries", async () => {
    const backend = countingBackend();
    const http = await serveHttp(backend);
    cleanup.push(() => http.close());
    const prefix = `leak2:${Math.random()}:`;
    const deploy = (name: string) => FastMCPProxy.asProxy({ mcpServers: { data: { url: http.url, headers: { "x-deployment": name } } } });
    const one = await cached(deploy("one"), prefix);
    const two = await cached(deploy("two"), prefix);
    const token = { token: "shared", clientId: "test", scopes: [], extra: { identity: "https://idp.test carol" } };
    const fromOne = text(await lookup(await client(one.proxy, token)));
    const fromTwo = text(await lookup(await client(two.proxy, token)));
    expect(fromOne).toContain("@one");
    expect(fromTwo).toContain("@two");
    expect(two.cache.stats().outcomes).toMatchObject({ miss: 1 });
  });

  it("2. a deployment namespace in the config puts its keys under their own Redis prefix", async () => {
    const { cacheFromConfig } = await import("@fastmcp-proxy/caching");
    const options = cacheFromConfig({ store: { redis: redis!.url, prefix: "p:" }, namespace: "eu-1" });
    cleanup.push(() => options.store!.close());
    await options.store!.ready?.();
    await options.store!.set("k", "v", 10_000);
    const { Redis } = await import("ioredis");
    const raw = new Redis(redis!.url);
    cleanup.push(() => raw.quit());
    expect(await raw.get("p:eu-1:k")).toBe("v");
  });

  it("3. on a backend that acts with each caller's token, a down-scoped token of the same subject is not given the wider one's result", async () => {
    const { backend, proxy } = await passthroughProxy();
    const { cache } = await cached(proxy, `leak3:${Math.random()}:`);
    const full = await lookup(await client(proxy, alice(["read", "write"])));
    const narrow = await lookup(await client(proxy, alice(["read"])));
    expect(text(narrow)).not.toBe(text(full));
    expect(backend.runs.lookup).toBe(2);
    // The same scope set, in another order and on another token, is the same partition.
    expect(text(await lookup(await client(proxy, alice(["write", "read"], "alice-again"))))).toBe(text(full));
    expect(cache.stats().outcomes).toMatchObject({ miss: 2, hit: 1 });
  });

  it("3. partition public never applies to a backend that acts with each caller's token", async () => {
    const { proxy, config } = await passthroughProxy();
    await cached(proxy, `leak3p:${Math.random()}:`, { partition: "public" });
    const bob = { token: "bob", clientId: "test", scopes: ["read"], extra: { identity: "https://idp.test bob" } };
    const fromAlice = await lookup(await client(proxy, alice(["read"])));
    expect(text(await lookup(await client(proxy, bob)))).not.toBe(text(fromAlice));

    const refused = FastMCPProxy.asProxy(config).credentials(backendAuthFromConfig(config.mcpServers)!);
    cleanup.push(() => refused.close());
    const cache = caching({ servers: { data: { partition: "public" } } });
    cleanup.push(() => cache.close());
    await expect(cache.install(refused)).rejects.toThrow(/servers\.data\.partition is "public", but that server acts with each caller's own credentials/);
  });

  it("3. a backend made per caller in code (no auth in its config) is per tenant and scopes, even under partition public", async () => {
    const backend = countingBackend();
    const http = await serveHttp(backend);
    cleanup.push(() => http.close());
    const proxy = FastMCPProxy.asProxy({ mcpServers: { data: { url: http.url } } });
    // The caller's own token, as passthrough would send it: given in code, so the config says nothing.
    const ownToken = async (_backend: Backend, who: SessionOwner) => (who.authInfo ? { headers: { authorization: `Bearer ${who.authInfo.token}` } } : undefined);
    proxy.credentials(Object.assign(ownToken, { perCaller: (b: Backend) => b.name === "data" }));
    expect(proxy.isPerCaller(proxy.backends[0]!)).toBe(true);
    await cached(proxy, `leak3c:${Math.random()}:`, { partition: "public" });
    const bob = { token: "bob", clientId: "test", scopes: ["read"], extra: { identity: "https://idp.test bob" } };
    const fromAlice = text(await lookup(await client(proxy, alice(["read", "write"]))));
    expect(text(await lookup(await client(proxy, bob)))).not.toBe(fromAlice);
    expect(text(await lookup(await client(proxy, alice(["read"]))))).not.toBe(fromAlice);
    expect(text(await lookup(await client(proxy, alice(["write", "read"], "alice-again"))))).toBe(fromAlice);
    expect(backend.runs.lookup).toBe(3);
  });

  it("3. scopes: true puts the granted scopes in the partition for any backend", async () => {
    const backend = countingBackend();
    const { proxy } = await cached(backend, `leak3s:${Math.random()}:`, { scopes: true });
    await lookup(await client(proxy, alice(["read", "write"])));
    await lookup(await client(proxy, alice(["read"])));
    expect(backend.runs.lookup).toBe(2);
  });
});

describe.runIf(redisAvailable)("the Redis event store keeps streams private and alive", () => {
  let own: RedisServer | undefined;
  let server: Server | undefined;
  let handler: HttpHandler | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await handler?.close();
    await own?.stop();
    [own, server, handler] = [undefined, undefined, undefined];
  });

  /** A proxy's streamable HTTP front with Redis event stores; its URL and a session opened on it. */
  async function front(events: RedisEventStores) {
    const proxy = FastMCPProxy.asProxy(countingBackend().server);
    cleanup.push(() => proxy.close(), () => events.close());
    handler = proxy.httpHandler({ eventStore: () => events.create() });
    server = createServer((req, res) => void handler!(req, res));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    const open = async () => {
      const init = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "r", version: "1" } } }),
      });
      const session = init.headers.get("mcp-session-id")!;
      await init.text();
      const withSession = { ...headers, "mcp-session-id": session };
      await fetch(url, { method: "POST", headers: withSession, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
      const call = (q: string) =>
        fetch(url, { method: "POST", headers: withSession, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "lookup", arguments: { q } } }) });
      return { session, call };
    };
    return { url, open };
  }

  it("4. with Redis down, an answer sent over SSE still arrives (not resumable), logged once and counted", async () => {
    own = await startRedis();
    const warnings: string[] = [];
    const events = new RedisEventStores({ url: own.url, logger: { warn: (m) => void warnings.push(m) } });
    await events.ready();
    const { open } = await front(events);
    const session = await open();
    await own.stop();
    const answered = await session.call("after-outage");
    expect(answered.headers.get("content-type")).toContain("text/event-stream");
    expect(await answered.text()).toContain("after-outage/1");
    expect(events.unstored).toBeGreaterThan(0);
    expect(warnings.filter((w) => w.includes("not resumable"))).toHaveLength(1);
  });

  it("5. a session's event id replays nothing to another session; a foreign, malformed or out-of-range id is a fresh stream, never a 500", async () => {
    const events = new RedisEventStores({ url: redis!.url, prefix: `leak5:${Math.random()}:` });
    await events.ready();
    const { url, open } = await front(events);
    const victim = await open();
    const stream = await (await victim.call("secret")).text();
    const victimId = [...stream.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!)[0]!;
    expect(stream).toContain("secret/1");

    // Directly: another session's store does not know the id.
    const replayed: unknown[] = [];
    expect(await events.create().replayEventsAfter(victimId, { send: async (_id, m) => void replayed.push(m) })).toBe("");
    expect(await events.create().getStreamIdForEventId?.(victimId)).toBeUndefined();
    expect(replayed).toEqual([]);

    // Over HTTP: a session resuming with another session's id, a malformed id, or an out-of-range
    // one of its own stream, gets a fresh stream with nothing of the victim's.
    const [namespace, streamPart] = victimId.split(".");
    const resumes: [Awaited<ReturnType<typeof open>>, string][] = [
      [await open(), victimId],
      [await open(), "garbage"],
      [victim, `${namespace}.${streamPart}.99999999999999999999999-0`],
    ];
    for (const [session, lastEventId] of resumes) {
      const controller = new AbortController();
      const res = await fetch(url, {
        headers: { accept: "text/event-stream", "mcp-session-id": session.session, "mcp-protocol-version": "2025-11-25", "last-event-id": lastEventId },
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))]);
      expect(first?.value ? new TextDecoder().decode(first.value) : "").not.toContain("secret");
      controller.abort();
    }
  });
});

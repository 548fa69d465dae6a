// Rate limits per caller: a token bucket per tenant (and per tool), 429 with Retry-After over HTTP,
// a JSON-RPC error on a front without HTTP; one caller's burst never uses another's allowance.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Redis } from "ioredis";
import { rateLimit, redisBuckets } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { redisAvailable, startRedis, testRedis } from "../caching/redis-server.js";
import { connectClient, rejection } from "../helpers.js";
import { call, notesServer, openSession, startFront, type Front } from "./setup.js";

let front: Front | undefined;
let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await front?.close();
  await proxy?.close();
  front = proxy = undefined;
});

describe("rate limits per caller", () => {
  it("HTTP: past its bucket a principal gets 429 with Retry-After, while another principal is unaffected", async () => {
    front = await startFront({ rules: false, configure: (p) => void p.use(rateLimit({ capacity: 3, perSecond: 0.01 })) });
    const alice = await front.as.mint({ sub: "alice" });
    const bob = await front.as.mint({ sub: "bob" });
    const aliceSession = await openSession(front.url, alice);
    const bobSession = await openSession(front.url, bob);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(front.url, alice, aliceSession, "read_notes", {}, 10 + i));
    expect(answers.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    const limited = answers[3]!;
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.body.error.message).toMatch(/Too many requests: retry in \d+ s/);
    // Bob's allowance is his own; and a new session of alice's is still alice.
    expect((await call(front.url, bob, bobSession, "read_notes")).status).toBe(200);
    expect((await call(front.url, alice, await openSession(front.url, alice), "read_notes")).status).toBe(429);
  });

  it("per tool: a bucket per caller and tool, beside the caller's own", async () => {
    front = await startFront({ rules: false, configure: (p) => void p.use(rateLimit({ capacity: 100, perSecond: 1, perTool: { capacity: 1, perSecond: 0.01 } })) });
    const alice = await front.as.mint({ sub: "alice" });
    const session = await openSession(front.url, alice);
    expect((await call(front.url, alice, session, "read_notes", {}, 3)).status).toBe(200);
    const limited = await call(front.url, alice, session, "read_notes", {}, 4);
    expect(limited.status).toBe(429);
    expect(limited.body.error.message).toMatch(/to read_notes/);
    expect((await call(front.url, alice, session, "ops_restart", {}, 5)).status).toBe(200);
  });

  it("without HTTP: a JSON-RPC error naming when to retry", async () => {
    proxy = FastMCPProxy.asProxy(notesServer()).use(rateLimit({ capacity: 1, perSecond: 0.5 }));
    const client = await connectClient(proxy);
    await client.callTool({ name: "read_notes" });
    const error = await rejection(client.callTool({ name: "read_notes" }));
    expect(error.message).toMatch(/Too many requests: retry in 2 s/);
    expect(error.data.http).toEqual({ status: 429, headers: { "retry-after": "2" } });
  });

  it("refuses a bucket that could never serve a request", () => {
    expect(() => rateLimit({ capacity: 0, perSecond: 1 })).toThrow(/capacity must be at least 1/);
    expect(() => rateLimit({ capacity: 1, perSecond: 1, perTool: { capacity: 1, perSecond: 0 } })).toThrow(/perSecond above 0/);
  });
});

describe.runIf(redisAvailable)("rate limits shared by replicas (Redis)", () => {
  it("a principal's calls to two proxies draw from one bucket; another principal's do not", async () => {
    const server = await testRedis();
    const clients = [new Redis(server.url), new Redis(server.url)];
    const as = await TestAuthServer.start();
    const fronts: Front[] = [];
    try {
      for (const redis of clients) fronts.push(await startFront({ as, rules: false, configure: (p) => void p.use(rateLimit({ capacity: 3, perSecond: 0.01, store: redisBuckets(redis, { prefix: `test:${process.pid}:` }) })) }));
      const [a, b] = fronts as [Front, Front];
      const alice = { a: await as.mint({ sub: "alice", aud: a.url }), b: await as.mint({ sub: "alice", aud: b.url }) };
      const sessions = { a: await openSession(a.url, alice.a), b: await openSession(b.url, alice.b) };
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const [front, token, session] = i % 2 ? [b, alice.b, sessions.b] : [a, alice.a, sessions.a];
        statuses.push((await call(front.url, token, session, "read_notes", {}, 10 + i)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const bob = await as.mint({ sub: "bob", aud: b.url });
      expect((await call(b.url, bob, await openSession(b.url, bob), "read_notes")).status).toBe(200);
    } finally {
      for (const front of fronts) await front.close();
      await as.close();
      for (const redis of clients) redis.disconnect();
      await server.stop();
    }
  });

  it("with Redis unreachable, a take lets the call through and reports why", async () => {
    const server = await startRedis();
    await server.stop();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    const errors: string[] = [];
    proxy = FastMCPProxy.asProxy(notesServer()).use(rateLimit({ capacity: 1, perSecond: 0.01, store: redisBuckets(redis, { timeoutMs: 200, onError: (e) => void errors.push(e.message) }) }));
    const client = await connectClient(proxy);
    await client.callTool({ name: "read_notes" });
    await client.callTool({ name: "read_notes" });
    expect(errors.length).toBe(2);
    redis.disconnect();
  });
});

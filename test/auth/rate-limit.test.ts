// Rate limits per caller: a token bucket per tenant (and per tool), 429 with Retry-After over HTTP,
// a JSON-RPC error on a front without HTTP; one caller's burst never uses another's allowance.
import http from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Redis } from "ioredis";
import { apiKeys, rateLimit, redisBuckets } from "@fastmcp-proxy/auth";
import { TestAuthServer } from "../fixtures/auth-server.js";
import { redisAvailable, startRedis, testRedis } from "../caching/redis-server.js";
import { connectClient, rejection } from "../helpers.js";
import { call, notesServer, openSession, post, startFront, type Front } from "./setup.js";

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

  it("HTTP front: a principal found over its limit is refused before its body is read, while another is served", async () => {
    const limit = rateLimit({ capacity: 1, perSecond: 0.01 });
    front = await startFront({ rules: false, configure: (p) => void p.use(limit), authenticate: limit.front });
    const bob = await front.as.mint({ sub: "bob" });
    const alice = await front.as.mint({ sub: "alice" });
    const bobSession = await openSession(front.url, bob);
    expect((await call(front.url, bob, bobSession, "read_notes", {}, 2)).status).toBe(200);
    expect((await call(front.url, bob, bobSession, "read_notes", {}, 3)).status).toBe(429);
    // Half a body, the rest never sent: the 429 comes anyway, from the front.
    const { head, socket } = await headOf(front.url, bob, bobSession, 1000, 500);
    expect(head).toMatch(/^HTTP\/1\.1 429 /);
    expect(Number(/\r\nretry-after: (\d+)\r\n/i.exec(head)?.[1])).toBeGreaterThan(0);
    socket.destroy();
    expect((await call(front.url, alice, await openSession(front.url, alice), "read_notes")).status).toBe(200);
  });

  it("HTTP front: a request refused unread does not break the next one on its keep-alive connection", async () => {
    const limit = rateLimit({ capacity: 2, perSecond: 0.01 });
    front = await startFront({ rules: false, configure: (p) => void p.use(limit), authenticate: limit.front });
    const bob = await front.as.mint({ sub: "bob" });
    const alice = await front.as.mint({ sub: "alice" });
    const [bobSession, aliceSession] = [await openSession(front.url, bob), await openSession(front.url, alice)];
    for (const id of [2, 3]) await call(front.url, bob, bobSession, "read_notes", {}, id);
    expect((await call(front.url, bob, bobSession, "read_notes", {}, 30)).status).toBe(429);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A body the front never reads (still arriving, or in full), then alice's call on the same connection.
      for (const [id, filler] of [[4, 100_000], [6, 10]] as const) {
        const refused = await keepAlivePost(agent, front.url, bob, bobSession, { id, name: "read_notes", arguments: { filler: "x".repeat(filler) } });
        expect(refused.status).toBe(429);
        const served = await keepAlivePost(agent, front.url, alice, aliceSession, { id: id + 1, name: "read_notes", arguments: {} });
        expect(served.reused).toBe(true);
        expect(served.status).toBe(200);
        expect(JSON.parse(served.body)).toMatchObject({ id: id + 1, result: { content: [{ text: "notes" }] } });
      }
    } finally {
      agent.destroy();
    }
  });

  it("HTTP front: a principal that keeps sending reaches the pipeline about once per token, the rest refused at the front", async () => {
    const limit = rateLimit({ capacity: 2, perSecond: 4 });
    let reached = 0;
    const count = async (_ctx: unknown, next: () => Promise<unknown>) => (reached++, next());
    front = await startFront({ rules: false, configure: (p) => void p.use(count as never).use(limit), authenticate: limit.front });
    const bob = await front.as.mint({ sub: "bob" });
    const session = await openSession(front.url, bob);
    const statuses: number[] = [];
    for (let id = 10; statuses.filter((s) => s === 200).length < 6 && id < 5000; id++) statuses.push((await call(front.url, bob, session, "read_notes", {}, id)).status);
    const answered = statuses.filter((s) => s === 200).length;
    expect(answered).toBe(6);
    expect(statuses.length).toBeGreaterThan(answered + 2);
    // Refused in the pipeline: the first time bob was found empty, and at most once more (a token due a ms late).
    expect(reached - answered).toBeLessThanOrEqual(2);
  });

  it("the 2026-07-28 front: the same bucket, 429 from the pipeline and then from the front", async () => {
    const limit = rateLimit({ capacity: 1, perSecond: 0.01 });
    front = await startFront({ rules: false, configure: (p) => void p.use(limit), authenticate: limit.front });
    const bob = await front.as.mint({ sub: "bob" });
    const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
    const modern = (id: number) =>
      post(front!.url, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "read_notes", arguments: {}, _meta: meta } }, { authorization: `Bearer ${bob}`, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "read_notes" });
    expect((await modern(1)).status).toBe(200);
    for (const id of [2, 3]) {
      const refused = await modern(id);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(refused.body.error.message).toMatch(/Too many requests: retry in \d+ s/);
    }
  });

  it("maxInFlight: a caller holding that many calls open gets 429 at once, while another is served", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const backend = () => {
      const server = notesServer();
      server.registerTool("slow", { description: "answers when the test says" }, async () => (await gate, { content: [{ type: "text" as const, text: "done" }] }));
      return server;
    };
    front = await startFront({ rules: false, backend, configure: (p) => void p.use(rateLimit({ capacity: 100, perSecond: 100, maxInFlight: 2 })) });
    const bob = await front.as.mint({ sub: "bob" });
    const alice = await front.as.mint({ sub: "alice" });
    const bobSession = await openSession(front.url, bob);
    const held = [call(front.url, bob, bobSession, "slow", {}, 2), call(front.url, bob, bobSession, "slow", {}, 3)];
    // Both held calls are in the pipeline once a third one is refused for them (bounded: 200 tries).
    let third = await call(front.url, bob, bobSession, "read_notes", {}, 4);
    for (let id = 5; third.status === 200 && id < 205; id++) third = await call(front.url, bob, bobSession, "read_notes", {}, id);
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/Too many requests in flight: 2 \(at most 2\)/);
    expect(third.headers.get("retry-after")).toBe("1");
    expect((await call(front.url, alice, await openSession(front.url, alice), "read_notes")).status).toBe(200);
    release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect((await call(front.url, bob, bobSession, "read_notes", {}, 300)).status).toBe(200);
  });

  it("refuses a bucket that could never serve a request", () => {
    expect(() => rateLimit({ capacity: 0, perSecond: 1 })).toThrow(/capacity must be at least 1/);
    expect(() => rateLimit({ capacity: 1, perSecond: 1, perTool: { capacity: 1, perSecond: 0 } })).toThrow(/perSecond above 0/);
    expect(() => rateLimit({ capacity: 1, perSecond: 1, maxInFlight: 0 })).toThrow(/maxInFlight must be at least 1/);
  });
});

describe.runIf(redisAvailable)("rate limits shared by replicas (Redis)", () => {
  it("a principal's calls to two proxies draw from one bucket; another principal's do not", async () => {
    const server = await testRedis();
    const clients = [new Redis(server.url), new Redis(server.url)];
    const as = await TestAuthServer.start();
    const fronts: Front[] = [];
    try {
      for (const redis of clients) {
        const limit = rateLimit({ capacity: 3, perSecond: 0.01, store: redisBuckets(redis, { namespace: `test-${process.pid}` }) });
        fronts.push(await startFront({ as, rules: false, configure: (p) => void p.use(limit), authenticate: limit.front }));
      }
      const [a, b] = fronts as [Front, Front];
      const alice = { a: await as.mint({ sub: "alice", aud: a.url }), b: await as.mint({ sub: "alice", aud: b.url }) };
      const sessions = { a: await openSession(a.url, alice.a), b: await openSession(b.url, alice.b) };
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const [front, token, session] = i % 2 ? [b, alice.b, sessions.b] : [a, alice.a, sessions.a];
        statuses.push((await call(front.url, token, session, "read_notes", {}, 10 + i)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      // Refused at b's front now, and by the shared bucket at a's.
      expect((await call(b.url, alice.b, sessions.b, "read_notes", {}, 20)).status).toBe(429);
      expect((await call(a.url, alice.a, sessions.a, "read_notes", {}, 21)).status).toBe(429);
      const bob = await as.mint({ sub: "bob", aud: b.url });
      expect((await call(b.url, bob, await openSession(b.url, bob), "read_notes")).status).toBe(200);
    } finally {
      for (const front of fronts) await front.close();
      await as.close();
      for (const redis of clients) redis.disconnect();
      await server.stop();
    }
  });

  it("two deployments on one Redis keep their buckets apart, though their callers share an identity (an API key's subject); a deployment must name itself", async () => {
    const server = await testRedis();
    const redis = new Redis(server.url);
    const as = await TestAuthServer.start();
    const fronts: Front[] = [];
    try {
      expect(() => redisBuckets(redis, {} as never)).toThrow(/give this deployment's name as \{ namespace \}/);
      expect(() => redisBuckets(redis, { namespace: "a b" })).toThrow(/1-64 letters/);
      // Each deployment has a caller "alice" of its own: one API key each, one subject.
      for (const [namespace, key] of [[`east-${process.pid}`, "key-of-east-alice"], [`west-${process.pid}`, "key-of-west-alice"]] as [string, string][]) {
        const limit = rateLimit({ capacity: 2, perSecond: 0.01, store: redisBuckets(redis, { namespace }) });
        fronts.push(await startFront({ as, rules: false, bearer: { verifier: apiKeys([{ subject: "alice", key }]) }, configure: (p) => void p.use(limit), authenticate: limit.front }));
      }
      const [east, west] = fronts as [Front, Front];
      const westSession = await openSession(west.url, "key-of-west-alice");
      const westStatuses = [];
      for (let i = 0; i < 3; i++) westStatuses.push((await call(west.url, "key-of-west-alice", westSession, "read_notes", {}, 10 + i)).status);
      expect(westStatuses).toEqual([200, 200, 429]);
      // East's alice is another caller: her bucket is untouched.
      const eastSession = await openSession(east.url, "key-of-east-alice");
      expect((await call(east.url, "key-of-east-alice", eastSession, "read_notes", {}, 20)).status).toBe(200);
    } finally {
      for (const front of fronts) await front.close();
      await as.close();
      redis.disconnect();
      await server.stop();
    }
  });

  it("with Redis unreachable, a take lets the call through and reports why", async () => {
    const server = await startRedis();
    await server.stop();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    const errors: string[] = [];
    proxy = FastMCPProxy.asProxy(notesServer()).use(rateLimit({ capacity: 1, perSecond: 0.01, store: redisBuckets(redis, { namespace: "unreachable", timeoutMs: 200, onError: (e) => void errors.push(e.message) }) }));
    const client = await connectClient(proxy);
    await client.callTool({ name: "read_notes" });
    await client.callTool({ name: "read_notes" });
    expect(errors.length).toBe(2);
    redis.disconnect();
  });
});

/** A tools/call POST of which only `sent` of `length` body bytes are sent; resolves with the answer's head, once it has come. */
function headOf(url: string, token: string, session: string, length: number, sent: number): Promise<{ head: string; socket: ReturnType<typeof connect> }> {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  const head = [`POST ${pathname} HTTP/1.1`, `host: ${hostname}:${port}`, `authorization: Bearer ${token}`, `mcp-session-id: ${session}`, "mcp-protocol-version: 2025-06-18"];
  head.push("content-type: application/json", "accept: application/json, text/event-stream", `content-length: ${length}`, "", "");
  socket.write(head.join("\r\n") + `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"read_notes","arguments":{"filler":"`.padEnd(sent, "x"));
  return new Promise((resolve, reject) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\r\n\r\n")) resolve({ head: text.slice(0, text.indexOf("\r\n\r\n") + 2), socket });
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed before an answer: ${JSON.stringify(text)}`)));
  });
}

/** A tools/call on a keep-alive agent: its status, body, and whether it went on a reused connection. */
function keepAlivePost(agent: http.Agent, url: string, token: string, session: string, call: { id: number; name: string; arguments: object }) {
  const body = JSON.stringify({ jsonrpc: "2.0", id: call.id, method: "tools/call", params: { name: call.name, arguments: call.arguments } });
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
  return new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

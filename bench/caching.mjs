#!/usr/bin/env node
// node [--expose-gc] bench/caching.mjs [--rounds 3] [--duration 1500] [--concurrency 16] [--quick]
//
// What @fastmcp-proxy/caching buys and costs:
// - resources/read through the proxy's HTTP front on a backend that takes 5 ms per read, with and
//   without the cache (memory store), at c=16, raw JSON-RPC POSTs on keep-alive sockets, A B A B;
// - the added p50 of a hit: the cache middleware alone answering from the memory store, and from
//   Redis on loopback (a redis-server started here, or FASTMCP_TEST_REDIS_URL);
// - memory: bytes per cached entry against the payload size (store count, and heap with --expose-gc;
//   Redis used_memory).
// Everything listens on 127.0.0.1; every loop is bounded; the redis-server started here is stopped by PID.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { delimiter, join } from "node:path";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { caching, memoryStore, redisStore } from "@fastmcp-proxy/caching";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ListResourceTemplatesRequestSchema, ListResourcesRequestSchema, ReadResourceRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { keepAliveAgent, percentile, rawSession, runLoad, sdkCall, summarise } from "./lib/load.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const ROUNDS = opt("--rounds", quick ? 1 : 3);
const DURATION = opt("--duration", quick ? 600 : 1500);
const CONCURRENCY = opt("--concurrency", 16);
const HIT_SAMPLES = quick ? 5_000 : 20_000;
const ENTRIES = quick ? 500 : 2_000;

/** A backend whose reads take `delayMs` and return `bytes` of text; `bench://items/{n}` for distinct entries. */
function slowBackend({ delayMs = 5, bytes = 1024 } = {}) {
  const server = new Server({ name: "bench-slow", version: "1.0.0" }, { capabilities: { resources: {} } });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: [{ uri: "bench://doc", name: "doc" }] }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [{ uriTemplate: "bench://items/{n}", name: "item" }] }));
  const payload = "x".repeat(bytes);
  server.setRequestHandler(ReadResourceRequestSchema, async ({ params }) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return { contents: [{ uri: params.uri, text: payload }] };
  });
  return server;
}

// ── Throughput: cached vs uncached resources/read at c=16 ────────────────────────────────────────

async function httpVariant(cached) {
  const proxy = FastMCPProxy.asProxy(slowBackend(), { logLevel: "error" });
  const cache = cached ? caching({ store: memoryStore() }) : undefined;
  if (cache) await cache.install(proxy);
  const { url } = await proxy.run({ transport: "http", port: 0 });
  const agent = keepAliveAgent(CONCURRENCY);
  const session = await rawSession(url, agent, { request: { method: "resources/read", params: { uri: "bench://doc" } } });
  return {
    run: () => runLoad(session.call, { concurrency: CONCURRENCY, maxCalls: 1_000_000, durationMs: DURATION, warmup: 100 }),
    async close() {
      agent.destroy();
      await proxy.close();
      await cache?.close();
    },
  };
}

/** The same through an in-memory front: an SDK client in this process, results not validated. */
async function inProcessVariant(cached) {
  const proxy = FastMCPProxy.asProxy(slowBackend(), { logLevel: "error" });
  const cache = cached ? caching({ store: memoryStore() }) : undefined;
  if (cache) await cache.install(proxy);
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientSide);
  const call = sdkCall(client, { method: "resources/read", params: { uri: "bench://doc" } });
  return {
    run: () => runLoad(call, { concurrency: CONCURRENCY, maxCalls: 1_000_000, durationMs: DURATION, warmup: 100 }),
    async close() {
      await client.close();
      await proxy.close();
      await cache?.close();
    },
  };
}

async function throughput(variant) {
  const variants = { uncached: await variant(false), cached: await variant(true) };
  const runs = { uncached: [], cached: [] };
  for (let round = 0; round < ROUNDS; round++) for (const name of ["uncached", "cached"]) runs[name].push(await variants[name].run());
  for (const v of Object.values(variants)) await v.close();
  return { uncached: summarise(runs.uncached), cached: summarise(runs.cached) };
}

// ── The added latency of a hit: the middleware alone, on a real request's context ──────────────

async function hitLatency(store) {
  const proxy = FastMCPProxy.asProxy(slowBackend({ delayMs: 0 }), { logLevel: "error" });
  let ctx;
  proxy.use(function capture(c, next) {
    ctx = c;
    return next();
  });
  const cache = caching({ store });
  await cache.install(proxy);
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientSide);
  await client.readResource({ uri: "bench://doc" }); // the miss that stores it; ctx captured
  const never = () => Promise.reject(new Error("a hit must not call next()"));
  const samples = new Float64Array(HIT_SAMPLES);
  for (let i = 0; i < 500; i++) await cache(ctx, never); // warm-up
  for (let i = 0; i < HIT_SAMPLES; i++) {
    const t = process.hrtime.bigint();
    await cache(ctx, never);
    samples[i] = Number(process.hrtime.bigint() - t) / 1e3;
  }
  samples.sort();
  const outcome = ctx.state.cache;
  await client.close();
  await proxy.close();
  await cache.close();
  if (outcome !== "hit") throw new Error(`expected hits, got ${outcome}`);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

// ── Memory per entry ────────────────────────────────────────────────────────────────────────────

async function fill(store, bytes) {
  const proxy = FastMCPProxy.asProxy(slowBackend({ delayMs: 0, bytes }), { logLevel: "error" });
  const cache = caching({ store });
  await cache.install(proxy);
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientSide);
  const before = heap();
  for (let n = 0; n < ENTRIES; n++) await client.readResource({ uri: `bench://items/${n}` });
  const after = heap();
  await client.close();
  await proxy.close();
  return { cache, heapPerEntry: before !== undefined && after !== undefined ? (after - before) / ENTRIES : undefined };
}

function heap() {
  if (typeof globalThis.gc !== "function") return undefined;
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function memoryPerEntry(bytes) {
  const store = memoryStore({ maxEntries: ENTRIES * 4, maxBytes: 1 << 30 });
  const { cache, heapPerEntry } = await fill(store, bytes);
  const stats = store.stats();
  // Entries are the results; the rest of the keys are generation stamps (a few, shared).
  const result = { counted: stats.bytes / ENTRIES, heap: heapPerEntry, keys: stats.entries };
  await cache.close();
  return result;
}

async function redisPerEntry(url, bytes) {
  const store = redisStore({ url, prefix: `bench:${bytes}:${Date.now()}:` });
  await store.ready();
  const used = async () => Number(/used_memory:(\d+)/.exec(await store.client.info("memory"))[1]);
  const before = await used();
  const { cache } = await fill(store, bytes);
  const after = await used();
  await cache.close();
  return (after - before) / ENTRIES;
}

// ── Redis for the Redis rows ────────────────────────────────────────────────────────────────────

async function redis() {
  if (process.env.FASTMCP_TEST_REDIS_URL) return { url: process.env.FASTMCP_TEST_REDIS_URL, stop: async () => {} };
  const binary = (process.env.PATH ?? "").split(delimiter).map((d) => join(d, "redis-server")).find((p) => existsSync(p));
  if (!binary) return undefined;
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const child = spawn(binary, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await exited;
  };
  const deadline = Date.now() + 5000;
  while (!(await pong(port))) {
    if (Date.now() > deadline) {
      await stop();
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}

function pong(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok) => (socket.destroy(), resolve(ok));
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

// ── Run and print ───────────────────────────────────────────────────────────────────────────────

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const rows = [];
for (const [front, variant] of [["HTTP front", httpVariant], ["in-process front", inProcessVariant]]) {
  const t = await throughput(variant);
  rows.push([`resources/read, 5 ms backend, c=${CONCURRENCY}, ${front}, uncached`, `${fmt(t.uncached.rps)} req/s`, `p50 ${fmt(t.uncached.p50 / 1000, 2)} ms`]);
  rows.push([`resources/read, 5 ms backend, c=${CONCURRENCY}, ${front}, cached (memory)`, `${fmt(t.cached.rps)} req/s`, `p50 ${fmt(t.cached.p50 / 1000, 2)} ms; ${fmt(t.cached.rps / t.uncached.rps, 1)}× uncached`]);
}
const memoryHit = await hitLatency(memoryStore());
rows.push(["added latency of a hit, memory store", `p50 ${fmt(memoryHit.p50, 1)} µs`, `p99 ${fmt(memoryHit.p99, 1)} µs`]);
const server = await redis();
try {
  if (server) {
    const redisHit = await hitLatency(redisStore({ url: server.url, prefix: `bench:hit:${Date.now()}:` }));
    rows.push(["added latency of a hit, Redis on loopback", `p50 ${fmt(redisHit.p50, 1)} µs`, `p99 ${fmt(redisHit.p99, 1)} µs`]);
  } else {
    rows.push(["added latency of a hit, Redis on loopback", "—", "no redis-server (apt-get install redis-server)"]);
  }
  for (const bytes of [100, 1024, 10 * 1024]) {
    const m = await memoryPerEntry(bytes);
    const r = server ? await redisPerEntry(server.url, bytes) : undefined;
    rows.push([`bytes per entry, ${fmt(bytes)} B payload`, `memory: ${fmt(m.counted)} counted, ${m.heap === undefined ? "heap — (run with --expose-gc)" : `${fmt(m.heap)} heap`}`, `Redis: ${fmt(r)} used_memory`]);
  }
} finally {
  await server?.stop();
}

const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`\n@fastmcp-proxy/caching (${ROUNDS} round(s) of ${DURATION} ms, c=${CONCURRENCY}; ${ENTRIES} entries per size)\n`);
for (const r of rows) console.log(`  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);
console.log("");

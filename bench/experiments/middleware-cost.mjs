#!/usr/bin/env node
// What each middleware of @fastmcp-proxy/logging costs, two ways, alternated rounds, CPU per call:
//  1. alone: the middleware around a next() that resolves at once (nothing else runs);
//  2. in a proxy: tools/call through FastMCPProxy in process (InMemoryTransport, SDK client, c=1),
//     the proxy alone and with each middleware.
//
//   node bench/experiments/middleware-cost.mjs [--rounds N] [--calls N]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Registry, logging, metrics } from "@fastmcp-proxy/logging";
import { makeEchoServer } from "../lib/echo.mjs";
import { ECHO_CALL, passthrough } from "../lib/load.mjs";

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const rounds = opt("--rounds", 5);
const calls = opt("--calls", 20_000);
setTimeout(() => (process.stderr.write("middleware-cost: watchdog\n"), process.exit(1)), 170_000).unref();

const sink = { write() {} };
const middlewares = () => ({
  "logging at info (pino JSON to a sink)": logging({ level: "info", destination: sink }),
  "logging at info (pretty to a sink)": logging({ level: "info", format: "pretty", destination: sink, colors: false }),
  metrics: metrics({ registry: new Registry() }),
});

// 1. Alone.
const ctx = {
  method: "tools/call",
  params: ECHO_CALL.params,
  component: { kind: "tool", name: "echo", backend: { name: "backend" } },
  sessionId: "3f2a9c1e-1111-2222-3333-444455556666",
  requestId: 7,
  authInfo: undefined,
  state: {},
};
const result = { content: [{ type: "text", text: "hello, proxy" }] };
const next = () => Promise.resolve(result);
const alone = { "nothing (next() alone)": (_ctx, n) => n(), ...middlewares() };
const aloneCpu = Object.fromEntries(Object.keys(alone).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, mw] of Object.entries(alone)) {
    for (let i = 0; i < 2000; i++) await mw(ctx, next);
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls * 5; i++) await mw(ctx, next);
    const c = process.cpuUsage(c0);
    aloneCpu[name].push((c.user + c.system) / (calls * 5));
  }
}

// 2. In a proxy.
async function inProcess(use) {
  const proxy = FastMCPProxy.asProxy(makeEchoServer(), { name: "bench-proxy" });
  use?.(proxy);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(serverSide);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientSide);
  return { call: () => client.request(ECHO_CALL, passthrough), close: async () => (await client.close(), await proxy.close()) };
}
const mws = middlewares();
const proxies = { "the proxy alone": await inProcess() };
for (const [name, mw] of Object.entries(mws)) proxies[`+ ${name}`] = await inProcess((p) => p.use(mw));
const proxyCpu = Object.fromEntries(Object.keys(proxies).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, p] of Object.entries(proxies)) {
    for (let i = 0; i < 500; i++) await p.call();
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await p.call();
    const c = process.cpuUsage(c0);
    proxyCpu[name].push((c.user + c.system) / calls);
  }
}
await Promise.all(Object.values(proxies).map((p) => p.close()));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const line = (name, xs, base) => `  ${name.padEnd(42)} ${median(xs).toFixed(2).padStart(7)} µs CPU/call${base === undefined ? "" : `  (+${(median(xs) - base).toFixed(2)} µs)`}  [${xs.map((x) => x.toFixed(1)).join(", ")}]`;
const aloneBase = median(aloneCpu["nothing (next() alone)"]);
const proxyBase = median(proxyCpu["the proxy alone"]);
process.stdout.write(`middleware alone (${rounds} rounds of ${calls * 5} calls, median):\n`);
for (const [name, xs] of Object.entries(aloneCpu)) process.stdout.write(`${line(name, xs, name.startsWith("nothing") ? undefined : aloneBase)}\n`);
process.stdout.write(`in a proxy, tools/call in process, c=1 (${rounds} rounds of ${calls} calls, median):\n`);
for (const [name, xs] of Object.entries(proxyCpu)) process.stdout.write(`${line(name, xs, name === "the proxy alone" ? undefined : proxyBase)}\n`);
process.exit(0);

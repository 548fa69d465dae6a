#!/usr/bin/env node
// What one HTTP backend call costs the calling process, by client: core's HttpBackendTransport (no
// SDK Client), a bare node:http POST on a keep-alive agent, and a raw socket per worker writing the
// request as one string and reading a Content-Length answer (the floor of any HTTP/1.1 client).
// The figure is this process's CPU per call (process.cpuUsage: the load loop is in every variant).
//
//   node bench/experiments/http-leg.mjs [--rounds N] [--calls N] [--concurrency C] [--json]
import net from "node:net";
import v8 from "node:v8";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ECHO_CALL, keepAliveAgent, rawSession, runLoad } from "../lib/load.mjs";
import { killAllSync, listening, start, stopAll } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { HttpBackendTransport } = await import(pathToFileURL(join(HERE, "..", "..", "packages", "core", "dist", "backends", "http-transport.js")).href);
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(opt("--rounds", 3));
const calls = Number(opt("--calls", 5000));
const concurrency = Number(opt("--concurrency", 16));
process.on("exit", killAllSync);
setTimeout(() => (process.stderr.write("http-leg: watchdog\n"), process.exit(1)), 170_000).unref();

/** core's transport: an initialize, then tools/call by id, answers matched in onmessage. */
async function transportCaller(url) {
  const transport = new HttpBackendTransport(url);
  const waiting = new Map();
  transport.onmessage = (message) => waiting.get(message.id)?.(message);
  await transport.start();
  let id = 0;
  const ask = (method, params) =>
    new Promise((resolve, reject) => {
      const n = ++id;
      waiting.set(n, (message) => (waiting.delete(n), message.result ? resolve(message.result) : reject(new Error(JSON.stringify(message)))));
      transport.send({ jsonrpc: "2.0", id: n, method, params }).catch(reject);
    });
  await ask("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "leg", version: "1" } });
  transport.setProtocolVersion("2025-06-18");
  await transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return { call: () => ask(ECHO_CALL.method, ECHO_CALL.params), close: () => transport.close() };
}

/** One socket per worker: the request written as one string, the answer framed by Content-Length only. */
async function rawSocketCaller(url, sessionId) {
  const sockets = [];
  let id = 0;
  const connect = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => resolve(socket));
      socket.once("error", reject);
      socket.setNoDelay(true);
    });
  for (let i = 0; i < concurrency; i++) sockets.push(await connect());
  const idle = [...sockets];
  const call = () =>
    new Promise((resolve, reject) => {
      const socket = idle.pop();
      const body = `{"jsonrpc":"2.0","id":${++id},"method":"${ECHO_CALL.method}","params":${JSON.stringify(ECHO_CALL.params)}}`;
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\nmcp-session-id: ${sessionId}\r\nmcp-protocol-version: 2025-06-18\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\naccept: application/json, text/event-stream\r\n\r\n${body}`,
      );
      let text = "";
      const onData = (chunk) => {
        text += chunk;
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1]);
        if (!Number.isFinite(length)) return fail(new Error("no content-length"));
        if (Buffer.byteLength(text) - end - 4 < length) return;
        socket.off("data", onData);
        idle.push(socket);
        const answer = text.slice(end + 4);
        const json = answer.startsWith("{") ? answer : /^data: ?(.*)$/m.exec(answer)?.[1];
        if (!json?.includes('"result"')) return reject(new Error(answer.slice(0, 200)));
        resolve(JSON.parse(json));
      };
      const fail = (error) => (socket.off("data", onData), reject(error));
      socket.setEncoding("utf8");
      socket.on("data", onData);
    });
  return { call, close: () => sockets.forEach((s) => s.destroy()) };
}

/** Bytes allocated from now until the returned function is called (v8.GCProfiler, as bench/lib/alloc-window.mjs). */
function allocationWindow() {
  const profiler = new v8.GCProfiler();
  const usedAtStart = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  return () => {
    const usedAtEnd = v8.getHeapStatistics().used_heap_size;
    let allocated = 0;
    let used = usedAtStart;
    for (const gc of profiler.stop().statistics) {
      allocated += gc.beforeGC.heapStatistics.usedHeapSize - used;
      used = gc.afterGC.heapStatistics.usedHeapSize;
    }
    return allocated + usedAtEnd - used;
  };
}

try {
  const echo = start("echo http", process.execPath, [join(HERE, "..", "echo-server.mjs"), "http", ...(argv.includes("--json") ? ["--json"] : [])]);
  const url = new URL(await listening(echo));
  const agent = keepAliveAgent(concurrency);
  const bare = await rawSession(url.href, agent);
  const variants = [
    ["core HttpBackendTransport", await transportCaller(url)],
    ["bare node:http POST", { call: bare.call, close: () => agent.destroy() }],
    ["raw socket", await rawSocketCaller(url, (await rawSession(url.href, agent)).sessionId)],
  ];
  for (const [, v] of variants) await runLoad(v.call, { concurrency, maxCalls: calls, durationMs: 20_000, warmup: calls, warmupMs: 20_000 });
  const cpu = variants.map(() => []);
  const kb = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, v]] of variants.entries()) {
      const window = allocationWindow();
      const run = await runLoad(v.call, { concurrency, maxCalls: calls, durationMs: 30_000, warmup: 0 });
      cpu[i].push(run.clientCpuMicros / run.calls);
      kb[i].push(window() / run.calls / 1024);
    }
  }
  for (const [i, [label, v]] of variants.entries()) {
    const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
    process.stdout.write(`c=${concurrency} ${label.padEnd(28)} ${median(cpu[i]).toFixed(0).padStart(4)} µs CPU/call, ${median(kb[i]).toFixed(1).padStart(5)} KB/call (medians of ${rounds})\n`);
    await v.close();
  }
} finally {
  await stopAll();
}

#!/usr/bin/env node
// The HTTP backend leg on its own: an SDK Client calling the echo backend over streamable HTTP,
// through the SDK's StreamableHTTPClientTransport (fetch, web streams, zod) and through core's
// HttpBackendTransport (node:http keep-alive agent), alternated. The client CPU per call is what
// the proxy pays for its backend leg with each transport.
//
//   node bench/experiments/http-client.mjs [--rounds N] [--duration MS] [--json]
//
// --json: the echo backend answers in JSON instead of SSE (enableJsonResponse).
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { runLoad, sdkCall, summarise } from "../lib/load.mjs";
import { killAllSync, listening, start, stop } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
// Not exported from core's index: read from its build (`pnpm -r build` or `npx tsc -b packages/core`).
const { HttpBackendTransport } = await import(pathToFileURL(join(HERE, "..", "..", "packages", "core", "dist", "backends", "http-transport.js")).href);

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(opt("--rounds", 3));
const durationMs = Math.min(Number(opt("--duration", 1200)), 10_000);
process.on("exit", killAllSync);
setTimeout(() => (process.stderr.write("http-client: watchdog\n"), process.exit(1)), 120_000).unref();

const echo = start("echo-server http", process.execPath, [join(HERE, "..", "echo-server.mjs"), "http", ...(argv.includes("--json") ? ["--json"] : [])], { cwd: HERE });
const url = new URL(await listening(echo));
const variants = [
  ["SDK StreamableHTTPClientTransport", () => new StreamableHTTPClientTransport(url)],
  ["core HttpBackendTransport", () => new HttpBackendTransport(url)],
];
try {
  for (const c of [1, 16]) {
    const clients = [];
    for (const [, make] of variants) {
      const client = new Client({ name: "bench", version: "1.0.0" });
      await client.connect(make());
      clients.push(client);
    }
    const runs = variants.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < clients.length; i++) {
        runs[i].push(await runLoad(sdkCall(clients[i]), { concurrency: c, maxCalls: 200_000, durationMs, warmup: 2000, warmupMs: 300, cpuPids: [echo.pid] }));
      }
    }
    runs.map(summarise).forEach((s, i) =>
      process.stdout.write(`c=${c} ${variants[i][0].padEnd(36)} ${s.rps.toFixed(0).padStart(6)} calls/s  p50 ${s.p50.toFixed(0).padStart(6)} µs  client CPU ${s.clientCpuPerCall.toFixed(0).padStart(5)} µs/call  echo CPU ${s.cpuPerCall.toFixed(0).padStart(4)} µs/call${s.errors ? `  ${s.errors} errors` : ""}\n`),
    );
    await Promise.all(clients.map((client) => client.close()));
  }
} finally {
  await stop(echo);
}

#!/usr/bin/env node
// What the proxy costs per call on HTTP front → HTTP echo backend (raw POST load): its CPU per call
// (from /proc) and bytes allocated per call (v8.GCProfiler), both robust to load; the echo backend's
// CPU per call beside it. Variants are builds of core, alternated round by round.
//
//   node bench/experiments/http-http-cost.mjs [--rounds N] [--calls N] [--concurrency C] [--json] [--core LABEL=PATH/index.js ...]
//
// Without --core it measures this checkout's build (packages/core/dist). --json: the echo backend
// answers in JSON instead of SSE.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { keepAliveAgent, rawSession, runLoad } from "../lib/load.mjs";
import { cpuMicros, killAllSync, listening, start, stopAll } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE = process.execPath;
const ALLOC_WINDOW = join(HERE, "..", "lib", "alloc-window.mjs");
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(opt("--rounds", 3));
const calls = Number(opt("--calls", 6000));
const concurrency = Number(opt("--concurrency", 16));
process.on("exit", killAllSync);
setTimeout(() => (process.stderr.write("http-http-cost: watchdog\n"), process.exit(1)), 170_000).unref();

const cores = argv.flatMap((a, i) => (a === "--core" && argv[i + 1]?.includes("=") ? [argv[i + 1].split("=")] : []));
if (!cores.length) cores.push(["this checkout", join(HERE, "..", "..", "packages", "core", "dist", "index.js")]);

// The proxy as bench/proxy-server.mjs runs it, from the given build of core.
const proxyScript = (core) => `
const { FastMCPProxy } = await import(${JSON.stringify(pathToFileURL(resolve(core)).href)});
const proxy = FastMCPProxy.asProxy(process.argv[1], { name: "bench-proxy" });
process.on("SIGTERM", () => proxy.close().finally(() => process.exit(0)));
const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
process.stdout.write("LISTENING " + url + "\\n");`;

try {
  const echo = start("echo http", NODE, [join(HERE, "..", "echo-server.mjs"), "http", ...(argv.includes("--json") ? ["--json"] : [])]);
  const backend = await listening(echo);
  const agent = keepAliveAgent(concurrency);
  const variants = [];
  for (const [label, core] of cores) {
    const proxy = start(label, NODE, ["--import", ALLOC_WINDOW, "--input-type=module", "-e", proxyScript(core), backend]);
    const allocated = [];
    proxy.stderrListeners = [(chunk) => allocated.push(...[...chunk.matchAll(/ALLOCATED (\d+)/g)].map((m) => Number(m[1])))];
    const session = await rawSession(await listening(proxy), agent);
    await runLoad(session.call, { concurrency, maxCalls: calls, durationMs: 20_000, warmup: calls, warmupMs: 20_000 });
    variants.push({ label, proxy, session, allocated, runs: [] });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const cpu0 = [cpuMicros(v.proxy.pid), cpuMicros(echo.pid)];
      process.kill(v.proxy.pid, "SIGUSR2");
      const run = await runLoad(v.session.call, { concurrency, maxCalls: calls, durationMs: 30_000, warmup: 0 });
      process.kill(v.proxy.pid, "SIGUSR2");
      const cpu = [cpuMicros(v.proxy.pid) - cpu0[0], cpuMicros(echo.pid) - cpu0[1]];
      for (let i = 0; i < 100 && v.allocated.length <= r; i++) await new Promise((ok) => setTimeout(ok, 20));
      v.runs.push({ proxy: cpu[0] / run.calls, echo: cpu[1] / run.calls, kb: v.allocated[r] / run.calls / 1024, rate: run.calls / run.seconds });
    }
  }
  for (const v of variants) {
    const m = (key) => median(v.runs.map((run) => run[key]));
    process.stdout.write(
      `c=${concurrency} ${v.label.padEnd(16)} proxy ${m("proxy").toFixed(0).padStart(4)} µs CPU/call, ${m("kb").toFixed(1)} KB/call;` +
        ` echo ${m("echo").toFixed(0)} µs/call; ${m("rate").toFixed(0)} calls/s (medians of ${rounds})\n`,
    );
  }
  agent.destroy();
} finally {
  await stopAll();
}

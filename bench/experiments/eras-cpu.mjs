#!/usr/bin/env node
// Proxy CPU per call (from /proc, not wall clock), bytes it allocates per call (v8.GCProfiler, whatever
// the machine's load) and its backend children, HTTP front → stdio (or HTTP) echo backend:
// a legacy session's calls against 2026-07-28 calls declaring input, and declaring none.
//   node bench/experiments/eras-cpu.mjs [--calls N] [--concurrency C] [--over stdio|http] [--identity NAME]
// (--identity: every caller is that one principal, as in the bench's "one known caller" rows)
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FULL_CAPABILITIES, keepAliveAgent, raw2026Caller, rawSession, runLoad } from "../lib/load.mjs";
import { cpuMicros, descendants, killAllSync, listening, start, stop } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const calls = Number(opt("--calls", 3000));
const c = Number(opt("--concurrency", 16));
const over = opt("--over", "stdio");
const ECHO = join(HERE, "..", "echo-server.mjs");
process.on("exit", killAllSync);
setTimeout(() => (killAllSync(), process.exit(1)), 300_000).unref();

let echo;
if (over === "http") {
  echo = start("echo (http)", process.execPath, [ECHO, "http"]);
  echo.url = await listening(echo);
}
const backend = over === "http" ? echo.url : [process.execPath, ECHO, "stdio"];
const proxy = start("proxy", process.execPath, ["--import", join(HERE, "..", "lib", "alloc-window.mjs"), join(HERE, "..", "proxy-server.mjs"), "--front", "http", "--backend", JSON.stringify(backend), ...(opt("--identity") ? ["--identity", opt("--identity")] : [])]);
const url = await listening(proxy);
const measure = async (label, call) => {
  await Promise.all(Array.from({ length: c }, () => call()));
  await runLoad(call, { concurrency: c, maxCalls: 300, durationMs: 60_000, warmup: 0 });
  const cpu0 = cpuMicros(proxy.pid);
  const stderr = [];
  (proxy.stderrListeners ??= []).push((chunk) => stderr.push(chunk));
  process.kill(proxy.pid, "SIGUSR2");
  const r = await runLoad(call, { concurrency: c, maxCalls: calls, durationMs: 60_000, warmup: 0 });
  process.kill(proxy.pid, "SIGUSR2");
  const cpu = (cpuMicros(proxy.pid) - cpu0) / r.calls;
  for (let i = 0; i < 100 && !/ALLOCATED \d+/.test(stderr.join("")); i++) await new Promise((done) => setTimeout(done, 20));
  proxy.stderrListeners.length = 0;
  const bytes = Number(/ALLOCATED (\d+)/.exec(stderr.join(""))?.[1]) / r.calls;
  const kb = (bytes / 1024).toFixed(1);
  console.log(`${label.padEnd(24)} ${String(Math.round(cpu)).padStart(5)} µs CPU/call ${kb.padStart(7)} KB allocated/call  errors ${r.errors}  children ${descendants(proxy.pid).length}`);
};
const agent = keepAliveAgent(c);
const legacy = await rawSession(url, agent);
await measure("legacy session", legacy.call);
await measure("2026, declares none", raw2026Caller(url, agent, { capabilities: {} }));
await measure("2026, declares input", raw2026Caller(url, agent, { capabilities: FULL_CAPABILITIES }));
agent.destroy();
await stop(proxy);
if (echo) await stop(echo);

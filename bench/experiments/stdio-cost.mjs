#!/usr/bin/env node
// What one stdio → stdio call costs the proxy process: CPU µs per call (from /proc), KB allocated per
// call, bytes promoted by the scavenges and GC time per call (v8.GCProfiler, bench/lib/alloc-window.mjs),
// at each concurrency, variants alternated in rounds so they share the machine's load. These figures
// hold on a busy machine (CPU as a range); throughput (k calls/s, last) does not.
//
//   node bench/experiments/stdio-cost.mjs [--rounds N] [--calls N] [--concurrency 16,64] [--proxy LABEL=PATH ...] [--relay] [--forwarder]
//
// --proxy adds a variant: another copy of bench/proxy-server.mjs (e.g. in a copy of the repository at
// an older commit, built). --relay adds the byte relay, the floor of any process; --forwarder the bare
// JSON forwarder (json-forwarder.mjs), the floor of a process that parses and writes each message.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runLoad, sdkCall } from "../lib/load.mjs";
import { CHILD_ENV, adopt, cpuMicros, descendants, killAllSync, stopPid } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE = process.execPath;
const ECHO = [NODE, join(HERE, "..", "echo-server.mjs"), "stdio"];
const ALLOC_WINDOW = join(HERE, "..", "lib", "alloc-window.mjs");
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Math.min(Number(opt("--rounds", 2)), 10);
const calls = Math.min(Number(opt("--calls", 20_000)), 200_000);
const concurrencies = opt("--concurrency", "16,64").split(",").map(Number);
process.on("exit", killAllSync);
setTimeout(() => (process.stderr.write("stdio-cost: watchdog\n"), process.exit(1)), 590_000).unref();

const proxyArgs = (script) => [script, "--front", "stdio", "--backend", JSON.stringify(ECHO)];
const variants = [
  ["this checkout", proxyArgs(join(HERE, "..", "proxy-server.mjs"))],
  ...argv.flatMap((a, i) => (a === "--proxy" && argv[i + 1]?.includes("=") ? [argv[i + 1].split("=")] : [])).map(([label, path]) => [label, proxyArgs(path)]),
  ...(argv.includes("--relay") ? [["byte relay", [join(HERE, "..", "relay.mjs"), ...ECHO]]] : []),
  ...(argv.includes("--forwarder") ? [["json forwarder", [join(HERE, "json-forwarder.mjs"), ...ECHO]]] : []),
];

async function open(label, args) {
  const transport = new StdioClientTransport({ command: NODE, args: ["--import", ALLOC_WINDOW, ...args], env: CHILD_ENV, stderr: "pipe" });
  const endpoint = { label, stderr: "" };
  transport.stderr?.on("data", (chunk) => (endpoint.stderr = (endpoint.stderr + chunk).slice(-4096)));
  endpoint.client = new Client({ name: "bench", version: "1.0.0" });
  await endpoint.client.connect(transport);
  endpoint.pid = transport.pid;
  adopt(endpoint.pid, label);
  return endpoint;
}

/** The process's read and write syscalls and voluntary context switches (sleeps) so far. */
function wakes(pid) {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (text, name) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(text)?.[1] ?? NaN);
  return { reads: field(io, "syscr"), writes: field(io, "syscw"), sleeps: field(status, "voluntary_ctxt_switches") };
}

/** One window of `calls` calls at `concurrency`: proxy CPU µs and KB allocated per call. */
async function window(endpoint, concurrency) {
  const call = sdkCall(endpoint.client);
  await runLoad(call, { concurrency, maxCalls: calls / 2, durationMs: 20_000, warmup: 0 });
  endpoint.stderr = "";
  process.kill(endpoint.pid, "SIGUSR2");
  const backends = descendants(endpoint.pid);
  const backend0 = backends.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const wakes0 = wakes(endpoint.pid);
  const run = await runLoad(call, { concurrency, maxCalls: calls, durationMs: 30_000, warmup: 0, cpuPids: [endpoint.pid] });
  const backendCpu = backends.reduce((sum, pid) => sum + cpuMicros(pid), 0) - backend0;
  const wakes1 = wakes(endpoint.pid);
  const perCall = (key) => (wakes1[key] - wakes0[key]) / run.calls;
  process.kill(endpoint.pid, "SIGUSR2");
  for (let i = 0; i < 100 && !/ALLOCATED \d+/.test(endpoint.stderr); i++) await new Promise((r) => setTimeout(r, 20));
  const [, bytes, promoted, gc] = (/ALLOCATED (\d+) PROMOTED (\d+) GC_US (\d+)/.exec(endpoint.stderr) ?? []).map(Number);
  return { kb: bytes / run.calls / 1024, cpu: run.cpuMicros / run.calls, promoted: promoted / run.calls, gc: gc / run.calls, rate: run.calls / run.seconds, others: (run.clientCpuMicros + backendCpu) / run.calls, syscalls: `${perCall("reads").toFixed(2)}/${perCall("writes").toFixed(2)}/${perCall("sleeps").toFixed(2)}`, errors: run.errors };
}

const endpoints = [];
try {
  for (const [label, args] of variants) endpoints.push(await open(label, args));
  for (const concurrency of concurrencies) {
    const runs = endpoints.map(() => []);
    for (let r = 0; r < rounds; r++) for (let i = 0; i < endpoints.length; i++) runs[i].push(await window(endpoints[i], concurrency));
    endpoints.forEach((e, i) => {
      const kb = runs[i].map((w) => w.kb.toFixed(2)).join(" ");
      const cpu = runs[i].map((w) => w.cpu.toFixed(1)).join(" ");
      const promoted = runs[i].map((w) => w.promoted.toFixed(0)).join(" ");
      const gc = runs[i].map((w) => w.gc.toFixed(1)).join(" ");
      const rate = runs[i].map((w) => (w.rate / 1000).toFixed(1)).join(" ");
      const others = runs[i].map((w) => w.others.toFixed(0)).join(" ");
      const syscalls = runs[i].map((w) => w.syscalls).join(" ");
      const errors = runs[i].reduce((n, w) => n + w.errors, 0);
      process.stdout.write(
        `c=${String(concurrency).padEnd(3)} ${e.label.padEnd(14)} KB/call ${kb.padEnd(16)} CPU µs/call ${cpu.padEnd(16)} promoted B/call ${promoted.padEnd(12)} GC µs/call ${gc.padEnd(16)} k calls/s ${rate.padEnd(16)} client+backend CPU µs/call ${others.padEnd(10)} reads/writes/sleeps a call ${syscalls}${errors ? `  (${errors} errors)` : ""}\n`,
      );
    });
  }
} finally {
  for (const e of endpoints) {
    await e.client.close().catch(() => {});
    await stopPid(e.pid);
  }
}

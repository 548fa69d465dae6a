#!/usr/bin/env node
// Profiles the proxy process on one hot path with `node --cpu-prof` and prints where its CPU goes.
//
//   node bench/profile.mjs stdio|http|http-stdio|inproc|echo-http [--concurrency N] [--duration MS] [--top N]
//   node bench/profile.mjs summary FILE.cpuprofile [--top N]
//
//   stdio       stdio front → stdio echo backend, SDK client load
//   stdio-lean  the same with the prototype transports of bench/experiments/lean.mjs
//   cli-stdio   the same through the fastmcp-proxy command with its default flags
//   http        HTTP front → HTTP echo backend, raw POST load
//   http-stdio  HTTP front → stdio echo backend, raw POST load
//   http-stdio-2026  the same with 2026-07-28 requests, declaring elicitation, sampling and roots (--declares none: nothing)
//   inproc      InMemoryTransport front and back (profiles this process: client + proxy + backend)
//   echo-http   the echo backend alone over HTTP (what the SDK's HTTP server transport costs)
//   tools-list  HTTP front over --backends N (10) stdio echo backends of 100 tools, raw POST tools/list
//
// Profiles are kept in bench/results/profiles/ (open them in Chrome DevTools or speedscope).
import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { makeEchoServer } from "./lib/echo.mjs";
import { FULL_CAPABILITIES, keepAliveAgent, raw2026Caller, rawSession, runLoad, sdkCall } from "./lib/load.mjs";
import { CHILD_ENV, adopt, cpuMicros, killAllSync, listening, start, stop, stopAll, stopPid } from "./lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ECHO = join(HERE, "echo-server.mjs");
const PROXY = join(HERE, "proxy-server.mjs");
const LEAN_PROXY = join(HERE, "experiments", "lean-proxy.mjs");
const CLI = join(HERE, "..", "packages", "cli", "bin", "fastmcp-proxy.js");
const NODE = process.execPath;
const OUT = join(HERE, "results", "profiles");

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const mode = argv[0];
const concurrency = Number(opt("--concurrency", 16));
const durationMs = Math.min(Number(opt("--duration", 5000)), 60_000);
const top = Number(opt("--top", 30));
process.on("exit", killAllSync);
setTimeout(() => {
  process.stderr.write("profile: watchdog (3 min)\n");
  killAllSync();
  process.exit(1);
}, 180_000).unref();

const newest = (dir, since) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];

const profFlags = (tag) => ["--cpu-prof", "--cpu-prof-dir", OUT, "--cpu-prof-name", `${tag}-${Date.now()}.cpuprofile`];

async function load(call, pid) {
  const cpu0 = pid ? cpuMicros(pid) : 0;
  const r = await runLoad(call, { concurrency, maxCalls: 2_000_000, durationMs, warmup: 500 });
  const cpu = pid ? (cpuMicros(pid) - cpu0) / r.calls : NaN;
  process.stderr.write(`${mode}: ${r.calls} calls in ${r.seconds.toFixed(1)} s = ${(r.calls / r.seconds).toFixed(0)}/s at c=${concurrency}, ${r.errors} errors` +
    `${Number.isFinite(cpu) ? `, profiled process ${cpu.toFixed(0)} µs CPU/call` : ""}\n`);
  return r;
}

async function profileProcess() {
  mkdirSync(OUT, { recursive: true });
  const since = Date.now();
  if (mode === "stdio" || mode === "stdio-lean" || mode === "cli-stdio") {
    const script = {
      stdio: [PROXY, "--front", "stdio", "--backend", JSON.stringify([NODE, ECHO, "stdio"])],
      "stdio-lean": [LEAN_PROXY, "--lean-front", "--lean-backend", "--front", "stdio", "--backend", JSON.stringify([NODE, ECHO, "stdio"])],
      "cli-stdio": [CLI, "--", NODE, ECHO, "stdio"],
    }[mode];
    const transport = new StdioClientTransport({
      command: NODE,
      args: [...profFlags(`proxy-${mode}`), ...script],
      env: CHILD_ENV,
      stderr: "ignore",
    });
    const client = new Client({ name: "profile", version: "1" });
    await client.connect(transport);
    adopt(transport.pid, "proxy");
    await load(sdkCall(client), transport.pid);
    await client.close(); // stdin closes: the proxy closes and exits, writing its profile
    await waitExit(transport.pid);
    await stopPid(transport.pid);
  } else if (mode === "tools-list") {
    const n = Number(opt("--backends", 10));
    const config = { mcpServers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`b${i}`, { command: NODE, args: [ECHO, "stdio", "--tools", "99"] }])) };
    const target = start("proxy http", NODE, [...profFlags(`proxy-${mode}`), PROXY, "--front", "http", "--backend", JSON.stringify(config)], { cwd: HERE });
    const agent = keepAliveAgent(concurrency);
    // A client of the relayed profile: served from the mirror made at start (no child spawned for it).
    const session = await rawSession(await listening(target, 90_000), agent, { request: { method: "tools/list", params: {} }, capabilities: FULL_CAPABILITIES });
    await load(session.call, target.pid);
    agent.destroy();
    await stop(target, 5000);
  } else if (mode === "http" || mode === "http-stdio" || mode === "http-stdio-2026" || mode === "echo-http") {
    let echo;
    let target;
    if (mode === "echo-http") {
      target = start("echo-server http", NODE, [...profFlags("echo-http"), ECHO, "http"], { cwd: HERE });
    } else {
      let backend = [NODE, ECHO, "stdio"];
      if (mode === "http") {
        echo = start("echo-server http", NODE, [ECHO, "http"], { cwd: HERE });
        backend = await listening(echo);
      }
      target = start("proxy http", NODE, [...profFlags(`proxy-${mode}`), PROXY, "--front", "http", "--backend", JSON.stringify(backend)], { cwd: HERE });
    }
    const url = await listening(target);
    const agent = keepAliveAgent(concurrency);
    const call =
      mode === "http-stdio-2026"
        ? raw2026Caller(url, agent, { capabilities: opt("--declares", "full") === "none" ? {} : FULL_CAPABILITIES })
        : (await rawSession(url, agent)).call;
    await load(call, target.pid);
    agent.destroy();
    await stop(target, 5000); // SIGTERM: the process exits through process.exit and writes its profile
    if (echo) await stop(echo);
  }
  await stopAll();
  const file = newest(OUT, since);
  if (!file) throw new Error("no profile was written");
  summarise(file);
}

async function waitExit(pid, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** In-process: client, proxy and backend all in this (profiled) process. */
async function inproc() {
  const { FastMCPProxy } = await import("@fastmcp-proxy/core");
  const proxy = FastMCPProxy.asProxy(makeEchoServer(), { name: "bench-proxy" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(serverSide);
  const client = new Client({ name: "profile", version: "1" });
  await client.connect(clientSide);
  await load(sdkCall(client));
  await client.close();
  await proxy.close();
}

// ── Summary of a .cpuprofile: self time by function and by package ──────────────────────────────

function packageOf(url) {
  if (!url) return "(native / V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    const pkg = rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
    if (pkg === "@modelcontextprotocol/sdk") return `sdk ${rest.slice(4).join("/")}`; // dist/esm/<area>/<file>
    return pkg;
  }
  if (url.includes("/packages/core/dist/")) return `core ${url.slice(url.indexOf("/packages/core/dist/") + 20)}`;
  if (url.includes("/bench/")) return `bench ${url.slice(url.indexOf("/bench/") + 7)}`;
  if (url.startsWith("node:internal/deps/undici")) return "undici (fetch)";
  if (url.startsWith("node:")) return `node ${url.slice(5).replace(/^internal\//, "").split("/")[0]}`;
  return url;
}

export function summarise(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]);
    self.set(node, (self.get(node) ?? 0) + dt);
    total += dt;
  }
  const idle = [...self].filter(([n]) => n.callFrame.functionName === "(idle)").reduce((s, [, t]) => s + t, 0);
  const busy = total - idle;
  const fns = new Map();
  const pkgs = new Map();
  for (const [node, t] of self) {
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    const fkey = `${functionName || "(anonymous)"}  ${packageOf(url)}${url ? `:${lineNumber + 1}` : ""}`;
    fns.set(fkey, (fns.get(fkey) ?? 0) + t);
    const pkey = ["(garbage collector)", "(program)"].includes(functionName) ? functionName : packageOf(url);
    pkgs.set(pkey, (pkgs.get(pkey) ?? 0) + t);
  }
  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const out = [`profile ${file}`, `busy ${(busy / 1e3).toFixed(0)} ms of ${(total / 1e3).toFixed(0)} ms sampled (idle ${(idle / 1e3).toFixed(0)} ms)`, "", "self time by package / file:"];
  for (const [k, t] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(t)}  ${k}`);
  out.push("", "self time by function:");
  for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(t)}  ${k}`);
  const callers = opt("--callers", "");
  if (callers) {
    // Self time of functions named `callers`, by their call stack (innermost 8 frames).
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
    const stacks = new Map();
    for (const [node, t] of self) {
      if (node.callFrame.functionName !== callers) continue;
      const frames = [];
      for (let n = parent.get(node.id); n && frames.length < 8; n = parent.get(n.id)) {
        frames.push(`${n.callFrame.functionName || "(anon)"}@${packageOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`);
      }
      const key = frames.join(" < ");
      stacks.set(key, (stacks.get(key) ?? 0) + t);
    }
    out.push("", `stacks of ${callers}:`);
    for (const [k, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) out.push(`  ${pct(t)}  ${k}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

if (mode === "summary") {
  summarise(argv[1]);
} else if (mode === "inproc") {
  mkdirSync(OUT, { recursive: true });
  const since = Date.now();
  const r = spawnSync(NODE, [...profFlags("inproc"), fileURLToPath(import.meta.url), "inproc-worker", ...argv.slice(1)], { stdio: "inherit", env: CHILD_ENV, timeout: 120_000 });
  if (r.status !== 0) process.exit(r.status ?? 1);
  summarise(newest(OUT, since));
} else if (mode === "inproc-worker") {
  await inproc();
} else if (["stdio", "stdio-lean", "cli-stdio", "http", "http-stdio", "http-stdio-2026", "echo-http", "tools-list"].includes(mode)) {
  await profileProcess();
} else {
  process.stderr.write("usage: node bench/profile.mjs stdio|stdio-lean|cli-stdio|http|http-stdio|http-stdio-2026|inproc|echo-http|tools-list [--backends N] [--declares full|none] [--concurrency N] [--duration MS] [--top N]\n");
  process.exit(2);
}

#!/usr/bin/env node
// `pnpm bench`: tools/call throughput and latency of fastmcp-proxy, side by side with direct
// connections and with mcp-proxy, plus in-process overhead, idle-session memory and tools/list.
//
//   node bench/run.mjs [--quick] [--rounds N] [--duration MS] [--sessions N] [--only WORD[,WORD]]
//
// Prints one table and writes it to bench/results/latest.md. Everything listens on 127.0.0.1,
// every loop is bounded by count and time, and every process started here is ended by PID.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { makeEchoServer } from "./lib/echo.mjs";
import { ECHO_CALL, FULL_CAPABILITIES, MEGABYTE_CALL, deleteSession, keepAliveAgent, raw2026Caller, rawPoster, passthrough, rawSession, runLoad, sdkCall, summarise } from "./lib/load.mjs";
import {
  CHILD_ENV,
  adopt,
  cpuMicros,
  descendants,
  freePort,
  history,
  killAllSync,
  listening,
  rss,
  start,
  stderrLine,
  stop,
  stopAll,
  stopPid,
  survivors,
  trackedPids,
} from "./lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
// The SDK's HTTP client transport (this runner's "SDK client" load over HTTP) leaves an abort listener
// per request on one long-lived signal (docs/performance.md), and Node warns again at every call past
// 1,500: some 15,000 lines a run. The warning is shown once; every other warning as Node shows it.
let listenerWarningShown = false;
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "MaxListenersExceededWarning" && warning.message.includes("abort listeners")) {
    if (listenerWarningShown) return;
    listenerWarningShown = true;
    return void process.stderr.write(`${warning.name}: ${warning.message} (the SDK client load's; shown once)\n`);
  }
  process.stderr.write(`${warning.stack ?? `${warning.name}: ${warning.message}`}\n`);
});
const ECHO = join(HERE, "echo-server.mjs");
const PROXY = join(HERE, "proxy-server.mjs");
const RELAY = join(HERE, "relay.mjs");
const HTTP_RELAY = join(HERE, "http-relay.mjs");
const TCP_RELAY = join(HERE, "tcp-relay.mjs");
const LEAN_PROXY = join(HERE, "experiments", "lean-proxy.mjs");
const JSON_FORWARDER = join(HERE, "experiments", "json-forwarder.mjs");
const GUARD = join(HERE, "lib", "child-guard.mjs");
const ALLOC_WINDOW = join(HERE, "lib", "alloc-window.mjs");
const MCP_PROXY = join(HERE, "node_modules", "mcp-proxy", "dist", "bin", "mcp-proxy.mjs");
// The backend issue 20's figures were taken on (a devDependency of the workspace), and its preload for HTTP.
const EVERYTHING = join(HERE, "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const EVERYTHING_HTTP = join(HERE, "lib", "everything-http.mjs");
// The fastmcp-proxy command, run with its defaults (as a user would), when it has been built.
const CLI = join(HERE, "..", "packages", "cli", "bin", "fastmcp-proxy.js");
const HAVE_CLI = existsSync(join(HERE, "..", "packages", "cli", "dist", "main.js"));
const cli = (variant) => (HAVE_CLI ? [variant] : []);
const NODE = process.execPath;

// ── Settings ──────────────────────────────────────────────────────────────────────────────────
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = flag("--quick");
const cfg = {
  rounds: Number(opt("--rounds", quick ? 1 : 3)),
  durationMs: Number(opt("--duration", quick ? 400 : 1200)),
  maxCalls: 200_000,
  // Warm-up before each measured run: this many calls or this long, whichever ends first.
  warmup: quick ? 200 : 20_000,
  warmupMs: quick ? 150 : 300,
  // Idle HTTP sessions to open, one measurement per count (mcp-proxy at the first count only).
  idleSessions: opt("--sessions", quick ? "200" : "1000,10000").split(",").map(Number).filter((n) => n > 0),
  only: opt("--only", "").split(",").filter(Boolean),
  // Also measure the prototypes in bench/experiments (lean transports proposed for core).
  experiments: flag("--experiments"),
};
const experiment = (variant) => (cfg.experiments ? [variant] : []);
// The whole run takes about 13 minutes on this machine (the auth bench alone about 2): stopped after 20.
const WATCHDOG_MS = 20 * 60_000;

// ProxyOptions with and without a warm spare backend session (spareSessions defaults to 1 for stdio backends).
const WARM_SPARE = { spareSessions: 1 };
const NO_SPARE = { spareSessions: 0 };
// Benchmarks other packages keep beside this runner; each is run as it is and its output appended.
const SIDE_BENCHES = ["auth.mjs", "caching.mjs"].map((f) => join(HERE, f));

const wanted = (key) => cfg.only.length === 0 || cfg.only.some((w) => key.toLowerCase().includes(w.toLowerCase()));

// ── Cleanup: whatever happens, no process of ours outlives the run ────────────────────────────
const everSeen = new Set();
const remember = () => trackedPids().forEach((pid) => everSeen.add(pid));
process.on("exit", killAllSync);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    killAllSync();
    process.exit(130);
  });
}
process.on("uncaughtException", (error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  killAllSync();
  process.exit(1);
});
setTimeout(() => {
  process.stderr.write(`bench: watchdog: still running after ${WATCHDOG_MS / 1000} s, stopping\n`);
  killAllSync();
  process.exit(1);
}, WATCHDOG_MS).unref();

// ── Result table ──────────────────────────────────────────────────────────────────────────────
const rows = [];
const findings = {}; // figures the targets are read from
const failures = [];
const log = (line) => process.stderr.write(`${line}\n`);

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "—");
const ratio = (b, a) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${(b / a).toFixed(2)}×` : "—");

function addRows(scenario, load, concurrency, stats, names) {
  const base = stats[0];
  const errs = (s) => (s.errors ? `⚠ ${s.errors} errors: ${s.firstError?.message ?? s.firstError}` : "");
  stats.forEach((s, i) => {
    rows.push({
      scenario,
      load,
      c: concurrency,
      variant: names[i],
      rps: `${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)})`,
      p50: fmt(s.p50),
      p99: fmt(s.p99),
      vs: i === 0 ? "baseline" : `${ratio(s.rps, base.rps)} calls/s, ${ratio(s.p50, base.p50)} p50`,
      cpu: s.cpuPerCall === undefined ? "—" : fmt(s.cpuPerCall),
      ccpu: fmt(s.clientCpuPerCall),
      note: errs(s),
    });
  });
}

/**
 * One comparison: every variant set up, then for each load and concurrency the runs alternate
 * A B A B ... (A B C A B C ... with three), `cfg.rounds` each, and their figures are pooled per
 * variant. The first variant is the baseline the others are compared with.
 */
async function compare({ key, scenario, variants, loads, concurrencies = [1, 16], request = ECHO_CALL, after }) {
  if (!wanted(key)) return;
  log(`▶ ${scenario}`);
  const started = Date.now();
  const names = variants.map((v) => v.name);
  const endpoints = [];
  try {
    for (const v of variants) endpoints.push(await v.setup());
    remember();
    for (const load of loads) {
      for (const c of concurrencies) {
        const calls = [];
        for (const e of endpoints) calls.push(await e.caller(load, c, request));
        const runs = endpoints.map(() => []);
        for (let r = 0; r < cfg.rounds; r++) {
          for (let i = 0; i < endpoints.length; i++) {
            runs[i].push(
              await runLoad(calls[i], {
                concurrency: c,
                maxCalls: cfg.maxCalls,
                durationMs: cfg.durationMs,
                warmup: cfg.warmup,
                warmupMs: cfg.warmupMs,
                cpuPids: endpoints[i].cpuPids ?? [],
              }),
            );
          }
        }
        const stats = runs.map(summarise);
        addRows(scenario, load, c, stats, names);
        after?.({ load, c, stats, names });
        log(`  ${load} c=${c}: ${stats.map((s, i) => `${names[i]} ${fmt(s.rps)}/s p50 ${fmt(s.p50)} µs${i ? ` (${ratio(s.rps, stats[0].rps)})` : ""}`).join(" | ")}`);
      }
    }
  } catch (error) {
    failures.push(`${scenario}: ${error?.message ?? error}`);
    rows.push({ scenario, load: "—", c: "—", variant: "FAILED", rps: "—", p50: "—", p99: "—", vs: "—", cpu: "—", note: String(error?.message ?? error) });
    log(`  FAILED: ${error?.stack ?? error}`);
  } finally {
    await Promise.allSettled(endpoints.map((e) => e.close?.()));
    log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

// ── Endpoints ─────────────────────────────────────────────────────────────────────────────────

/** An SDK client over stdio to `command args`; the child is adopted for cleanup. */
async function stdioClient(label, args) {
  const transport = new StdioClientTransport({ command: NODE, args, env: CHILD_ENV, stderr: "pipe" });
  const tail = [];
  transport.stderr?.on("data", (chunk) => {
    tail.push(String(chunk));
    if (tail.length > 20) tail.shift();
  });
  const client = new Client({ name: "bench", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`${label}: ${error.message} ${tail.join("").trim()}`);
  }
  adopt(transport.pid, label);
  return { client, pid: transport.pid };
}

/** A stdio endpoint: one SDK client (the only load generator that speaks stdio). */
async function stdioEndpoint(label, args) {
  const { client, pid } = await stdioClient(label, args);
  return {
    cpuPids: [pid],
    caller: async (_load, _c, request) => sdkCall(client, request),
    close: async () => {
      await client.close().catch(() => {});
      await stopPid(pid);
    },
  };
}

/** An HTTP endpoint: an SDK client, or raw JSON-RPC POSTs on a keep-alive agent, each on its own session. */
function httpEndpoint(url, cpuPid) {
  const clients = [];
  const agents = [];
  return {
    cpuPids: cpuPid ? [cpuPid] : [],
    caller: async (load, c, request) => {
      if (load === "SDK client") {
        const client = new Client({ name: "bench", version: "1.0.0" });
        await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        clients.push(client);
        return sdkCall(client, request);
      }
      const agent = keepAliveAgent(c);
      agents.push(agent);
      const session = await rawSession(url, agent, { request });
      return session.call;
    },
    close: async () => {
      await Promise.allSettled(clients.map((client) => client.close()));
      agents.forEach((agent) => agent.destroy());
    },
  };
}

async function echoHttp(extra = []) {
  const child = start("echo-server http", NODE, [ECHO, "http", ...extra], { cwd: HERE });
  const url = await listening(child);
  return { child, url };
}

async function ourProxyHttp(backend, { sessions, nodeFlags = [], options, listenMs = 20_000, extraArgs = [] } = {}) {
  const extra = [...(sessions ? ["--sessions", sessions] : []), ...(options ? ["--options", JSON.stringify(options)] : []), ...extraArgs];
  const child = start("fastmcp-proxy (http front)", NODE, [...nodeFlags, PROXY, "--front", "http", "--backend", JSON.stringify(backend), ...extra], { cwd: HERE });
  const url = await listening(child, listenMs).catch(async (error) => {
    await stop(child);
    throw error;
  });
  return { child, url };
}

async function leanProxyHttp(backend, flags) {
  const child = start("lean proxy (prototype)", NODE, [LEAN_PROXY, "--front", "http", ...flags, "--backend", JSON.stringify(backend)], { cwd: HERE });
  const url = await listening(child);
  return { child, url };
}

async function mcpProxyHttp(command, { nodeFlags = [] } = {}) {
  const port = await freePort();
  // Defaults kept except where it listens: 127.0.0.1 only (its default host is "::").
  const child = start("mcp-proxy", NODE, [...nodeFlags, "--import", GUARD, MCP_PROXY, "--host", "127.0.0.1", "--port", String(port), "--", ...command], { cwd: HERE });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForHttp(url, child);
  return { child, url };
}

/** Polls until `url` answers HTTP at all (bounded), or the child exits. */
async function waitForHttp(url, child, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      await fetch(url, { method: "GET", signal: AbortSignal.timeout(1000) }).then((r) => r.body?.cancel());
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${child.label} did not answer on ${url}: ${child.stderrTail.join(" | ")}`);
}

const echoStdio = (extra = []) => [NODE, ECHO, "stdio", ...extra];

// ── Scenarios ─────────────────────────────────────────────────────────────────────────────────

async function stdioScenario() {
  await compare({
    key: "stdio",
    scenario: "stdio → stdio",
    loads: ["SDK client"],
    concurrencies: [1, 16, 64],
    variants: [
      { name: "direct stdio", setup: () => stdioEndpoint("echo-server stdio", [ECHO, "stdio"]) },
      { name: "fastmcp-proxy", setup: () => stdioEndpoint("fastmcp-proxy stdio", [PROXY, "--front", "stdio", "--backend", JSON.stringify(echoStdio())]) },
      ...cli({ name: "fastmcp-proxy CLI (default flags)", setup: () => stdioEndpoint("fastmcp-proxy CLI stdio", [CLI, "--", ...echoStdio()]) }),
      // The floor for any proxy process in the chain: bytes piped through, nothing parsed.
      { name: "byte relay (floor)", setup: () => stdioEndpoint("byte relay", [RELAY, ...echoStdio()]) },
      ...experiment({
        name: "fastmcp-proxy, lean stdio transports (prototype)",
        setup: () => stdioEndpoint("lean proxy stdio", [LEAN_PROXY, "--front", "stdio", "--lean-front", "--lean-backend", "--backend", JSON.stringify(echoStdio())]),
      }),
      ...experiment({
        name: "JSON forwarder, no SDK Protocol (prototype)",
        setup: () => stdioEndpoint("json forwarder", [JSON_FORWARDER, ...echoStdio()]),
      }),
    ],
    after: ({ c, stats, names }) => {
      const by = (prefix) => stats[names.findIndex((n) => n.startsWith(prefix))];
      const a = stats[0];
      findings[`stdio.c${c}`] = by("fastmcp-proxy").rps / a.rps;
      findings[`stdio.floor.c${c}`] = by("byte relay").rps / a.rps;
      findings[`stdio.vsRelay.c${c}`] = by("fastmcp-proxy").rps / by("byte relay").rps;
      if (by("fastmcp-proxy CLI")) {
        findings[`stdio.cli.c${c}`] = by("fastmcp-proxy CLI").rps / a.rps;
        findings[`stdio.cliCpu.c${c}`] = by("fastmcp-proxy CLI").cpuPerCall / by("fastmcp-proxy").cpuPerCall;
      }
    },
  });
}

/**
 * A 1 MiB tools/call result, stdio → stdio, one call at a time: time per call through the proxy
 * beside the byte relay (the floor: bytes piped, nothing parsed).
 */
async function megabyteScenario() {
  await compare({
    key: "megabyte",
    scenario: "stdio → stdio, 1 MiB result",
    loads: ["SDK client"],
    concurrencies: [1],
    request: MEGABYTE_CALL,
    variants: [
      { name: "byte relay (floor)", setup: () => stdioEndpoint("byte relay (1 MB)", [RELAY, ...echoStdio()]) },
      { name: "fastmcp-proxy", setup: () => stdioEndpoint("fastmcp-proxy stdio (1 MB)", [PROXY, "--front", "stdio", "--backend", JSON.stringify(echoStdio())]) },
    ],
    after: ({ stats: [relay, proxy] }) => {
      findings["megabyte.vsRelay"] = relay.rps / proxy.rps;
      rows[rows.length - 1].vs += `; ${fmt(1000 / proxy.rps, 1)} ms a call against ${fmt(1000 / relay.rps, 1)} ms (${(relay.rps / proxy.rps).toFixed(2)}× the relay's time; goal ≤ 3×)`;
    },
  });
}

/** The proxy's HTTP front over `backend()`: a URL, or a command (known once an earlier variant has started it). */
function ourHttpFront(backend) {
  return {
    name: "fastmcp-proxy",
    setup: async () => {
      const proxy = await ourProxyHttp(backend());
      const endpoint = httpEndpoint(proxy.url, proxy.child.pid);
      return { ...endpoint, close: async () => (await endpoint.close(), await stop(proxy.child)) };
    },
  };
}

/** mcp-proxy's HTTP front over a stdio `command`. */
function mcpProxyFront(command) {
  return {
    name: "mcp-proxy",
    setup: async () => {
      const peer = await mcpProxyHttp(command);
      const endpoint = httpEndpoint(peer.url, peer.child.pid);
      return { ...endpoint, close: async () => (await endpoint.close(), await stop(peer.child)) };
    },
  };
}

/** A floor of HTTP → HTTP: `script` (the HTTP relay, or the TCP relay under it) over the backend at `url()`. */
function relayOver(name, label, script, url) {
  return {
    name,
    setup: async () => {
      const child = start(label, NODE, [script, url()], { cwd: HERE });
      const endpoint = httpEndpoint(await listening(child), child.pid);
      return { ...endpoint, close: async () => (await endpoint.close(), await stop(child)) };
    },
  };
}

async function httpScenario() {
  let echo;
  await compare({
    key: "http",
    scenario: "HTTP → HTTP",
    loads: ["raw POST", "SDK client"],
    variants: [
      {
        name: "direct HTTP",
        setup: async () => {
          echo = await echoHttp();
          return { ...httpEndpoint(echo.url, echo.child.pid), close: () => stop(echo.child) };
        },
      },
      ourHttpFront(() => echo.url),
      relayOver("HTTP relay (floor)", "http relay", HTTP_RELAY, () => echo.url),
      relayOver("TCP relay (floor, no HTTP)", "tcp relay", TCP_RELAY, () => echo.url),
      ...experiment({
        name: "fastmcp-proxy, lean HTTP front + client (prototype)",
        setup: async () => {
          const lean = await leanProxyHttp(echo.url, ["--lean-front", "--lean-backend"]);
          const endpoint = httpEndpoint(lean.url, lean.child.pid);
          return { ...endpoint, close: async () => (await endpoint.close(), await stop(lean.child)) };
        },
      }),
    ],
    after: ({ load, c, stats: [direct, proxy, relay, tcp] }) => {
      findings[`http.${load}.c${c}`] = proxy.rps / direct.rps;
      findings[`http.relay.${load}.c${c}`] = relay.rps / direct.rps;
      findings[`http.tcp.${load}.c${c}`] = tcp.rps / direct.rps;
      findings[`http.cpu.${load}.c${c}`] = proxy.cpuPerCall / direct.cpuPerCall;
    },
  });
}

async function httpStdioScenario() {
  await compare({
    key: "mcp-proxy",
    scenario: "HTTP front → stdio backend",
    loads: ["raw POST", "SDK client"],
    concurrencies: [1, 16, 64],
    variants: [
      mcpProxyFront(echoStdio()),
      ourHttpFront(() => echoStdio()),
      ...cli({
        name: "fastmcp-proxy CLI (default flags)",
        setup: async () => {
          const child = start("fastmcp-proxy CLI (http front)", NODE, [CLI, "--transport", "http", "--host", "127.0.0.1", "--port", "0", "--", ...echoStdio()], { cwd: HERE });
          const url = await listening(child);
          const endpoint = httpEndpoint(url, child.pid);
          return { ...endpoint, close: async () => (await endpoint.close(), await stop(child)) };
        },
      }),
      ...experiment({
        name: "fastmcp-proxy, lean HTTP front + stdio (prototype)",
        setup: async () => {
          const lean = await leanProxyHttp(echoStdio(), ["--lean-front", "--lean-backend"]);
          const endpoint = httpEndpoint(lean.url, lean.child.pid);
          return { ...endpoint, close: async () => (await endpoint.close(), await stop(lean.child)) };
        },
      }),
    ],
    after: ({ load, c, stats, names }) => {
      const by = (name) => stats[names.indexOf(name)];
      findings[`vsPeer.${load}.c${c}`] = by("fastmcp-proxy").rps / stats[0].rps;
      if (by("fastmcp-proxy CLI (default flags)")) findings[`vsPeer.cli.${load}.c${c}`] = by("fastmcp-proxy CLI (default flags)").rps / stats[0].rps;
    },
  });
}

/**
 * Issue 20's throughput rows on the backend its figures were taken on, server-everything (its `echo`
 * tool), beside the echo server's rows above: an SDK server with every feature registered, over
 * stdio and over streamable HTTP (express, a session per client, an event store). It costs more per
 * call than the echo server, so a proxy's share of each call is smaller here.
 */
async function everythingScenarios() {
  if (!existsSync(EVERYTHING)) return log("server-everything is not installed: its rows are skipped");
  const request = { method: "tools/call", params: { name: "echo", arguments: { message: "hello, proxy" } } };
  const everythingStdio = [NODE, EVERYTHING, "stdio"];
  await compare({
    key: "everything-stdio",
    scenario: "stdio → stdio, server-everything",
    loads: ["SDK client"],
    // c=1 first, as in the echo server's row: the processes are warm when c=16 is measured.
    concurrencies: [1, 16, 64],
    request,
    variants: [
      { name: "direct stdio", setup: () => stdioEndpoint("server-everything stdio", [EVERYTHING, "stdio"]) },
      { name: "fastmcp-proxy", setup: () => stdioEndpoint("fastmcp-proxy stdio (server-everything)", [PROXY, "--front", "stdio", "--backend", JSON.stringify(everythingStdio)]) },
      { name: "byte relay (floor)", setup: () => stdioEndpoint("byte relay (server-everything)", [RELAY, ...everythingStdio]) },
    ],
    after: ({ c, stats: [, proxy, relay] }) => {
      findings[`everything.stdio.vsRelay.c${c}`] = proxy.rps / relay.rps;
    },
  });
  await compare({
    key: "everything-mcp-proxy",
    scenario: "HTTP front → stdio backend, server-everything",
    loads: ["raw POST"],
    concurrencies: [16, 64],
    request,
    variants: [mcpProxyFront(everythingStdio), ourHttpFront(() => everythingStdio)],
    after: ({ c, stats: [peer, ours] }) => {
      findings[`everything.vsPeer.c${c}`] = ours.rps / peer.rps;
    },
  });
  let backend;
  await compare({
    key: "everything-http",
    scenario: "HTTP → HTTP, server-everything",
    loads: ["raw POST"],
    concurrencies: [16],
    request,
    variants: [
      {
        name: "direct HTTP",
        setup: async () => {
          const child = start("server-everything http", NODE, ["--import", EVERYTHING_HTTP, EVERYTHING, "streamableHttp"], { cwd: HERE });
          backend = { child, url: await listening(child) };
          return { ...httpEndpoint(backend.url, child.pid), close: () => stop(child) };
        },
      },
      ourHttpFront(() => backend.url),
      relayOver("HTTP relay (floor)", "http relay (server-everything)", HTTP_RELAY, () => backend.url),
    ],
    after: ({ c, stats: [direct, proxy, relay] }) => {
      findings[`everything.http.c${c}`] = proxy.rps / direct.rps;
      findings[`everything.http.relay.c${c}`] = relay.rps / direct.rps;
    },
  });
}

async function inProcessScenario() {
  await compare({
    key: "in-process",
    scenario: "in-process (InMemoryTransport)",
    loads: ["SDK client"],
    variants: [
      {
        name: "direct",
        setup: async () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const server = makeEchoServer();
      await server.connect(serverSide);
      const client = new Client({ name: "bench", version: "1.0.0" });
      await client.connect(clientSide);
      return { caller: async (_l, _c, request) => sdkCall(client, request), close: () => client.close() };
        },
      },
      {
        name: "fastmcp-proxy",
        setup: async () => {
      const proxy = FastMCPProxy.asProxy(makeEchoServer(), { name: "bench-proxy" });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await proxy.connect(serverSide);
      const client = new Client({ name: "bench", version: "1.0.0" });
      await client.connect(clientSide);
      return { caller: async (_l, _c, request) => sdkCall(client, request), close: async () => (await client.close(), await proxy.close()) };
        },
      },
    ],
    after: ({ c, stats: [a, b] }) => {
      findings[`inproc.c${c}.addedP50`] = b.p50 - a.p50;
      // At c=1 the p50 difference is the proxy's cost per call; at c=16 it is mostly queueing.
      if (c === 1) rows[rows.length - 1].vs += `; adds ${fmt(b.p50 - a.p50, 1)} µs p50`;
    },
  });
}

/**
 * The same proxy (HTTP front → an echo backend) called by a legacy client on its session and by
 * 2026-07-28 clients: one that declares elicitation, sampling and roots (its calls may be asked for
 * input: on a stdio backend an anonymous one's each wait alone on a backend session the proxy keeps,
 * a known caller's share its own; on an HTTP one they share the session, an ask saying whose it is),
 * and one that declares none. With `identity`, every caller is that one principal.
 */
async function erasScenario({ key = "eras", over = "stdio", identity } = {}) {
  let proxy;
  let wide;
  let echo;
  const endpoint = (capabilities, on = () => proxy) => ({
    cpuPids: [on().child.pid],
    caller: async (_load, c) => {
      const call = raw2026Caller(on().url, keepAliveAgent(c), { capabilities });
      // c calls at once first: a call that may be asked waits alone on a stdio backend session (a
      // child; at most askingSessions of them run at once), so those are opened now, before anything is measured, and kept.
      await Promise.all(Array.from({ length: c }, () => call()));
      return call;
    },
  });
  await compare({
    key,
    scenario: `HTTP front → ${over} backend, by era${identity ? ", one known caller" : ""}`,
    loads: ["raw POST"],
    variants: [
      {
        name: "legacy session",
        setup: async () => {
          if (over === "http") echo = await echoHttp();
          proxy = await ourProxyHttp(over === "http" ? echo.url : echoStdio(), { extraArgs: identity ? ["--identity", identity] : [] });
          const legacy = httpEndpoint(proxy.url, proxy.child.pid);
          return { ...legacy, close: async () => (await legacy.close(), await stop(proxy.child), echo && (await stop(echo.child))) };
        },
      },
      { name: "2026-07-28, declares elicitation, sampling, roots", setup: async () => endpoint(FULL_CAPABILITIES) },
      { name: "2026-07-28, declares none", setup: async () => endpoint({}) },
      // Over stdio such calls run at most askingSessions (default 4) at once, each alone on a child:
      // the same calls on a proxy that lets 64 run at once show what a call costs without that bound.
      ...(over === "stdio" && !identity
        ? [{
            name: "2026-07-28, declares input, askingSessions 64",
            setup: async () => {
              wide = await ourProxyHttp(echoStdio(), { options: { askingSessions: 64 } });
              return { ...endpoint(FULL_CAPABILITIES, () => wide), close: () => stop(wide.child) };
            },
          }]
        : []),
    ],
    after: ({ c, stats }) => {
      findings[`${key}.declared.c${c}`] = stats[1].rps / stats[0].rps;
      findings[`${key}.declaredCpu.c${c}`] = stats[1].cpuPerCall / stats[0].cpuPerCall;
      findings[`${key}.none.c${c}`] = stats[2].rps / stats[0].rps;
      if (stats[3]) findings[`${key}.declaredWide.c${c}`] = stats[3].rps / stats[0].rps;
    },
  });
}

async function toolsListScenario() {
  const TOOLS = 11; // per backend: echo + 10 fillers; direct has the same 33 tools in one server
  await compare({
    key: "tools/list",
    scenario: "tools/list, 33 tools (stdio front)",
    loads: ["SDK client"],
    request: { method: "tools/list", params: {} },
    variants: [
      { name: "direct, 1 server", setup: () => stdioEndpoint("echo-server stdio (33 tools)", [ECHO, "stdio", "--tools", String(3 * TOOLS - 1)]) },
      { name: "fastmcp-proxy, 3 backends", setup: () =>
      stdioEndpoint("fastmcp-proxy 3 backends", [
        PROXY,
        "--front",
        "stdio",
        "--backend",
        JSON.stringify({
          mcpServers: Object.fromEntries(["alpha", "beta", "gamma"].map((name) => [name, { command: NODE, args: [ECHO, "stdio", "--tools", String(TOOLS - 1)] }])),
        }),
      ]) },
    ],
  });
}

/** RSS of a proxy process with N idle streamable HTTP sessions (initialize + initialized, nothing else). */
async function idleSessionsMemory(label, launch, n) {
  const { child, url } = await launch();
  remember();
  try {
    const agent = keepAliveAgent(8);
    const open = async (count) => {
      let next = 0;
      const worker = async () => {
        while (next < count) {
          next++;
          await rawSession(url, agent);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    };
    await open(20); // warm up code paths, so the baseline is not the cold process
    const before = await settledRss(child);
    const t0 = Date.now();
    await open(n);
    const openSeconds = (Date.now() - t0) / 1000;
    const after = await settledRss(child);
    agent.destroy();
    const perSession = (after - before) / n;
    rows.push({
      scenario: `memory: ${fmt(n)} idle HTTP sessions`,
      load: "raw POST",
      c: 8,
      variant: label,
      rps: `${fmt(n / openSeconds)} sessions/s opened`,
      p50: "—",
      p99: "—",
      vs: `${fmt(perSession / 1024, 1)} KB RSS/session`,
      cpu: "—",
      note: `RSS ${fmt(before / 2 ** 20, 1)} MB → ${fmt(after / 2 ** 20, 1)} MB (proxy process only, after GC)`,
    });
    log(`  ${label}: RSS ${fmt(before / 2 ** 20, 1)} → ${fmt(after / 2 ** 20, 1)} MB, ${fmt(perSession / 1024, 1)} KB/session`);
    return perSession;
  } finally {
    await stop(child);
  }
}

async function memoryScenario() {
  if (!wanted("memory")) return;
  log(`▶ memory: ${cfg.idleSessions.join(", ")} idle sessions`);
  const flags = ["--expose-gc"];
  const [first] = cfg.idleSessions;
  for (const [label, launch, n] of [
    ["mcp-proxy", () => mcpProxyHttp(echoStdio(), { nodeFlags: flags }), first],
    // maxSessions (backend and front) is raised so that it is the memory, not the limit, that is measured.
    ...cfg.idleSessions.map((count) => ["fastmcp-proxy (sessions: shared)", () => ourProxyHttp(echoStdio(), { sessions: "shared", nodeFlags: flags, options: { maxSessions: count * 2, limits: { maxSessions: count * 2, uninitializedTtlMs: 600_000 } } }), count]),
  ]) {
    try {
      const perSession = await idleSessionsMemory(label, launch, n);
      if (label.startsWith("fastmcp")) {
        findings.rssPerSession ??= perSession;
        growth.push({ measure: "idle HTTP sessions (shared stdio backend)", size: fmt(n), figure: `${fmt(perSession / 1024, 1)} KB RSS/session`, goal: "≤ 60 KB", note: "initialize + initialized, no GET stream; RSS after a forced GC" });
      }
    } catch (error) {
      failures.push(`memory (${label}): ${error?.message ?? error}`);
      rows.push({ scenario: "memory", load: "—", c: "—", variant: `${label} FAILED`, rps: "—", p50: "—", p99: "—", vs: "—", cpu: "—", note: String(error?.message ?? error) });
      log(`  FAILED: ${error?.stack ?? error}`);
    }
  }
}

// ── How cost grows ───────────────────────────────────────────────────────────────────────────
// Rows of the second table: one figure per measure and size, with the goal it is read against.
const growth = [];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const echoConfig = (n, tools = 0) => ({
  mcpServers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`b${i}`, { command: NODE, args: [ECHO, "stdio", ...(tools ? ["--tools", String(tools)] : [])] }])),
});

/** RSS of an HTTP child after a forced GC (it runs with --expose-gc and the child guard). */
async function settledRss(child) {
  await new Promise((r) => setTimeout(r, 300));
  const done = stderrLine(child, "GC-DONE");
  process.kill(child.pid, "SIGUSR2");
  await done;
  await new Promise((r) => setTimeout(r, 200));
  return rss(child.pid);
}

/** Start-up: from spawning the proxy to its first tools/list listing every backend's tools. */
async function startupScenario() {
  if (!wanted("startup")) return;
  log("▶ start-up with 1, 5 and 20 stdio backends");
  const starts = quick ? 1 : 3;
  try {
    const single = [];
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      const { client, pid } = await stdioClient("echo-server stdio (start-up)", [ECHO, "stdio"]);
      await client.request({ method: "tools/list", params: {} }, passthrough);
      single.push(performance.now() - t0);
      await client.close().catch(() => {});
      await stopPid(pid);
    }
    const alone = median(single);
    growth.push({ measure: "start-up, stdio backends", size: "one echo backend alone (spawn → initialize → tools/list)", figure: `${fmt(alone)} ms`, goal: "", note: `median of ${starts}` });
    // The floor for N: N echo backends started at once by the runner itself, no proxy (on 2 cores,
    // N Node children cost N times one child's start-up CPU, whoever spawns them).
    const floor = {};
    for (const n of [5, 20]) {
      const t0 = performance.now();
      const started = await Promise.all(
        Array.from({ length: n }, async () => {
          const { client, pid } = await stdioClient("echo-server stdio (start-up floor)", [ECHO, "stdio"]);
          await client.request({ method: "tools/list", params: {} }, passthrough);
          return { client, pid, cpu: cpuMicros(pid) };
        }),
      );
      floor[n] = performance.now() - t0;
      const cpuEach = started.reduce((sum, s) => sum + s.cpu, 0) / n / 1000;
      await Promise.all(started.map(async ({ client, pid }) => (await client.close().catch(() => {}), await stopPid(pid))));
      growth.push({
        measure: "start-up, stdio backends",
        size: `${n} echo backends started at once by the runner (no proxy: the floor)`,
        figure: `${fmt(floor[n])} ms (${(floor[n] / alone).toFixed(2)}× one alone)`,
        goal: "",
        note: `each child used ${fmt(cpuEach)} ms of CPU to start and list; ${os.cpus().length} cores`,
      });
    }
    const newProfile = [];
    for (const n of [1, 5, 20]) {
      const times = [];
      const ready = [];
      for (let i = 0; i < starts; i++) {
        const t0 = performance.now();
        const proxy = await ourProxyHttp(echoConfig(n), { listenMs: 60_000 });
        ready.push(performance.now() - t0);
        const agent = keepAliveAgent(1);
        // A client declaring what the proxy relays is answered from the mirror discovered at start:
        // this times start-up. A client of another profile first lists through its own sessions (below).
        const { request } = await rawSession(proxy.url, agent, { capabilities: FULL_CAPABILITIES });
        const { tools } = await request("tools/list");
        times.push(performance.now() - t0);
        if (tools.length !== 2 * n) throw new Error(`start-up with ${n} backends listed ${tools.length} tools, not ${2 * n} (echo and bytes each)`);
        if (n <= 5 && i === 0) {
          const t1 = performance.now();
          await (await rawSession(proxy.url, agent)).request("tools/list");
          newProfile.push({ n, ms: performance.now() - t1, children: descendants(proxy.child.pid).length });
        }
        agent.destroy();
        await stop(proxy.child);
      }
      const t = median(times);
      growth.push({
        measure: "start-up, stdio backends",
        size: `${n} backend${n > 1 ? "s" : ""} (proxy spawn → first tools/list)`,
        figure: `${fmt(t)} ms (${(t / alone).toFixed(2)}× one backend alone${floor[n] ? `, ${(t / floor[n]).toFixed(2)}× the floor` : ""})`,
        goal: n === 20 ? "≤ 1.5× the slowest single backend" : "",
        // The two can differ a lot: a new front session's first request may open its own backend sessions.
        note: `median of ${starts}; min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))} ms; listening after ${fmt(median(ready))} ms`,
      });
      log(`  ${n} backends: ${fmt(t)} ms (one alone ${fmt(alone)} ms)`);
    }
    for (const { n, ms, children } of newProfile) {
      growth.push({
        measure: "start-up, stdio backends",
        size: `${n} backend${n > 1 ? "s" : ""}: the first tools/list of a client declaring no capabilities (a new profile)`,
        figure: `${fmt(ms)} ms`,
        goal: "",
        note: `listed through its own isolated sessions (one child per backend), then a warm spare per backend: ${children} children after it`,
      });
    }
  } catch (error) {
    failures.push(`start-up: ${error?.message ?? error}`);
    log(`  FAILED: ${error?.stack ?? error}`);
  }
}

/** tools/list through an HTTP front over 1, 10 and 50 stdio backends of 100 tools each: p50 and the proxy's RSS. */
async function toolsListScaleScenario() {
  if (!wanted("tools/list scale")) return;
  log("▶ tools/list with 1, 10 and 50 backends of 100 tools");
  for (const n of quick ? [1, 10] : [1, 10, 50]) {
    let proxy;
    try {
      proxy = await ourProxyHttp(echoConfig(n, 98), { nodeFlags: ["--expose-gc"], listenMs: 90_000 });
      remember();
      const agent = keepAliveAgent(1);
      // A client of the full profile: the list comes from the mirror made at start (no child spawned).
      const session = await rawSession(proxy.url, agent, { request: { method: "tools/list", params: {} }, capabilities: FULL_CAPABILITIES });
      const { tools } = await session.request("tools/list");
      if (tools.length !== n * 100) throw new Error(`${n} backends listed ${tools.length} tools, not ${n * 100}`);
      const stats = summarise([await runLoad(session.call, { concurrency: 1, maxCalls: 20_000, durationMs: cfg.durationMs, warmup: 50, warmupMs: cfg.warmupMs, cpuPids: [proxy.child.pid] })]);
      const bytes = JSON.stringify({ tools }).length;
      const memory = await settledRss(proxy.child);
      agent.destroy();
      const floor = await fixedBodyP50(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } }));
      growth.push({
        measure: "tools/list, 100 tools per backend (HTTP front, raw POST, c=1)",
        size: `${n} backend${n > 1 ? "s" : ""} (${fmt(n * 100)} tools, ${fmt(bytes / 1024)} KB)`,
        figure: `p50 ${fmt(stats.p50 / 1000, 2)} ms, p99 ${fmt(stats.p99 / 1000, 2)} ms; proxy RSS ${fmt(memory / 2 ** 20, 1)} MB`,
        goal: n === 50 ? "p50 ≤ 2 ms" : "",
        note: `${fmt(stats.rps)} lists/s; proxy CPU ${fmt(stats.cpuPerCall)} µs/list; the floor (node:http in the runner answering the same bytes, precomputed): p50 ${fmt(floor / 1000, 2)} ms`,
      });
      log(`  ${n} backends: p50 ${fmt(stats.p50 / 1000, 2)} ms, RSS ${fmt(memory / 2 ** 20, 1)} MB`);
    } catch (error) {
      failures.push(`tools/list with ${n} backends: ${error?.message ?? error}`);
      log(`  FAILED: ${error?.stack ?? error}`);
    } finally {
      if (proxy) await stop(proxy.child);
    }
  }
}

/** p50 (µs) of raw POSTs to a node:http server in this process that answers `body`, precomputed: moving the bytes and nothing else. */
async function fixedBodyP50(body) {
  const data = Buffer.from(body);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": data.length }).end(data));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const agent = keepAliveAgent(1);
  try {
    const url = `http://127.0.0.1:${server.address().port}/`;
    const { post } = rawPoster(url, agent);
    const stats = summarise([await runLoad(() => post("{}"), { concurrency: 1, maxCalls: 20_000, durationMs: Math.min(cfg.durationMs, 1000), warmup: 30, warmupMs: cfg.warmupMs })]);
    return stats.p50;
  } finally {
    agent.destroy();
    server.close();
  }
}

/** CPU per call of the HTTP front over a stdio backend at concurrency 1, 16 and 64 (raw POST). */
async function concurrencyScenario() {
  await compare({
    key: "concurrency",
    scenario: "HTTP front → stdio backend, by concurrency",
    loads: ["raw POST"],
    concurrencies: [1, 16, 64],
    variants: [
      {
        name: "fastmcp-proxy",
        setup: async () => {
          const ours = await ourProxyHttp(echoStdio());
          const endpoint = httpEndpoint(ours.url, ours.child.pid);
          return { ...endpoint, close: async () => (await endpoint.close(), await stop(ours.child)) };
        },
      },
    ],
    after: ({ c, stats: [s] }) =>
      growth.push({ measure: "CPU per call, HTTP front → stdio backend (raw POST)", size: `c=${c}`, figure: `${fmt(s.cpuPerCall)} µs proxy CPU/call`, goal: "", note: `${fmt(s.rps)} calls/s, p50 ${fmt(s.p50)} µs` }),
  });
}

/**
 * The first call of a new client: an isolated session over a stdio backend spawns a child for it,
 * unless a warm spare is waiting. A spare is opened for a profile once a client of it has opened
 * a session, so a first client primes it (not timed); then each sample waits for the proxy's
 * children to settle (the spare started and idle), opens a raw session, times its first
 * tools/call, and ends it with DELETE.
 */
async function firstCallScenario() {
  if (!wanted("first call")) return;
  log("▶ first call on a new isolated session");
  const samples = quick ? 3 : 10;
  for (const [label, options, want] of [["no spare", NO_SPARE, 1], ["a warm spare", WARM_SPARE, 2]]) {
    let proxy;
    try {
      const child = start("fastmcp-proxy (first call)", NODE, [PROXY, "--front", "http", "--options", JSON.stringify(options), "--backend", JSON.stringify(echoStdio())], { cwd: HERE });
      proxy = { child, url: await listening(child) };
      remember();
      const agent = keepAliveAgent(1);
      const primer = await rawSession(proxy.url, agent);
      await primer.call();
      await deleteSession(proxy.url, agent, primer.sessionId);
      const times = [];
      let unsettled = 0;
      for (let i = 0; i < samples; i++) {
        // The primary session's child, plus the spare when there is one.
        if (!(await childrenSettled(child.pid, want))) unsettled++;
        const session = await rawSession(proxy.url, agent);
        const t0 = performance.now();
        await session.call();
        times.push(performance.now() - t0);
        await deleteSession(proxy.url, agent, session.sessionId);
      }
      agent.destroy();
      if (options === WARM_SPARE) findings.firstCallSpareP50 = median(times);
      growth.push({
        measure: "first tools/call on a new isolated session (stdio backend)",
        size: `${label} (${JSON.stringify(options)})`,
        figure: `p50 ${fmt(median(times), 1)} ms, max ${fmt(Math.max(...times), 1)} ms`,
        goal: options === WARM_SPARE ? "≤ 20 ms p50" : "",
        note: `${samples} new sessions, each ended with DELETE, after the proxy's children settled at ${want}${unsettled ? ` (${unsettled} did not within 20 s)` : ""}`,
      });
      log(`  ${label}: p50 ${fmt(median(times), 1)} ms`);
    } catch (error) {
      failures.push(`first call (${label}): ${error?.message ?? error}`);
      log(`  FAILED: ${error?.stack ?? error}`);
    } finally {
      if (proxy) await stop(proxy.child);
    }
  }
}

/** Waits (at most 20 s) until `pid` has exactly `count` child processes and none used CPU for 300 ms. */
async function childrenSettled(pid, count) {
  const deadline = performance.now() + 20_000;
  let last = NaN;
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    const kids = descendants(pid);
    const cpu = kids.reduce((sum, kid) => sum + cpuMicros(kid), 0);
    if (kids.length !== count || cpu !== last) quietSince = performance.now();
    last = cpu;
    if (kids.length === count && performance.now() - quietSince >= 300) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Bytes allocated per forwarded call (v8.GCProfiler inside the process, robust to load) and CPU per
 * call (from /proc), stdio → stdio at c=16: the proxy beside the byte relay, the floor of any process.
 */
async function allocationScenario() {
  if (!wanted("allocation")) return;
  log("▶ allocation per call, stdio → stdio, c=16");
  const calls = quick ? 2_000 : 20_000;
  const measure = async (label, args) => {
    const transport = new StdioClientTransport({ command: NODE, args: ["--import", ALLOC_WINDOW, ...args], env: CHILD_ENV, stderr: "pipe", cwd: HERE });
    let stderr = "";
    transport.stderr?.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4096)));
    const client = new Client({ name: "bench", version: "1.0.0" });
    await client.connect(transport);
    adopt(transport.pid, label);
    try {
      const call = sdkCall(client);
      await runLoad(call, { concurrency: 16, maxCalls: calls, durationMs: 20_000, warmup: calls, warmupMs: 20_000 });
      process.kill(transport.pid, "SIGUSR2");
      const run = await runLoad(call, { concurrency: 16, maxCalls: calls, durationMs: 20_000, warmup: 0, cpuPids: [transport.pid] });
      process.kill(transport.pid, "SIGUSR2");
      for (let i = 0; i < 100 && !/ALLOCATED \d+/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
      const bytes = Number(/ALLOCATED (\d+)/.exec(stderr)?.[1]);
      return { kb: bytes / run.calls / 1024, cpu: run.cpuMicros / run.calls };
    } finally {
      await client.close().catch(() => {});
      await stopPid(transport.pid);
    }
  };
  try {
    const proxy = await measure("fastmcp-proxy stdio (allocation)", [PROXY, "--front", "stdio", "--backend", JSON.stringify(echoStdio())]);
    const relay = await measure("byte relay (allocation)", [RELAY, ...echoStdio()]);
    findings.allocPerCall = proxy.kb;
    growth.push({ measure: "allocated per forwarded call (v8.GCProfiler), stdio → stdio, c=16", size: "fastmcp-proxy", figure: `${fmt(proxy.kb, 1)} KB, ${fmt(proxy.cpu)} µs CPU`, goal: "≤ 12 KB", note: `floor (byte relay): ${fmt(relay.kb, 1)} KB, ${fmt(relay.cpu)} µs CPU` });
  } catch (error) {
    failures.push(`allocation: ${error?.message ?? error}`);
    log(`  FAILED: ${error?.stack ?? error}`);
  }
}

/** A hundred HTTP clients of one tenant (`sessions: "tenant"`), one call each: backend children and RSS in all. */
async function tenantScenario() {
  if (!wanted("tenant")) return;
  const clients = 100;
  log(`▶ ${clients} clients of one tenant on a stdio backend`);
  const agent = keepAliveAgent(16);
  let proxy;
  try {
    proxy = await ourProxyHttp(echoStdio(), { sessions: "tenant", options: { spareSessions: 0 }, extraArgs: ["--identity", "bench-tenant"] });
    for (let i = 0; i < clients; i++) await (await rawSession(proxy.url, agent)).call();
    const children = descendants(proxy.child.pid);
    const total = [proxy.child.pid, ...children].reduce((sum, pid) => sum + rss(pid), 0);
    findings.tenantChildren = children.length;
    findings.tenantRss = total;
    growth.push({ measure: "clients of one tenant on a stdio backend (sessions: \"tenant\"), one call each", size: fmt(clients), figure: `${children.length} backend children, ${fmt(total / 2 ** 20)} MB RSS in all`, goal: "≤ 2 children, ≤ 300 MB", note: "floor: one child (a direct connection)" });
  } catch (error) {
    failures.push(`tenant: ${error?.message ?? error}`);
    log(`  FAILED: ${error?.stack ?? error}`);
  } finally {
    agent.destroy();
    if (proxy) await stop(proxy.child);
  }
}

/** Middleware costs in process (InMemoryTransport): the proxy alone, then with each middleware, alternated. */
async function middlewareScenario() {
  if (!wanted("middleware")) return;
  let logging;
  try {
    logging = await import("@fastmcp-proxy/logging");
  } catch {
    log("▶ middleware: @fastmcp-proxy/logging is not built, skipped");
    return;
  }
  const inProcess = (name, use) => ({
    name,
    setup: async () => {
      const proxy = FastMCPProxy.asProxy(makeEchoServer(), { name: "bench-proxy" });
      use(proxy);
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await proxy.connect(serverSide);
      const client = new Client({ name: "bench", version: "1.0.0" });
      await client.connect(clientSide);
      return { caller: async (_l, _c, request) => sdkCall(client, request), close: async () => (await client.close(), await proxy.close()) };
    },
  });
  // The request lines go to a sink: this measures the middleware, not the terminal.
  const sink = { write() {} };
  await compare({
    key: "middleware",
    scenario: "middleware, in process (InMemoryTransport)",
    loads: ["SDK client"],
    concurrencies: [1],
    variants: [
      inProcess("fastmcp-proxy, no middleware", () => {}),
      inProcess("+ logging at info (lines to a sink)", (proxy) => proxy.use(logging.logging({ level: "info", destination: sink }))),
      inProcess("+ metrics", (proxy) => proxy.use(logging.metrics({ registry: new logging.Registry() }))),
    ],
    after: ({ stats, names }) => {
      stats.forEach((s, i) => {
        if (i === 0) return;
        const added = s.p50 - stats[0].p50;
        const cpu = s.clientCpuPerCall - stats[0].clientCpuPerCall;
        findings.middlewareAdded = Math.max(findings.middlewareAdded ?? -Infinity, added);
        growth.push({ measure: "middleware, added per call (in process, c=1)", size: names[i].replace(/^\+ /, ""), figure: `${fmt(added, 1)} µs p50, ${fmt(cpu, 1)} µs CPU`, goal: "≤ 10 µs", note: "" });
      });
    },
  });
}

/** Runs the benchmarks other packages keep beside this runner (auth, caching), and keeps their output. */
async function sideBenches() {
  const outputs = [];
  for (const file of SIDE_BENCHES) {
    if (!existsSync(file) || !wanted("middleware")) continue;
    log(`▶ ${file.slice(HERE.length + 1)}`);
    const child = start(file.slice(HERE.length + 1), NODE, [file, ...(quick ? ["--quick"] : [])], { cwd: HERE });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    const { code } = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r({ code: "timeout" }), 420_000))]);
    await stop(child);
    if (code !== 0) failures.push(`${file.slice(HERE.length + 1)} exited ${code}: ${child.stderrTail.slice(-3).join(" | ")}`);
    outputs.push(`### ${file.slice(HERE.length + 1)}\n\n${out.trim()}`);
  }
  return outputs.join("\n\n");
}

function growthTable() {
  if (growth.length === 0) return "";
  const cell = (v) => String(v ?? "").replace(/\|/g, "\\|");
  return [
    "| measure | size | figure | goal | note |",
    "|---|---|---|---|---|",
    ...growth.map((g) => `| ${[g.measure, g.size, g.figure, g.goal, g.note].map(cell).join(" | ")} |`),
  ].join("\n");
}

// ── Output ────────────────────────────────────────────────────────────────────────────────────

function table() {
  const head = ["Scenario", "Load", "Conc.", "Variant", "calls/s (min–max run)", "p50 µs", "p99 µs", "vs baseline", "server CPU µs/call¹", "client CPU µs/call²", "Notes"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((h, i) => (i >= 4 && i <= 6) || i === 8 || i === 9 ? "---:" : "---").join("|")}|`];
  // One line per cell, no pipes: error messages can carry both.
  const cell = (v) => String(v ?? "—").replace(/\s*\n\s*/g, " ⏎ ").replace(/\|/g, "\\|").slice(0, 300);
  for (const r of rows) lines.push(`| ${[r.scenario, r.load, r.c, r.variant, r.rps, r.p50, r.p99, r.vs, r.cpu, r.ccpu ?? "—", r.note].map(cell).join(" | ")} |`);
  return lines.join("\n");
}

function targets() {
  const t = [];
  const check = (name, value, ok, shown) =>
    t.push(`- ${value === undefined ? "⬜ not measured" : ok ? "✅ met" : "❌ missed"}: ${name}${value === undefined ? "" : ` — ${shown}`}`);
  const s1 = findings["stdio.c1"];
  const s16 = findings["stdio.c16"];
  const f1 = findings["stdio.floor.c1"];
  const f16 = findings["stdio.floor.c16"];
  check("stdio→stdio ≥ 0.85× direct throughput", s1 ?? s16, s1 >= 0.85 && s16 >= 0.85,
    `c=1 ${s1?.toFixed(2)}×, c=16 ${s16?.toFixed(2)}× (a byte relay, the floor for any proxy process: c=1 ${f1?.toFixed(2)}×, c=16 ${f16?.toFixed(2)}×` +
      `${findings["stdio.cli.c16"] ? `; the CLI with default flags: c=1 ${findings["stdio.cli.c1"]?.toFixed(2)}×, c=16 ${findings["stdio.cli.c16"]?.toFixed(2)}×` : ""})`);
  const peer = findings["vsPeer.raw POST.c16"];
  const peerSdk = findings["vsPeer.SDK client.c16"];
  const peerCli = findings["vsPeer.cli.raw POST.c16"];
  check("HTTP front → stdio backend ≥ 3× mcp-proxy at c=16 (raw POST load)", peer, peer >= 3,
    `${peer?.toFixed(2)}× (SDK client load: ${peerSdk?.toFixed(2)}×${peerCli ? `; the CLI with default flags: ${peerCli.toFixed(2)}×` : ""})`);
  const peer64 = findings["vsPeer.raw POST.c64"];
  check("HTTP front → stdio backend ≥ 3.3× mcp-proxy at c=64 (raw POST)", peer64, peer64 >= 3.3, `${peer64?.toFixed(2)}× (SDK client load: ${findings["vsPeer.SDK client.c64"]?.toFixed(2)}×)`);
  const megabyte = findings["megabyte.vsRelay"];
  check("a 1 MiB tools/call result (stdio → stdio, c=1) in ≤ 3× the byte relay's time", megabyte, megabyte <= 3, `${megabyte?.toFixed(2)}× the relay's time per call`);
  // Round 2 (issue 13).
  const relay = findings["stdio.vsRelay.c16"];
  check("stdio→stdio ≥ 0.9× the byte relay's throughput at c=16", relay, relay >= 0.9, `${relay?.toFixed(2)}× (c=1 ${findings["stdio.vsRelay.c1"]?.toFixed(2)}×)`);
  // Issue 20.
  const relay64 = findings["stdio.vsRelay.c64"];
  const x = (key) => `${findings[key]?.toFixed(2) ?? "—"}×`;
  check("stdio→stdio ≥ 0.85× the byte relay's throughput at c=16 and ≥ 0.9× at c=64", relay64 ?? relay, relay >= 0.85 && relay64 >= 0.9,
    `c=16 ${relay?.toFixed(2)}×, c=64 ${relay64?.toFixed(2)}× (server-everything: c=16 ${x("everything.stdio.vsRelay.c16")}, c=64 ${x("everything.stdio.vsRelay.c64")})`);
  const everything16 = findings["everything.vsPeer.c16"];
  const everything64 = findings["everything.vsPeer.c64"];
  check("HTTP front → stdio backend ≥ 2.5× mcp-proxy at c=16 and ≥ 3.3× at c=64 (raw POST, server-everything)", everything16, everything16 >= 2.5 && everything64 >= 3.3,
    `c=16 ${everything16?.toFixed(2)}×, c=64 ${x("everything.vsPeer.c64")} (the echo server: c=16 ${x("vsPeer.raw POST.c16")}, c=64 ${x("vsPeer.raw POST.c64")})`);
  // Judged, as the issue's figures were taken, on server-everything; the echo server, several times lighter a call, beside it.
  const everythingHttp = findings["everything.http.c16"];
  const http16 = findings["http.raw POST.c16"];
  const httpCpu = findings["http.cpu.raw POST.c16"];
  check("HTTP front → HTTP backend ≥ 0.8× direct (raw POST, c=16, server-everything)", everythingHttp, everythingHttp >= 0.8,
    `${everythingHttp?.toFixed(2)}× (an HTTP relay that parses nothing, ${x("everything.http.relay.c16")}). The echo server: ${http16?.toFixed(2)}× (floors: an HTTP relay, ${x("http.relay.raw POST.c16")}; a TCP relay, ${x("http.tcp.raw POST.c16")}); proxy CPU ${httpCpu?.toFixed(2)}× the echo backend's (SDK client load: ${x("http.SDK client.c16")})`);
  check("HTTP front → stdio backend ≥ 3.5× mcp-proxy at c=16 (raw POST, echo backend)", peer, peer >= 3.5, `${peer?.toFixed(2)}×`);
  const cliCpu = findings["stdio.cliCpu.c16"];
  check("the CLI with default flags within 10% of the library's CPU per call (stdio, c=16)", cliCpu, cliCpu <= 1.1, `${cliCpu === undefined ? "" : `+${((cliCpu - 1) * 100).toFixed(0)}%`} (c=1: ${findings["stdio.cliCpu.c1"] === undefined ? "—" : `+${((findings["stdio.cliCpu.c1"] - 1) * 100).toFixed(0)}%`})`);
  const spare = findings.firstCallSpareP50;
  check("first call on a new isolated session ≤ 20 ms p50 with a warm spare", spare, spare <= 20, `${spare?.toFixed(1)} ms`);
  const mw = findings.middlewareAdded;
  check("each middleware (logging at info, metrics) ≤ 10 µs added per call", mw, mw <= 10, `at most ${mw?.toFixed(1)} µs p50 (auth and caching: their own sections)`);
  const added = findings["inproc.c1.addedP50"];
  check("in-process added p50 ≤ 50 µs", added, added <= 50, `${added?.toFixed(1)} µs at c=1`);
  // Round 3 (issue 17): one pipeline for every front, no backend session per 2026 call.
  const eras = findings["eras.declared.c16"];
  check("a 2026-07-28 call declaring elicitation, sampling and roots costs no more than a legacy call (throughput ≥ 0.9×, c=16)", eras, eras >= 0.9,
    `${eras?.toFixed(2)}× the legacy session's calls/s, ${findings["eras.declaredCpu.c16"]?.toFixed(2)}× its proxy CPU per call (c=1 ${findings["eras.declared.c1"]?.toFixed(2)}×; declaring none: ${findings["eras.none.c16"]?.toFixed(2)}×; declaring input with askingSessions 64: ${findings["eras.declaredWide.c16"]?.toFixed(2)}×)`);
  const erasHttp = findings["eras-http.declared.c16"];
  check("the same over an HTTP backend (asking calls share its session)", erasHttp, erasHttp >= 0.9,
    `${erasHttp?.toFixed(2)}× the legacy session's calls/s, ${findings["eras-http.declaredCpu.c16"]?.toFixed(2)}× its proxy CPU per call (c=1 ${findings["eras-http.declared.c1"]?.toFixed(2)}×; declaring none: ${findings["eras-http.none.c16"]?.toFixed(2)}×)`);
  const erasKnown = findings["eras-known.declared.c16"];
  check("the same over a stdio backend, every call made as one known caller (its asking calls share its session)", erasKnown, erasKnown >= 0.9,
    `${erasKnown?.toFixed(2)}× the legacy session's calls/s, ${findings["eras-known.declaredCpu.c16"]?.toFixed(2)}× its proxy CPU per call (c=1 ${findings["eras-known.declared.c1"]?.toFixed(2)}×; declaring none: ${findings["eras-known.none.c16"]?.toFixed(2)}×)`);
  // Issue 20: the lean hot path.
  const alloc = findings.allocPerCall;
  check("≤ 12 KB allocated per forwarded call (v8.GCProfiler, stdio → stdio, c=16)", alloc, alloc <= 12, `${alloc?.toFixed(1)} KB`);
  const kids = findings.tenantChildren;
  check("100 clients of one tenant on a stdio backend: ≤ 2 backend children and ≤ 300 MB RSS in all", kids, kids <= 2 && findings.tenantRss <= 300 * 2 ** 20, `${kids} children, ${(findings.tenantRss / 2 ** 20).toFixed(0)} MB`);
  const mem = findings.rssPerSession;
  check("≤ 1 MB RSS per idle HTTP session", mem, mem <= 2 ** 20, `${mem === undefined ? "" : (mem / 1024).toFixed(1)} KB/session`);
  return t.join("\n");
}

function version(pkgDir) {
  try {
    return JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

async function main() {
  const t0 = Date.now();
  const loadBefore = os.loadavg()[0];
  log(`bench: rounds ${cfg.rounds} × ${cfg.durationMs} ms per variant, warm-up ${cfg.warmup} calls, idle sessions ${cfg.idleSessions.join(", ")}`);
  await inProcessScenario();
  await stdioScenario();
  await megabyteScenario();
  await httpScenario();
  await httpStdioScenario();
  await everythingScenarios();
  await erasScenario();
  await erasScenario({ key: "eras-http", over: "http" });
  // Every call made as one principal: a known caller's calls that may be asked share its own session.
  await erasScenario({ key: "eras-known", over: "stdio", identity: "bench-user" });
  await toolsListScenario();
  await memoryScenario();
  await concurrencyScenario();
  await startupScenario();
  await toolsListScaleScenario();
  await firstCallScenario();
  await middlewareScenario();
  await allocationScenario();
  await tenantScenario();
  const side = await sideBenches();
  await stopAll();

  const left = survivors([...everSeen]);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = os.cpus();
  const meta = [
    `Machine: ${cpu[0]?.model ?? "?"} × ${cpu.length} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
      `@modelcontextprotocol/sdk ${version(join(HERE, "node_modules", "@modelcontextprotocol", "sdk"))}; mcp-proxy ${version(join(HERE, "node_modules", "mcp-proxy"))}.`,
    `Load average (1 min) ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end: anything else running on the machine shows in the min–max spread.`,
    `Run: \`pnpm bench${argv.length ? ` ${argv.join(" ")}` : ""}\` on ${new Date().toISOString()}, ${seconds.toFixed(0)} s; ` +
      `${cfg.rounds} alternating rounds (A B A B …) of ${cfg.durationMs} ms per variant and load, after a warm-up of ${cfg.warmupMs} ms (at most ${cfg.warmup} calls); figures pooled over the rounds.`,
  ].join("\n");
  const notes = [
    "¹ CPU time per call of the process the load generator talks to, measured from /proc: for direct rows the echo backend, for proxy rows the proxy process alone (its backend excluded); in-process rows share the runner's process (—).",
    "² CPU time per call of the benchmark runner (the load generator; in-process rows: client, proxy and backend together).",
    "Loads: *SDK client* is `Client.request` (results not validated) over the SDK transport; *raw POST* is a keep-alive `http.Agent` loop posting JSON-RPC `tools/call` on a session opened with raw `initialize` + `notifications/initialized`, one socket per concurrent worker. Each load opens its own session.",
    `Leftover processes after the run: ${left.length === 0 ? "none" : left.join(", ")}.`,
    ...history
      .filter((h) => h.warnings > 0)
      .map((h) => `⚠ ${h.label} (pid ${h.pid}) wrote ${fmt(h.warnings)} warning/error lines to stderr, the first: \`${h.firstWarning}\``),
  ].join("\n");
  const grown = growthTable();
  const out = `${table()}\n\n${notes}\n\n${grown ? `How cost grows:\n\n${grown}\n\n` : ""}${side ? `${side}\n\n` : ""}Targets:\n${targets()}\n\n${meta}\n${failures.length ? `\nFailures:\n${failures.map((f) => `- ${f.split("\n").slice(0, 4).join(" ⏎ ")}`).join("\n")}\n` : ""}`;
  process.stdout.write(`\n${out}`);
  const dir = join(HERE, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.md"), `# fastmcp-proxy benchmark\n\n${out}`);
  log(`\nwritten to bench/results/latest.md`);
  if (failures.length || left.length) process.exitCode = 1;
}

main().catch(async (error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  await stopAll().catch(() => {});
  process.exitCode = 1;
});

#!/usr/bin/env node
// `pnpm soak`: the proxy under a steady load for a long time (issues 12 and 22), not in CI.
//
//   node bench/soak.mjs [--minutes 10] [--rps 100] [--sessions 20] [--life 30] [--idle 10]
//
// The proxy runs in a child process of this script (streamable HTTP front on 127.0.0.1, the test
// fixture as a stdio backend, isolated sessions: a backend child per front session), started with
// --expose-gc so its heap can be measured after a full GC. This process sends a fixed rate of mixed
// tools/call, tools/list and resources/read over `--sessions` sessions, each replaced after `--life`
// seconds: every other one is ended with DELETE, the others depart without it, as the SDK client's
// close() does, and are left to the proxy's idle expiry (limits.sessionIdleMs, shortened to `--idle`
// seconds here; 30 minutes by default). Every minute it prints the proxy's heap after GC, RSS, open
// fds, sessions, child processes, requests, errors and latency; at the end it deletes the live
// sessions, waits for the departed ones to expire, checks that sessions, fds and children are back to
// their baseline, stops the proxy with SIGTERM and checks that it exits 0 with no orphan.
// Goals: heap growth from minute 1 to the end ≤ 10%, 0 errors.
import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("../test/fixtures/fixture-server.mjs", import.meta.url));

if (process.argv[2] === "--proxy") await proxyMain();
else await soakMain();

// ── The proxy (child) ─────────────────────────────────────────────────────────

async function proxyMain() {
  const { FastMCPProxy } = await import("@fastmcp-proxy/core");
  const sessionIdleMs = Number(process.argv[3]);
  const proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { name: "soak", logLevel: "error", sessions: "isolated", maxSessions: 1000 });
  await proxy.start();
  // The handler on a server of our own: its open session count is part of the stats.
  const handler = proxy.httpHandler({ limits: { sessionIdleMs } });
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.on("message", (message) => {
    if (message === "stats") process.send({ stats: { ...stats(), sessions: handler.sessions } });
  });
  process.on("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    Promise.all([handler.close(), proxy.close()]).then(() => process.exit(0), () => process.exit(1));
  });
  process.send({ url: `http://127.0.0.1:${server.address().port}/mcp` });
}

function stats() {
  globalThis.gc();
  globalThis.gc();
  const children = descendants(process.pid);
  const describe = (pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()}`;
    } catch {
      return `${pid}`;
    }
  };
  return { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, fds: readdirSync("/proc/self/fd").length, children: children.length, processes: children.map(describe) };
}

/** Every descendant of `pid` (Linux /proc). */
function descendants(pid) {
  const parents = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const [child, parent] of parents) if (parent === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}

// ── The load (this process) ───────────────────────────────────────────────────

async function soakMain() {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const minutes = arg("minutes", 10);
  const rps = arg("rps", 100);
  const sessionCount = arg("sessions", 20);
  const lifeMs = arg("life", 30) * 1000;
  const idleMs = arg("idle", 10) * 1000;

  const child = fork(fileURLToPath(import.meta.url), ["--proxy", String(idleMs)], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies = [];
  child.on("message", (m) => replies.shift()?.(m));
  const next = () => new Promise((resolve) => replies.push(resolve));
  const { url } = await next();
  const proxyStats = async () => (child.send("stats"), (await next()).stats);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  console.log(
    `soak: ${minutes} min at ${rps} req/s over ${sessionCount} sessions (each replaced after ${lifeMs / 1000} s, every other one without DELETE; ` +
      `sessionIdleMs ${idleMs / 1000} s), proxy pid ${child.pid} at ${url}`,
  );

  const totals = { requests: 0, errors: 0, sessions: 0, departed: 0, skipped: 0, firstError: undefined, errorKinds: new Map() };
  let latencies = [];
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
  let nextId = 1;

  async function post(session, body) {
    const response = await fetch(url, { method: "POST", headers: session?.id ? { ...headers, "mcp-session-id": session.id } : headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (response.status === 202) return { response };
    const json = text.startsWith("{") ? JSON.parse(text) : JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? "null");
    if (!response.ok || !json || json.error) throw new Error(`HTTP ${response.status}: ${json?.error ? `${json.error.code} ${json.error.message}` : text.slice(0, 200)}`);
    return { response, json };
  }

  async function openSession() {
    const init = { jsonrpc: "2.0", id: nextId++, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "soak", version: "1" } } };
    const { response } = await post(undefined, init);
    const session = { id: response.headers.get("mcp-session-id"), born: Date.now(), inFlight: 0, closing: false };
    await post(session, { jsonrpc: "2.0", method: "notifications/initialized" });
    totals.sessions++;
    return session;
  }

  async function closeSession(session) {
    session.closing = true;
    while (session.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await fetch(url, { method: "DELETE", headers: { ...headers, "mcp-session-id": session.id } }).then((r) => r.text());
  }

  /** A client that goes without a DELETE (as the SDK client's close() does): the proxy's idle expiry must end it. */
  async function departSession(session) {
    session.closing = true;
    while (session.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    totals.departed++;
  }

  const fail = (error) => {
    const message = String(error?.message ?? error);
    totals.errors++;
    totals.firstError ??= message;
    const kind = message.replace(/\d+/g, "N").slice(0, 160);
    totals.errorKinds.set(kind, (totals.errorKinds.get(kind) ?? 0) + 1);
  };

  async function request(session) {
    const pick = totals.requests % 10;
    const body =
      pick < 5 ? { method: "tools/call", params: { name: "echo", arguments: { text: `soak ${totals.requests}` } } }
      : pick < 8 ? { method: "tools/list", params: {} }
      : { method: "resources/read", params: { uri: "fixture://static/hello" } };
    totals.requests++;
    session.inFlight++;
    const started = performance.now();
    try {
      await post(session, { jsonrpc: "2.0", id: nextId++, ...body });
      latencies.push(performance.now() - started);
    } catch (error) {
      fail(error);
    } finally {
      session.inFlight--;
    }
  }

  // Warm-up: one session's first call opens whatever the proxy keeps open for good; the baseline is after it.
  const warmUp = await openSession();
  await request(warmUp);
  await closeSession(warmUp);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const baseline = await proxyStats();
  const sessions = [];
  for (let i = 0; i < sessionCount; i++) sessions.push(await openSession());

  const endAt = Date.now() + minutes * 60_000;
  const perTick = rps / 100;
  let owed = 0;
  let turn = 0;
  const replacing = new Set();
  let replaced = 0;
  const ticker = setInterval(() => {
    owed += perTick;
    for (; owed >= 1; owed--) {
      const index = turn++ % sessions.length;
      const session = sessions[index];
      if (!session || session.closing) continue;
      if (Date.now() - session.born > lifeMs && !replacing.has(index)) {
        replacing.add(index);
        sessions[index] = undefined;
        (replaced++ % 2 === 0 ? closeSession(session) : departSession(session))
          .then(openSession)
          .then((fresh) => (sessions[index] = fresh), fail)
          .finally(() => replacing.delete(index));
        continue;
      }
      if (session.inFlight < 50) void request(session);
      else totals.skipped++; // the proxy is not keeping up: counted, not queued
    }
  }, 10);

  const rows = [];
  const row = async (minute) => {
    const s = await proxyStats();
    const sorted = latencies.sort((a, b) => a - b);
    const p = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1) : "-");
    rows.push(s);
    console.log(
      `min ${String(minute).padStart(2)}  heap ${mb(s.heap)}  rss ${mb(s.rss)}  fds ${s.fds}  open sessions ${s.sessions}  children ${s.children}  ` +
        `requests ${totals.requests}  errors ${totals.errors}  not sent ${totals.skipped}  sessions opened ${totals.sessions} (departed ${totals.departed})  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms`,
    );
    latencies = [];
  };
  console.log(`baseline  heap ${mb(baseline.heap)}  rss ${mb(baseline.rss)}  fds ${baseline.fds}  open sessions ${baseline.sessions}  children ${baseline.children}`);
  for (let minute = 1; Date.now() < endAt; minute++) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(60_000, endAt - Date.now())));
    await row(minute);
  }
  clearInterval(ticker);

  // Drain: the live sessions deleted, the departed ones left to expire (within sessionIdleMs, swept
  // every idle/2); their backend children go, only the primary stays. Closing a child takes up to 4 s
  // (stdin end, SIGTERM, SIGKILL): wait for that too, within bounds.
  while (replacing.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  await Promise.all(sessions.filter(Boolean).map(closeSession));
  let drained = await proxyStats();
  const back = (s) => s.sessions <= baseline.sessions && s.children <= baseline.children && s.fds <= baseline.fds + 2;
  for (const deadline = Date.now() + idleMs * 1.5 + 15_000; Date.now() < deadline && !back(drained); ) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    drained = await proxyStats();
  }
  const proxyChildren = descendants(child.pid);
  child.kill("SIGTERM");
  const exit = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve({ code: "timeout" }), 15_000))]);
  const orphans = proxyChildren.filter(alive);

  const warm = rows[0] ?? baseline;
  const growth = (drained.heap - warm.heap) / warm.heap;
  console.log(
    `drained   heap ${mb(drained.heap)}  rss ${mb(drained.rss)}  fds ${drained.fds} (baseline ${baseline.fds})  ` +
      `open sessions ${drained.sessions} (baseline ${baseline.sessions})  children ${drained.children} (baseline ${baseline.children})`,
  );
  const checks = [
    [`heap after GC, minute 1 → drained: ${(growth * 100).toFixed(1)}% (goal ≤ 10%)`, growth <= 0.1],
    [`errors: ${totals.errors} of ${totals.requests} requests${totals.firstError ? ` (first: ${totals.firstError})` : ""}`, totals.errors === 0],
    [`fds back to baseline: ${drained.fds} vs ${baseline.fds}`, drained.fds <= baseline.fds + 2],
    [`sessions back to baseline (${totals.departed} departed without DELETE, expired): ${drained.sessions} vs ${baseline.sessions}`, drained.sessions <= baseline.sessions],
    [`children back to baseline: ${drained.children} vs ${baseline.children}`, drained.children <= baseline.children],
    [`SIGTERM: exit ${exit.code ?? exit.signal}, ${orphans.length} orphan(s)`, exit.code === 0 && orphans.length === 0],
  ];
  for (const [text, ok] of checks) console.log(`${ok ? "PASS" : "FAIL"}  ${text}`);
  for (const [kind, count] of [...totals.errorKinds].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${count} × ${kind}`);
  if (drained.children > baseline.children) console.log(`children after the drain:\n  ${drained.processes.join("\n  ")}\nat baseline:\n  ${baseline.processes.join("\n  ")}`);
  for (const pid of orphans) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

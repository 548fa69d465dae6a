#!/usr/bin/env node
// node bench/auth.mjs [--rounds 3] [--noisy-rounds 12] [--lead-in 1000] [--duration 1200] [--concurrency 16] [--flood-rate 5000] [--no-pin] [--no-front] [--no-hold] [--flood-ticks 0,2] [--bare-backend] [--poisson] [--quick] [--json]
//
// What bearer authentication adds to a tools/call: the proxy (HTTP front, in-process echo backend)
// with and without bearerAuth + a JWT verifier, raw JSON-RPC POSTs on keep-alive sockets, variants
// alternated A B A B. The token is verified once and then served from the verified-token cache, as
// in production. Everything runs in this process, so "CPU µs/call" is client + proxy: the
// difference between the two rows is what auth costs. Also: bearerAuth.verify() alone, cached and not.
// And a noisy principal under per-principal rate limits: bob floods from a process of his own
// (lib/flood.mjs) while alice's p99 is measured, with and without the flood, from this process and
// from one of her own (lib/paced.mjs), where the target is judged; the limit holds
// the connections it refuses at the front (holdConnections), and a second proxy without that shows
// the flood as it was.
import { spawnSync } from "node:child_process";
import http from "node:http";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { bareEchoClient, makeEchoServer } from "./lib/echo.mjs";
import { startIdp } from "./lib/idp.mjs";
import { keepAliveAgent, percentile, runLoad, summarise } from "./lib/load.mjs";
import { session } from "./lib/auth-session.mjs";
import { SLOW_MICROS, pace } from "./lib/pace.mjs";
import { start as startChild, stop, stopAll } from "./lib/procs.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const QUICK = args.includes("--quick"); // pnpm bench --quick: a smoke test
// The noisy principal's proxies front an echo with no SDK Protocol (lib/echo.mjs); alice's arrivals are Poisson.
const BARE_BACKEND = args.includes("--bare-backend");
const POISSON = args.includes("--poisson");
const ROUNDS = opt("--rounds", QUICK ? 1 : 3);
const DURATION = opt("--duration", QUICK ? 600 : 1200);
const CONCURRENCY = opt("--concurrency", 16);
// The noisy principal's phases take more rounds: a p99 of alice's 300 calls a round is her 3rd
// slowest, and one scheduler hiccup moves it; pooled over 12 rounds it is her 36th of 3,600.
const NOISY_ROUNDS = opt("--noisy-rounds", QUICK ? 1 : 12);

// Keys and a JWKS served on loopback, as an identity provider would.
const idp = await startIdp();
const { issuer, jwksUri } = idp;

async function start(withAuth, limit, atFront = false) {
  const backend = limit && BARE_BACKEND ? await bareEchoClient() : makeEchoServer();
  const proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
  const limiter = limit && rateLimit(limit);
  if (limiter) proxy.use(limiter);
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const auth = withAuth ? bearerAuth({ resource, authorizationServers: [issuer], verifier: jwtVerifier({ issuer, jwksUri }) }) : undefined;
  await proxy.run({ transport: "http", port, ...(auth ? { authenticate: atFront ? limiter.front(auth) : auth, routes: [auth.route] } : {}) });
  const tokenOf = (sub) => idp.tokenFor(sub, resource);
  const token = await tokenOf("bench");
  return { proxy, resource, auth, headers: withAuth ? { authorization: `Bearer ${token}` } : {}, token, tokenOf };
}

function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const variants = { "unauthenticated": await start(false), "bearer JWT (cached)": await start(true) };
const calls = {};
for (const [name, target] of Object.entries(variants)) calls[name] = await session(target, keepAliveAgent(CONCURRENCY));
const runs = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
// One round each, not counted: both paths JIT-compiled before anything is measured.
for (const name of Object.keys(variants)) await runLoad(calls[name], { concurrency: CONCURRENCY, maxCalls: 1_000_000, durationMs: DURATION / 2 });
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(variants)) runs[name].push(await runLoad(calls[name], { concurrency: CONCURRENCY, maxCalls: 1_000_000, durationMs: DURATION }));
}

// verify() alone: the cache hit path, and a full jwtVerify (cache off) for comparison.
async function perCall(fn, n) {
  for (let i = 0; i < 200; i++) await fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / n;
}
const authed = variants["bearer JWT (cached)"];
const cachedVerify = await perCall(() => authed.auth.verify(authed.token), 20_000);
// What the HTTP front adds per request on a cached token: the whole authenticate(req).
const req = { url: "/mcp", headers: { authorization: `Bearer ${authed.token}` } };
const cachedAuthenticate = await perCall(() => authed.auth(req), 20_000);
const uncached = bearerAuth({ resource: authed.resource, verifier: jwtVerifier({ issuer, jwksUri }), cache: { maxEntries: 0 } });
const fullVerify = await perCall(() => uncached.verify(authed.token), 2_000);

// A noisy principal under rateLimit (LIMIT per principal, judged at the front too: limit.front).
// Alice calls at c=1, paced to ALICE_RATE (within her allowance: none of her calls may be refused).
// Bob, from a process of his own, offers calls at a fixed rate whatever the answers: his allowance
// (LIMIT, all answered) or FLOOD_RATE (10× LIMIT, mostly refused); alice is measured from LEAD_IN_MS
// after he starts. The target is about what bob's excess takes from alice: her p99 beside bob
// flooding over her p99 beside bob at his allowance, ≤ 1.20×. Also the old definition: beside bob at c=CONCURRENCY in a closed loop (his
// offered rate then grows as the proxy refuses faster) over alice alone. With taskset and 2 CPUs,
// this process (proxy and alice) runs on CPU 0 and bob on CPU 1, so his generator never takes the
// proxy's CPU (see bench/README.md).
const LIMIT = { capacity: 500, perSecond: 500 };
const ALICE_RATE = 250;
const ALLOWANCE_RATE = LIMIT.perSecond;
// Alice is measured once bob has run this long: his bucket (500 at once) is spent and answered, and what
// is measured is a flood, not the burst his capacity allows. At 300 ms, her slow calls still crowded into
// the first 100 ms of her window (docs/performance.md, round 3's seventh session).
const LEAD_IN_MS = opt("--lead-in", QUICK ? 300 : 1000);
// Alice's calls over this long are counted, with those a GC pause overlapped: her p99 is one of them.
const SLOW_MS = SLOW_MICROS / 1000;
const FLOOD_RATE = opt("--flood-rate", LIMIT.perSecond * 10);
const FLOOD = fileURLToPath(new URL("./lib/flood.mjs", import.meta.url));
const PIN = !args.includes("--no-pin") && pinnable();
const AT_FRONT = !args.includes("--no-front");
const HOLD = AT_FRONT && !args.includes("--no-hold");
// Alice calls from this process (her client shares the proxy's event loop) and, in the phases the
// target is judged on, from a process of her own (lib/paced.mjs) pinned beside the proxy on CPU 0:
// there she shares the proxy's CPU, as a client on the same machine would, but not its event loop.
const PACED = fileURLToPath(new URL("./lib/paced.mjs", import.meta.url));
/** A limited proxy, alice's session on it (and, with `aliceOwn`, a second one from her own process) and bob's token. */
async function guardedProxy(holdConnections, { aliceOwn = false } = {}) {
  const guarded = await start(true, { ...LIMIT, holdConnections }, AT_FRONT);
  const aliceToken = await guarded.tokenOf("alice");
  const alice = pacer(await session({ ...guarded, headers: { authorization: `Bearer ${aliceToken}` } }, keepAliveAgent(1)));
  return { ...guarded, alice, ...(aliceOwn && { aliceOwn: await aliceProcess(guarded.resource, aliceToken) }), bobToken: await guarded.tokenOf("bob") };
}

/** Alice in her own process: `(perSecond, durationMs)` resolves as `paced` does. */
async function aliceProcess(endpoint, token) {
  const { child, line } = caller("alice", PACED, 0);
  child.stdin.write(`${JSON.stringify({ endpoint, token })}\n`);
  if ((await line(20_000)) !== "READY") throw new Error(`alice: did not start: ${child.stderrTail.join(" | ")}`);
  return (perSecond, durationMs) =>
    watched(async () => {
      child.stdin.write(`${JSON.stringify({ perSecond, durationMs, poisson: POISSON })}\n`);
      return JSON.parse(await line(durationMs + 20_000));
    });
}
const held = await guardedProxy(HOLD, { aliceOwn: true });
const notHeld = HOLD ? await guardedProxy(false) : undefined;
// --flood-ticks 0,2: more flood phases, each on a proxy of its own whose held connections are resumed on
// ticks this many ms apart (holdConnections.tickMs), measured in the same rounds as the default's.
const FLOOD_TICKS = args.includes("--flood-ticks") ? args[args.indexOf("--flood-ticks") + 1].split(",").map(Number) : [];
const ticked = [];
for (const tickMs of FLOOD_TICKS) ticked.push([`flood, ${tickMs} ms ticks`, await guardedProxy({ tickMs })]);
const tickOf = (name) => name.slice("flood, ".length);
const guardedProxies = [held, notHeld, ...ticked.map(([, on]) => on)].filter(Boolean);

/** Whether processes can be pinned to CPUs 0 and 1 (taskset from util-linux, at least 2 CPUs). */
function pinnable() {
  return availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).status === 0;
}

/** Every thread of `pid` on `cpus` (a taskset list, e.g. "0" or "0-1"). */
function pin(pid, cpus) {
  const done = spawnSync("taskset", ["-a", "-cp", cpus, String(pid)]);
  if (done.status !== 0) throw new Error(`taskset: ${done.stderr}`);
}

/** This process's GC pauses as [start, end] (performance.now() ms), kept while alice is measured. */
const gcPauses = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push([entry.startTime, entry.startTime + entry.duration]);
});

/**
 * `call()` paced (lib/pace.mjs) from this process: latencies in µs, this process's CPU µs, and what
 * explains the tail: calls over SLOW_MS, how many of them a GC pause of this process overlapped, and
 * the pauses' ms.
 */
function pacer(call) {
  return (perSecond, durationMs) => paced(call, perSecond, durationMs);
}

function paced(call, perSecond, durationMs) {
  return watched(() => pace(call, { perSecond, durationMs, poisson: POISSON }));
}

/**
 * Alice's figures from `run` (her calls, made here or in her own process), with this process's CPU
 * and GC pauses over the same time: her slow calls are matched to the pauses by wall-clock time.
 */
async function watched(run) {
  gcPauses.length = 0;
  gcObserver.observe({ entryTypes: ["gc"] });
  const cpu = process.cpuUsage();
  const { samples, errors, slow: slowCalls } = await run();
  const used = process.cpuUsage(cpu);
  gcObserver.disconnect();
  const slow = { calls: slowCalls.length, inGc: 0, gcMs: 0 };
  const epoch = (t) => performance.timeOrigin + t;
  for (const [start, micros] of slowCalls) if (gcPauses.some(([from, to]) => epoch(to) > start && epoch(from) < start + micros / 1000)) slow.inGc++;
  for (const [from, to] of gcPauses) slow.gcMs += to - from;
  return { samples, errors, cpuMicros: used.user + used.system, slow };
}

/** A caller's process (`script`, pinned to `cpu`) and `line(within)`: its next line of output, or an error if none comes within that many ms. */
function caller(label, script, cpu) {
  const child = PIN ? startChild(label, "taskset", ["-c", String(cpu), process.execPath, script]) : startChild(label, process.execPath, [script]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = async (within) => {
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: no output in time: ${child.stderrTail.join(" | ")}`)), within)));
    const { value } = await Promise.race([lines.next(), late]).finally(() => clearTimeout(timer));
    if (value === undefined) throw new Error(`${label}: ended without its output: ${child.stderrTail.join(" | ")}`);
    return value;
  };
  return { child, line };
}

/** Bob in his own process for `durationMs` from when it says FLOODING (`how`: { rate } or { concurrency }); `counts` resolves with what he got. */
async function flood(guarded, how, durationMs) {
  const { child, line } = caller("flood", FLOOD, 1);
  try {
    child.stdin.write(`${JSON.stringify({ endpoint: guarded.resource, token: guarded.bobToken, durationMs, ...how })}\n`);
    if ((await line(durationMs + 20_000)) !== "FLOODING") throw new Error(`flood: did not start: ${child.stderrTail.join(" | ")}`);
    const counts = line(durationMs + 20_000).then(JSON.parse);
    return { counts, child };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

function p99(samples) {
  return percentile(Float64Array.from(samples).sort(), 99);
}

/** Alice's calls to `on` for DURATION, alone or beside bob (`how`), summed into `phase`. */
async function measure(phase, { on, how, own }) {
  const noisy = how && (await flood(on, how, LEAD_IN_MS + DURATION + 500));
  if (noisy) await new Promise((resolve) => setTimeout(resolve, LEAD_IN_MS));
  const alice = await (own ? on.aliceOwn : on.alice)(ALICE_RATE, DURATION);
  phase.samples.push(...alice.samples);
  phase.roundP99s.push(p99(alice.samples));
  phase.errors += alice.errors;
  phase.cpuMicros += alice.cpuMicros;
  for (const k of Object.keys(phase.slow)) phase.slow[k] += alice.slow[k];
  phase.seconds += DURATION / 1000;
  if (!noisy) return;
  const counts = await noisy.counts;
  await stop(noisy.child);
  for (const k of Object.keys(phase.bob)) phase.bob[k] += counts[k];
}

// Each phase: the proxy alice and bob call, how bob calls, and whether alice calls from her own
// process. "flood, not held": the same flood on a proxy whose limit does not hold connections (the
// figure before holdConnections).
const phases = {
  alone: { on: held },
  allowance: { on: held, how: { rate: ALLOWANCE_RATE } },
  flood: { on: held, how: { rate: FLOOD_RATE } },
  "own: allowance": { on: held, how: { rate: ALLOWANCE_RATE }, own: true },
  "own: flood": { on: held, how: { rate: FLOOD_RATE }, own: true },
  ...(notHeld && { "flood, not held": { on: notHeld, how: { rate: FLOOD_RATE } } }),
  ...Object.fromEntries(ticked.map(([name, on]) => [name, { on, how: { rate: FLOOD_RATE } }])),
  "closed loop": { on: held, how: { concurrency: CONCURRENCY } },
};
const emptyPhase = () => ({ samples: [], roundP99s: [], errors: 0, cpuMicros: 0, seconds: 0, slow: { calls: 0, inGc: 0, gcMs: 0 }, bob: { offered: 0, answered: 0, refused: 0, skipped: 0, errors: 0, seconds: 0, cpuMs: 0 } });
const measured = Object.fromEntries(Object.keys(phases).map((name) => [name, emptyPhase()]));
try {
  if (PIN) pin(process.pid, "0");
  for (const on of guardedProxies) {
    for (const alice of [on.alice, on.aliceOwn].filter(Boolean)) await alice(ALICE_RATE, DURATION / 2); // warm-up, not counted
    await measure(emptyPhase(), { on, how: phases.flood.how }); // the refusal paths JIT-compiled
  }
  for (let round = 0; round < NOISY_ROUNDS; round++) {
    // Every other round in reverse order: no phase always follows the same one.
    const order = Object.entries(phases);
    for (const [name, how] of round % 2 ? order.reverse() : order) await measure(measured[name], how);
  }
} finally {
  if (PIN) pin(process.pid, `0-${availableParallelism() - 1}`);
  await stopAll();
}
for (const on of guardedProxies) await on.proxy.close();
const noisy = Object.fromEntries(
  Object.entries(measured).map(([name, m]) => [name, { aliceP99: p99(m.samples), aliceCalls: m.samples.length + m.errors, aliceErrors: m.errors, cpuMsPerSecond: m.cpuMicros / 1000 / m.seconds, slow: m.slow, gcMsPerSecond: m.slow.gcMs / m.seconds, bob: m.bob }]),
);
// What one of bob's refused calls costs this process (proxy and alice): the CPU per second beside his flood over that beside his allowance, per refusal.
const perSecond = (name) => ({ cpu: measured[name].cpuMicros / measured[name].seconds, refused: measured[name].bob.refused / measured[name].bob.seconds });
const cpuPerRefused = (flood) => (perSecond(flood).cpu - perSecond("allowance").cpu) / (perSecond(flood).refused - perSecond("allowance").refused);

const rows = Object.entries(runs).map(([name, r]) => {
  const s = summarise(r);
  return { name, rps: s.rps, p50: s.p50, p99: s.p99, cpuPerCall: s.clientCpuPerCall };
});
const added = rows[1].cpuPerCall - rows[0].cpuPerCall;
if (args.includes("--json")) {
  console.log(JSON.stringify({ rows, noisy, addedCpuMicrosPerCall: added, cachedAuthenticateMicros: cachedAuthenticate, cachedVerifyMicros: cachedVerify, fullVerifyMicros: fullVerify }, null, 2));
} else {
  console.log(`tools/call, HTTP front -> in-process echo, c=${CONCURRENCY}, ${ROUNDS} x ${DURATION} ms per variant, alternated\n`);
  console.log("| variant | calls/s | p50 µs | p99 µs | CPU µs/call (client + proxy) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.cpuPerCall.toFixed(1)} |`);
  console.log(`\nadded by auth: ${added.toFixed(1)} µs CPU per call end to end (noisy: compare rounds); authenticate(req) alone on a cached token: ${cachedAuthenticate.toFixed(2)} µs (target < 10 µs)`);
  console.log(`bearerAuth.verify(): ${cachedVerify.toFixed(2)} µs cached, ${fullVerify.toFixed(1)} µs with a full jwtVerify`);
  const label = {
    alone: "alone",
    allowance: `bob at his allowance (${ALLOWANCE_RATE}/s)`,
    flood: `bob flooding (${FLOOD_RATE}/s offered)${HOLD ? ", his connections held" : ""}`,
    "own: allowance": `alice in her own process, bob at his allowance`,
    "own: flood": `alice in her own process, bob flooding${HOLD ? ", held" : ""}`,
    "flood, not held": `bob flooding (${FLOOD_RATE}/s offered), connections not held (before holdConnections)`,
    "closed loop": `bob in a closed loop (c=${CONCURRENCY}, the old row)`,
    ...Object.fromEntries(ticked.map(([name]) => [name, `bob flooding (${FLOOD_RATE}/s offered), held, resumed on ${tickOf(name)}`])),
  };
  const judged = AT_FRONT ? `judged at the front (limit.front${HOLD ? ", holdConnections" : ""}) and in the pipeline` : "judged in the pipeline only (--no-front)";
  console.log(`\nrateLimit ${LIMIT.perSecond}/s per principal, ${judged}; alice at ${ALICE_RATE}/s${POISSON ? " (Poisson arrivals)" : ""}${BARE_BACKEND ? ", a bare in-process echo behind the proxy" : ""}, alice calls from this process (from her own where the phase says so), bob from a process of his own${PIN ? " (taskset: this process and alice's on CPU 0, bob's on CPU 1)" : " (not pinned)"}\n`);
  console.log(`| phase | alice's p99 µs | ÷ alone | ÷ bob at allowance | bob offered/s | answered | refused (429) | skipped (64 unanswered) | bob's CPU ms/s | this process's CPU ms/s (proxy, alice unless in her own) | alice's calls over ${SLOW_MS} ms (in a GC pause) | GC pauses ms/s |`);
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, n] of Object.entries(noisy)) {
    const bob = name === "alone" ? ["", "", "", "", ""] : [((n.bob.offered + n.bob.skipped) / n.bob.seconds).toFixed(0), n.bob.answered, n.bob.refused, n.bob.skipped, (n.bob.cpuMs / n.bob.seconds).toFixed(0)];
    console.log(`| ${label[name]} | ${n.aliceP99.toFixed(0)} | ${(n.aliceP99 / noisy.alone.aliceP99).toFixed(2)}× | ${(n.aliceP99 / noisy.allowance.aliceP99).toFixed(2)}× | ${bob.join(" | ")} | ${n.cpuMsPerSecond.toFixed(0)} | ${n.slow.calls} of ${n.aliceCalls} (${n.slow.inGc}) | ${n.gcMsPerSecond.toFixed(0)} |`);
  }
  const failed = Object.values(noisy).reduce((sum, n) => sum + n.aliceErrors, 0);
  const calls = Object.values(noisy).reduce((sum, n) => sum + n.aliceCalls, 0);
  // Per round too: her p99 beside the flood over that beside the allowance in the same round (min, median, max).
  const perRound = (name, base) => {
    const r = measured[name].roundP99s.map((v, i) => v / measured[base].roundP99s[i]).sort((a, b) => a - b);
    return `per round ${r[0].toFixed(2)}–${r[r.length >> 1].toFixed(2)}–${r[r.length - 1].toFixed(2)}×`;
  };
  const ratio = (name, base = "allowance") => `${(noisy[name].aliceP99 / noisy[base].aliceP99).toFixed(2)}×, ${perRound(name, base)}`;
  console.log(`\ntarget: flooding ÷ at allowance ≤ 1.20×, alice in her own process: ${ratio("own: flood", "own: allowance")}`);
  console.log(`alice in this process (her client on the proxy's event loop): ${ratio("flood")}${notHeld ? `; not held: ${ratio("flood, not held")}` : ""}${ticked.map(([name]) => `; ${tickOf(name)}: ${ratio(name)}`).join("")}; the old definition, closed loop ÷ alone: ${(noisy["closed loop"].aliceP99 / noisy.alone.aliceP99).toFixed(2)}×`);
  const refusalCost = (flood) => (Number.isFinite(cpuPerRefused(flood)) && cpuPerRefused(flood) > 0 ? `${cpuPerRefused(flood).toFixed(1)} µs CPU` : "n/a");
  console.log(`one refused call costs this process ${refusalCost(notHeld ? "flood, not held" : "flood")}${notHeld ? ` not held, ${refusalCost("flood")} held` : ""}; alice's calls failed ${failed} of ${calls}`);
  if (noisy.flood.bob.refused === 0) console.log("bob was never refused: this machine could not carry his flood, and the row means nothing");
}
for (const target of Object.values(variants)) await target.proxy.close();
idp.close();

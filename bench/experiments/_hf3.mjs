#!/usr/bin/env node
// What bob's flood costs the proxy once it is steady, with and without rateLimit({ holdConnections }):
// the proxy (HTTP front, bearerAuth with a JWT verifier, limit.front, in-process echo backend) runs
// here on CPU 0; bob offers calls from bench/lib/flood.mjs on CPU 1, at his allowance or at 10× it.
// After a warm-up, each second: this process's CPU (the proxy's alone) and how many of bob's requests
// reached `authenticate`. Medians of the windows; a figure that holds on a busy machine, unlike latency.
//
//   node bench/experiments/held-flood.mjs [--windows 8] [--warmup 4000] [--only allowance|flood|held]
import { createInterface } from "node:readline";
import { Session } from "node:inspector/promises";
import { writeFileSync as wfs } from "node:fs";
const insp = new Session(); insp.connect(); await insp.post("Profiler.enable"); await insp.post("Profiler.setSamplingInterval", { interval: 250 });
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { makeEchoServer } from "../lib/echo.mjs";
import { startIdp } from "../lib/idp.mjs";
import { start as startChild, stop, stopAll } from "../lib/procs.mjs";

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const WINDOWS = Math.min(opt("--windows", 8), 30);
const WARMUP_MS = Math.min(opt("--warmup", 4000), 20_000);
const ONLY = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined;
const LIMIT = { capacity: 500, perSecond: 500 };
const FLOOD = fileURLToPath(new URL("../lib/flood.mjs", import.meta.url));
const pinned = spawnSync("taskset", ["-V"]).status === 0;
if (pinned) spawnSync("taskset", ["-a", "-cp", "0", String(process.pid)]);
setTimeout(() => (process.stderr.write("held-flood: watchdog\n"), process.exit(1)), 300_000).unref();

const idp = await startIdp();
const { issuer, jwksUri } = idp;

/** Medians of CPU ms/s and authenticate reaches/s while bob offers `rate` calls a second. */
async function measure(holdConnections, rate) {
  const proxy = FastMCPProxy.asProxy(makeEchoServer(), { logLevel: "error" });
  const limiter = rateLimit({ ...LIMIT, holdConnections });
  proxy.use(limiter);
  let reaches = 0;
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, authenticate: limiter.front(counting()) });
  function counting() {
    let auth;
    return async (req) => {
      reaches++;
      auth ??= bearerAuth({ resource: url, authorizationServers: [issuer], verifier: jwtVerifier({ issuer, jwksUri }) });
      return auth(req);
    };
  }
  const token = await idp.tokenFor("bob", url);
  const child = pinned ? startChild("flood", "taskset", ["-c", "1", process.execPath, FLOOD]) : startChild("flood", process.execPath, [FLOOD]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  child.stdin.write(`${JSON.stringify({ endpoint: url, token, durationMs: WARMUP_MS + WINDOWS * 1000 + 500, rate })}\n`);
  if ((await lines.next()).value !== "FLOODING") throw new Error("flood did not start");
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const cpu = [];
  const seen = [];
  const { readdirSync, readFileSync } = await import("node:fs");
  const sched = () => { let run = 0, wait = 0, main = [0, 0]; for (const t of readdirSync(`/proc/${process.pid}/task`)) { try { const [r, w] = readFileSync(`/proc/${process.pid}/task/${t}/schedstat`, "utf8").split(" ").map(Number); run += r; wait += w; if (Number(t) === process.pid) main = [r, w]; } catch {} } return { run, wait, main }; };
  const { GCProfiler } = await import("node:v8");
  const gcp = new GCProfiler(); gcp.start();
  const s0 = sched();
  await insp.post("Profiler.start");
  const t0 = performance.now();
  for (let i = 0; i < WINDOWS; i++) {
    const used0 = process.cpuUsage();
    const reached = reaches;
    const t = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const used = process.cpuUsage(used0);
    const seconds = (performance.now() - t) / 1000;
    cpu.push((used.user + used.system) / 1000 / seconds);
    seen.push((reaches - reached) / seconds);
  }
  const { profile } = await insp.post("Profiler.stop");
  wfs(`/tmp/exp/steady-${ONLY}.cpuprofile`, JSON.stringify(profile));
  const s1 = sched(); const secs = (performance.now() - t0) / 1000;
  const { statistics } = gcp.stop();
  let alloc = 0, prevAfter, promoted = 0, pause = 0, scav = 0;
  for (const g of statistics) { const before = g.beforeGC.heapStatistics.usedHeapSize, after = g.afterGC.heapStatistics.usedHeapSize; if (prevAfter !== undefined) alloc += Math.max(0, before - prevAfter); prevAfter = after; pause += g.cost; if (g.gcType === "Scavenge") scav++; const ob = g.beforeGC.heapSpaceStatistics.find((x) => x.spaceName === "old_space"), oa = g.afterGC.heapSpaceStatistics.find((x) => x.spaceName === "old_space"); if (g.gcType === "Scavenge") promoted += oa.spaceUsedSize - ob.spaceUsedSize; }
  console.log(`alloc ${(alloc / secs / 1e6).toFixed(2)} MB/s, promoted ${(promoted / secs / 1e3).toFixed(0)} KB/s, scavenges ${(scav / secs).toFixed(1)}/s, GC ${(pause / 1000 / secs).toFixed(1)} ms/s`);
  console.log(`schedstat per s: all threads run ${((s1.run - s0.run) / 1e6 / secs).toFixed(0)} ms, waiting for CPU ${((s1.wait - s0.wait) / 1e6 / secs).toFixed(0)} ms; main thread run ${((s1.main[0] - s0.main[0]) / 1e6 / secs).toFixed(0)} ms, waiting ${((s1.main[1] - s0.main[1]) / 1e6 / secs).toFixed(0)} ms`);
  const counts = JSON.parse((await lines.next()).value ?? "{}");
  await stop(child);
  await proxy.close();
  return { cpu: median(cpu), reaches: median(seen), answeredPerSecond: counts.answered / counts.seconds };
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  console.log(`rateLimit ${LIMIT.perSecond}/s; ${WINDOWS} windows of 1 s after ${WARMUP_MS} ms of warm-up; medians${pinned ? "; proxy on CPU 0, bob on CPU 1" : ""}\n`);
  console.log("| bob | proxy CPU ms/s | bob's requests reaching authenticate /s | bob's calls answered /s (whole run) |\n| --- | ---: | ---: | ---: |");
  const modes = { allowance: ["at his allowance (500/s)", false, 500], flood: ["flooding (5000/s), not held", false, 5000], held: ["flooding (5000/s), connections held", true, 5000] };
  for (const [label, hold, rate] of Object.entries(modes).filter(([name]) => !ONLY || name === ONLY).map(([, mode]) => mode)) {
    const m = await measure(hold, rate);
    console.log(`| ${label} | ${m.cpu.toFixed(0)} | ${m.reaches.toFixed(0)} | ${m.answeredPerSecond.toFixed(0)} |`);
  }
} finally {
  await stopAll();
  idp.close();
}

#!/usr/bin/env node
// What bob's flood costs the proxy once it is steady, with and without rateLimit({ holdConnections }).
// Two identical proxies (bench/lib/limited-proxy.mjs: HTTP front, bearerAuth with a JWT verifier,
// limit.front, in-process echo backend) run side by side in processes of their own on CPU 0; two bobs
// (bench/lib/flood.mjs) run on CPU 1, one at his allowance against the first proxy and one flooding
// the second. Each second, both proxies' CPU (every thread's, from /proc/<pid>/task/*/schedstat) and
// how many of bob's requests reached authenticate. Both are measured over the same seconds, so what
// the machine does to one it does to the other: the ratio holds where figures taken one after the
// other do not (this machine's CPU cost for the same work moves by 2× from one minute to the next).
//
//   node bench/experiments/held-flood.mjs [--windows 10] [--warmup 3000] [--flood held|unheld] [--tick-ms N]
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { startIdp } from "../lib/idp.mjs";
import { cpuSplitMicros, start as startChild, stopAll, threadsCpuNs } from "../lib/procs.mjs";

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const WINDOWS = Math.min(opt("--windows", 10), 60);
const WARMUP_MS = Math.min(opt("--warmup", 3000), 20_000);
const FLOOD_MODE = argv.includes("--flood") ? argv[argv.indexOf("--flood") + 1] : "held";
if (FLOOD_MODE !== "held" && FLOOD_MODE !== "unheld") throw new Error("--flood: held or unheld");
const LIMIT = { capacity: 500, perSecond: 500 };
// --tick-ms N: holdConnections.tickMs of both proxies (default: the library's).
const HOLD = argv.includes("--tick-ms") ? { tickMs: opt("--tick-ms", 10) } : true;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const pinned = spawnSync("taskset", ["-V"]).status === 0;
const onCpu = (cpu, script) => (pinned ? ["taskset", ["-c", cpu, process.execPath, script]] : [process.execPath, [script]]);
setTimeout(() => (process.stderr.write("held-flood: watchdog\n"), process.exit(1)), 300_000).unref();

const idp = await startIdp();

/** A limited proxy in a child on CPU 0: its pid, url, and how many requests have reached authenticate. */
async function proxyProcess(holdConnections) {
  const child = startChild("limited-proxy", ...onCpu("0", here("../lib/limited-proxy.mjs")));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  child.stdin.write(`${JSON.stringify({ issuer: idp.issuer, jwksUri: idp.jwksUri, ...LIMIT, holdConnections })}\n`);
  const listening = (await lines.next()).value ?? "";
  if (!listening.startsWith("LISTENING ")) throw new Error(`limited-proxy did not start: ${child.stderrTail.join(" | ")}`);
  const reached = async () => {
    child.stdin.write("\n");
    return Number((await lines.next()).value);
  };
  return { pid: child.pid, url: listening.slice("LISTENING ".length), reached };
}

/** Bob on CPU 1 offering `rate` calls a second to `url` for `durationMs`; resolves with his counts. */
async function bob(url, rate, durationMs) {
  const child = startChild("flood", ...onCpu("1", here("../lib/flood.mjs")));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  child.stdin.write(`${JSON.stringify({ endpoint: url, token: await idp.tokenFor("bob", url), durationMs, rate })}\n`);
  if ((await lines.next()).value !== "FLOODING") throw new Error(`flood did not start: ${child.stderrTail.join(" | ")}`);
  return lines.next().then(({ value }) => JSON.parse(value ?? "{}"));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const [calm, flooded] = [await proxyProcess(HOLD), await proxyProcess(FLOOD_MODE === "held" && HOLD)];
  const duration = WARMUP_MS + WINDOWS * 1000 + 500;
  const counts = Promise.all([bob(calm.url, LIMIT.perSecond, duration), bob(flooded.url, LIMIT.perSecond * 10, duration)]);
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const rows = [];
  const pids = { calm: calm.pid, flooded: flooded.pid };
  const split = { calm: cpuSplitMicros(calm.pid), flooded: cpuSplitMicros(flooded.pid) };
  const perSecond = (now, before, seconds) => (now - before) / 1e6 / seconds; // ns to ms a second
  for (let i = 0; i < WINDOWS; i++) {
    const before = { t: performance.now(), calm: threadsCpuNs(calm.pid), flooded: threadsCpuNs(flooded.pid), reached: await flooded.reached() };
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seconds = (performance.now() - before.t) / 1000;
    const [calmNow, floodedNow] = [threadsCpuNs(calm.pid), threadsCpuNs(flooded.pid)];
    rows.push({
      calm: perSecond(calmNow.all, before.calm.all, seconds),
      flooded: perSecond(floodedNow.all, before.flooded.all, seconds),
      calmMain: perSecond(calmNow.main, before.calm.main, seconds),
      floodedMain: perSecond(floodedNow.main, before.flooded.main, seconds),
      reached: ((await flooded.reached()) - before.reached) / seconds,
    });
  }
  for (const name of ["calm", "flooded"]) {
    const now = cpuSplitMicros(pids[name]);
    split[name] = { user: (now.user - split[name].user) / 1000, system: (now.system - split[name].system) / 1000 };
  }
  const [calmBob, floodBob] = await counts;
  const ratios = rows.map((r) => r.flooded / r.calm);
  console.log(`rateLimit ${LIMIT.perSecond}/s; two proxies side by side${pinned ? " on CPU 0, the bobs on CPU 1" : ""}; ${WINDOWS} windows of 1 s after ${WARMUP_MS} ms; medians\n`);
  console.log("| proxy | bob | CPU ms/s | bob's requests reaching authenticate /s | bob's calls answered /s (whole run) |\n| --- | --- | ---: | ---: | ---: |");
  console.log(`| holdConnections | at his allowance (500/s) | ${median(rows.map((r) => r.calm)).toFixed(0)} | | ${(calmBob.answered / calmBob.seconds).toFixed(0)} |`);
  console.log(`| ${FLOOD_MODE === "held" ? "holdConnections" : "not held"} | flooding (5000/s) | ${median(rows.map((r) => r.flooded)).toFixed(0)} | ${median(rows.map((r) => r.reached)).toFixed(0)} | ${(floodBob.answered / floodBob.seconds).toFixed(0)} |`);
  const kernel = ({ user, system }) => `${((100 * system) / (user + system)).toFixed(0)}% of ${((user + system) / WINDOWS).toFixed(0)} ms/s`;
  console.log(`\nin the kernel (/proc/<pid>/stat over the windows): calm ${kernel(split.calm)}, flooded ${kernel(split.flooded)}`);
  console.log(`their main threads: calm ${median(rows.map((r) => r.calmMain)).toFixed(0)} ms/s, flooded ${median(rows.map((r) => r.floodedMain)).toFixed(0)} ms/s`);
  console.log(`flooded ÷ calm, per window: ${Math.min(...ratios).toFixed(2)}–${median(ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}× (min–median–max)`);
} finally {
  await stopAll();
  idp.close();
}

#!/usr/bin/env node
// Bytes promoted to the old generation per call in the proxy's process, and what its scavenges cost,
// by where the backend runs: an SDK Server in this process (as bench/auth.mjs has it) or the same
// server as a stdio child. The proxy (HTTP front) runs here; bob's calls come from a process of his
// own (lib/flood.mjs) at a fixed rate. Figures from v8.GCProfiler over 5 s, after 3 s of warm-up.
// Objects that outlive a scavenge are copied, and those that outlive two are promoted: what a call
// leaves behind that way is what makes scavenges long, and a long scavenge is a slow call for
// every caller of the process.
//
//   node bench/experiments/promotion.mjs [--rate 500]
import v8 from "node:v8";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { makeEchoServer } from "../lib/echo.mjs";
import { start as startChild, stop, stopAll } from "../lib/procs.mjs";

const argv = process.argv.slice(2);
const RATE = Math.min(Number(argv.includes("--rate") ? argv[argv.indexOf("--rate") + 1] : 500), 5000);
const FLOOD = fileURLToPath(new URL("../lib/flood.mjs", import.meta.url));
const ECHO = fileURLToPath(new URL("../echo-server.mjs", import.meta.url));
setTimeout(() => (process.stderr.write("promotion: watchdog\n"), process.exit(1)), 120_000).unref();

const OLD_SPACES = new Set(["old_space", "code_space", "large_object_space"]);
const oldBytes = (heap) => heap.heapSpaceStatistics.filter((s) => OLD_SPACES.has(s.spaceName)).reduce((sum, s) => sum + s.spaceUsedSize, 0);

async function measure(backend) {
  const proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
  const child = startChild("calls", process.execPath, [FLOOD]);
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stdin.write(`${JSON.stringify({ endpoint: url, token: "unused", durationMs: 8500, rate: RATE })}\n`);
    if ((await lines.next()).value !== "FLOODING") throw new Error("the load did not start");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const profiler = new v8.GCProfiler();
    profiler.start();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    let promoted = 0;
    let scavenges = 0;
    let micros = 0;
    for (const gc of profiler.stop().statistics) {
      if (gc.gcType !== "Scavenge") continue;
      scavenges++;
      promoted += oldBytes(gc.afterGC) - oldBytes(gc.beforeGC);
      micros += gc.cost;
    }
    return { promotedPerCall: promoted / (RATE * 5), scavenges, msEach: micros / 1000 / Math.max(1, scavenges) };
  } finally {
    await stop(child);
    await proxy.close();
  }
}

try {
  console.log(`HTTP front, ${RATE} tools/call a second from another process; 5 s measured after 3 s\n`);
  console.log("| backend | bytes promoted per call | scavenges | ms each |\n| --- | ---: | ---: | ---: |");
  for (const [label, backend] of [["SDK Server in the proxy's process", makeEchoServer()], ["the same server as a stdio child", [process.execPath, ECHO, "stdio"]]]) {
    const m = await measure(backend);
    console.log(`| ${label} | ${m.promotedPerCall.toFixed(0)} | ${m.scavenges} | ${m.msEach.toFixed(1)} |`);
  }
} finally {
  await stopAll();
}
process.exit(0);

#!/usr/bin/env node
// What the fastmcp-proxy command costs over the library, flag by flag: stdio front → stdio echo
// backend, SDK client load, alternated runs; the figure to read is the proxy's CPU per call.
//
//   node bench/experiments/cli-cost.mjs [--rounds N] [--duration MS] [--concurrency C] [--cli LABEL=PATH ...]
//
// --cli adds a variant: another build of the command (e.g. a patched copy of bin/fastmcp-proxy.js), default flags.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runLoad, sdkCall, summarise } from "../lib/load.mjs";
import { CHILD_ENV, adopt, killAllSync, stopPid } from "../lib/procs.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE = process.execPath;
const ECHO = [NODE, join(HERE, "..", "echo-server.mjs"), "stdio"];
const CLI = join(HERE, "..", "..", "packages", "cli", "bin", "fastmcp-proxy.js");
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const rounds = Number(opt("--rounds", 3));
const durationMs = Math.min(Number(opt("--duration", 1200)), 10_000);
const concurrency = Number(opt("--concurrency", 16));
process.on("exit", killAllSync);
setTimeout(() => (process.stderr.write("cli-cost: watchdog\n"), process.exit(1)), 170_000).unref();

const variants = [
  ["library (bench/proxy-server.mjs)", [join(HERE, "..", "proxy-server.mjs"), "--front", "stdio", "--backend", JSON.stringify(ECHO)]],
  ["CLI, default flags (info, plain)", [CLI, "--", ...ECHO]],
  ["CLI --log-level warn", [CLI, "--log-level", "warn", "--", ...ECHO]],
  ["CLI --log-format json", [CLI, "--log-format", "json", "--", ...ECHO]],
  ...argv.flatMap((a, i) => (a === "--cli" && argv[i + 1]?.includes("=") ? [argv[i + 1].split("=")] : [])).map(([label, path]) => [label, [path, "--", ...ECHO]]),
];

const endpoints = [];
try {
  for (const [label, args] of variants) {
    // stderr "pipe", drained: the request lines cost what they cost when someone reads them.
    const transport = new StdioClientTransport({ command: NODE, args, env: CHILD_ENV, stderr: "pipe" });
    transport.stderr?.resume();
    const client = new Client({ name: "bench", version: "1.0.0" });
    await client.connect(transport);
    adopt(transport.pid, label);
    endpoints.push({ label, client, pid: transport.pid });
  }
  const runs = endpoints.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < endpoints.length; i++) {
      runs[i].push(await runLoad(sdkCall(endpoints[i].client), { concurrency, maxCalls: 200_000, durationMs, warmup: 2000, warmupMs: 300, cpuPids: [endpoints[i].pid] }));
    }
  }
  const stats = runs.map(summarise);
  stats.forEach((s, i) =>
    process.stdout.write(
      `c=${concurrency} ${endpoints[i].label.padEnd(34)} ${s.rps.toFixed(0).padStart(6)} calls/s  proxy CPU ${s.cpuPerCall.toFixed(1).padStart(6)} µs/call  ${i ? `(${((100 * s.cpuPerCall) / stats[0].cpuPerCall - 100).toFixed(0)}% over the library)` : ""}\n`,
    ),
  );
} finally {
  for (const e of endpoints) {
    await e.client.close().catch(() => {});
    await stopPid(e.pid);
  }
}

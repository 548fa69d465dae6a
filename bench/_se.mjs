import { join } from "node:path";
import { readFileSync } from "node:fs";
import { rawSession, keepAliveAgent, runLoad } from "./lib/load.mjs";
import { start, stop, listening, freePort, killAllSync, cpuMicros } from "./lib/procs.mjs";
process.on("exit", killAllSync);
const NODE = process.execPath;
const EVERY = join(process.cwd(), "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const port = await freePort();
const se = start("server-everything http", "sh", ["-c", `PORT=${port} exec ${NODE} ${EVERY} streamableHttp > /dev/null`], {});
const direct = `http://127.0.0.1:${port}/mcp`;
for (let i = 0; i < 100; i++) { try { await fetch(direct, { method: "GET" }); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
const proxy = start("proxy", NODE, ["proxy-server.mjs", "--front", "http", "--backend", JSON.stringify(direct)], { cwd: process.cwd() });
const purl = await listening(proxy);
const request = { method: "tools/call", params: { name: "echo", arguments: { message: "hello" } } };
const c = Number(process.argv[2] ?? 16);
const eps = [];
for (const [label, url, pid] of [["direct", direct, undefined], ["proxy", purl, proxy.pid]]) {
  const agent = keepAliveAgent(c);
  const s = await rawSession(url, agent, { request });
  await runLoad(s.call, { concurrency: c, maxCalls: 3000, durationMs: 10000, warmup: 0 });
  eps.push({ label, call: s.call, pid, rps: [] , cpu: []});
}
for (let r = 0; r < 4; r++) for (const e of eps) {
  const run = await runLoad(e.call, { concurrency: c, maxCalls: 100000, durationMs: 1500, warmup: 0, cpuPids: e.pid ? [e.pid] : [] });
  e.rps.push(run.calls / run.seconds); e.cpu.push(run.cpuMicros / run.calls); e.errors = run.errors;
}
for (const e of eps) console.log(e.label, e.rps.map((x) => x.toFixed(0)).join(" "), "proxy cpu", e.cpu.map((x) => x.toFixed(0)).join(" "), "errors", e.errors);
console.log("ratio per round", eps[1].rps.map((x, i) => (x / eps[0].rps[i]).toFixed(2)).join(" "));
await stop(proxy); await stop(se);

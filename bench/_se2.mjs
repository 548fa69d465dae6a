import { join } from "node:path";
import { rawSession, keepAliveAgent, runLoad } from "./lib/load.mjs";
import { start, stop, listening, freePort, killAllSync } from "./lib/procs.mjs";
process.on("exit", killAllSync);
const NODE = process.execPath;
const EVERY = [NODE, join(process.cwd(), "..", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), "stdio"];
const MCP_PROXY = join(process.cwd(), "node_modules", "mcp-proxy", "dist", "bin", "mcp-proxy.mjs");
const GUARD = join(process.cwd(), "lib", "child-guard.mjs");
const port = await freePort();
const peer = start("mcp-proxy", NODE, ["--import", GUARD, MCP_PROXY, "--host", "127.0.0.1", "--port", String(port), "--", ...EVERY], { cwd: process.cwd() });
const peerUrl = `http://127.0.0.1:${port}/mcp`;
for (let i = 0; i < 100; i++) { try { await fetch(peerUrl, { method: "GET" }); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
const ours = start("proxy", NODE, ["proxy-server.mjs", "--front", "http", "--backend", JSON.stringify(EVERY)], { cwd: process.cwd() });
const oursUrl = await listening(ours);
const request = { method: "tools/call", params: { name: "echo", arguments: { message: "hello" } } };
for (const c of [16, 64]) {
  const eps = [];
  for (const [label, url, pid] of [["mcp-proxy", peerUrl, peer.pid], ["ours", oursUrl, ours.pid]]) {
    const agent = keepAliveAgent(c);
    const s = await rawSession(url, agent, { request });
    await runLoad(s.call, { concurrency: c, maxCalls: 3000, durationMs: 10000, warmup: 0 });
    eps.push({ label, call: s.call, pid, rps: [], cpu: [] });
  }
  for (let r = 0; r < 3; r++) for (const e of eps) {
    const run = await runLoad(e.call, { concurrency: c, maxCalls: 100000, durationMs: 1500, warmup: 0, cpuPids: [e.pid] });
    e.rps.push(run.calls / run.seconds); e.cpu.push(run.cpuMicros / run.calls); e.errors = run.errors;
  }
  for (const e of eps) console.log(`c=${c}`, e.label, e.rps.map((x) => x.toFixed(0)).join(" "), "cpu", e.cpu.map((x) => x.toFixed(0)).join(" "), "errors", e.errors);
  console.log("ratio per round", eps[1].rps.map((x, i) => (x / eps[0].rps[i]).toFixed(2)).join(" "));
}
await stop(ours); await stop(peer);

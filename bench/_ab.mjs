import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runLoad, sdkCall } from "./lib/load.mjs";
import { CHILD_ENV, killAllSync, stopPid, descendants } from "./lib/procs.mjs";
const NODE = process.execPath;
const ECHO = [NODE, "echo-server.mjs", "stdio"];
const conc = Number(process.argv[2] ?? 16), rounds = Number(process.argv[3] ?? 5);
const variants = (process.argv[4] ?? "proxy,nopt,relay").split(",").map((v) => [v, v === "relay" ? ["relay.mjs", ...ECHO] : [v === "nopt" ? "_nopt.mjs" : "proxy-server.mjs", "--front", "stdio", "--backend", JSON.stringify(ECHO)]]);
process.on("exit", killAllSync);
const cpu = (pid) => { const [u, s] = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ").slice(11, 13).map(Number); return (u + s) * 10000; };
const eps = [];
for (const [label, args] of variants) {
  const t = new StdioClientTransport({ command: NODE, args, env: CHILD_ENV, stderr: "pipe" });
  const c = new Client({ name: "b", version: "1" });
  await c.connect(t);
  const call = sdkCall(c);
  await runLoad(call, { concurrency: conc, maxCalls: 20000, durationMs: 20000, warmup: 0 });
  const kids = descendants(t.pid);
  eps.push({ label, t, c, call, echo: kids[kids.length - 1], rps: [], pc: [], ec: [] });
}
for (let r = 0; r < rounds; r++) for (const e of eps) {
  const a = cpu(e.t.pid), ea = cpu(e.echo), t0 = performance.now();
  const run = await runLoad(e.call, { concurrency: conc, maxCalls: 25000, durationMs: 20000, warmup: 0 });
  const dt = performance.now() - t0;
  e.rps.push(run.calls / dt * 1000); e.pc.push((cpu(e.t.pid) - a) / run.calls); e.ec.push((cpu(e.echo) - ea) / run.calls);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = eps.find((e) => e.label === "relay");
for (const e of eps) console.log(`c=${conc} ${e.label.padEnd(6)} rps med ${med(e.rps).toFixed(0)} [${e.rps.map((x) => x.toFixed(0)).join(" ")}]  vs relay (per-round median) ${base ? med(e.rps.map((x, i) => x / base.rps[i])).toFixed(3) : "-"}  proxy cpu ${med(e.pc).toFixed(1)}  echo cpu ${med(e.ec).toFixed(1)}`);
for (const e of eps) { await e.c.close(); await stopPid(e.t.pid); }

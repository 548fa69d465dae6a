#!/usr/bin/env node
// What a request costs a bare node:http server by how its requests come, on this machine: as fast as
// they are answered, paced at a low rate (the server sleeps between them), or held as
// rateLimit({ holdConnections }) holds them (after each answer the connection is paused, and resumed by
// a timer `--gap` ms later). No proxy: the floor under bench/experiments/held-flood.mjs's figures.
// The server's CPU per request, its main thread's, and its other threads' (V8's compiler and GC
// helpers), from /proc/self/task/*/schedstat; the client runs in a child process. Pinned to CPU 0
// with taskset when there is one, so that server and client share one core, as in held-flood.mjs.
//
//   node bench/experiments/wake-cost.mjs [--gap 8] [--seconds 4]
import { fork, spawnSync } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { threadsCpuNs } from "../lib/procs.mjs";

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const ANSWER = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}';
const REQUEST = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}';
const SOCKETS = 4;

if (argv[0] === "--client") await client(Number(argv[1]), Number(argv[2]), Number(argv[3]));
else await main();

/** `rate` requests a second on a timer checked every ms, or (rate 0) each socket sending as soon as answered. */
async function client(port, rate, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS });
  const end = Date.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve) => {
      const req = http.request({ port, host: "127.0.0.1", method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => res.resume().on("end", resolve));
      req.on("error", resolve);
      req.end(REQUEST);
    });
  if (rate > 0) {
    const start = performance.now();
    let sent = 0;
    while (Date.now() < end) {
      for (const due = Math.floor(((performance.now() - start) * rate) / 1000); sent < due; sent++) void one();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } else {
    await Promise.all(Array.from({ length: SOCKETS }, async () => { while (Date.now() < end) await one(); }));
  }
  process.exit(0);
}

/** The server answering every request, holding its connection `holdMs` after each answer (0: not held); the client at `rate` (0: closed loop). */
async function measure(rate, holdMs, seconds) {
  let served = 0;
  const server = http.createServer((req, res) => {
    req.resume().on("end", () => {
      served++;
      res.end(ANSWER);
      if (holdMs === 0) return;
      const socket = req.socket;
      res.once("finish", () => {
        socket.pause();
        setTimeout(() => socket.resume(), holdMs).unref();
      });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const child = fork(fileURLToPath(import.meta.url), ["--client", String(server.address().port), String(rate), String(seconds + 1.5)]);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  const [before, servedBefore, t] = [threadsCpuNs(process.pid), served, performance.now()];
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = threadsCpuNs(process.pid);
  const n = served - servedBefore;
  child.kill();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return { rps: n / ((performance.now() - t) / 1000), main: (after.main - before.main) / 1000 / n, other: (after.all - after.main - (before.all - before.main)) / 1000 / n };
}

async function main() {
  if (spawnSync("taskset", ["-V"]).status === 0 && !argv.includes("--pinned")) {
    // Re-run pinned to CPU 0 (the forked client inherits it).
    const done = spawnSync("taskset", ["-c", "0", process.execPath, fileURLToPath(import.meta.url), ...argv, "--pinned"], { stdio: "inherit" });
    process.exit(done.status ?? 1);
  }
  const gap = opt("--gap", 8);
  const seconds = Math.min(opt("--seconds", 4), 30);
  const rows = [
    ["as fast as answered", 0, 0],
    [`paced, ${Math.round((1000 * SOCKETS) / gap)}/s`, Math.round((1000 * SOCKETS) / gap), 0],
    [`each connection held ${gap} ms after its answer`, 0, gap],
    ["as fast as answered (again)", 0, 0],
    [`paced, ${Math.round((1000 * SOCKETS) / gap)}/s (again)`, Math.round((1000 * SOCKETS) / gap), 0],
    [`each connection held ${gap} ms after its answer (again)`, 0, gap],
  ];
  console.log(`a bare node:http server, ${SOCKETS} keep-alive connections, ${seconds} s a row after 1 s of warm-up\n`);
  console.log("| requests | a second | server CPU µs a request | of it, the main thread | other threads |\n| --- | ---: | ---: | ---: | ---: |");
  for (const [label, rate, hold] of rows) {
    const m = await measure(rate, hold, seconds);
    console.log(`| ${label} | ${m.rps.toFixed(0)} | ${(m.main + m.other).toFixed(0)} | ${m.main.toFixed(0)} | ${m.other.toFixed(0)} |`);
  }
}

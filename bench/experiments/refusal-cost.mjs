#!/usr/bin/env node
// What one refused call of a principal over its rate limit costs the proxy, in CPU: refused in the
// pipeline (the rateLimit middleware, after the body is read and parsed and the session looked up)
// and refused at the front (limit.front: right after the token is verified). The proxy (HTTP front,
// bearerAuth with a JWT verifier, in-process echo backend) runs here; bob floods from
// bench/lib/flood.mjs in a closed loop at c=16, nearly every call refused (1 call/s allowed). CPU is
// this process's (the proxy's alone), per call bob sent, in alternated rounds: a figure that holds
// on a busy machine, unlike latency. The floor: a bare node:http server answering 429 unread.
//
//   node bench/experiments/refusal-cost.mjs [--rounds 3] [--duration 2000] [--only front|pipeline]
import http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { makeEchoServer } from "../lib/echo.mjs";
import { startIdp } from "../lib/idp.mjs";
import { start as startChild, stop, stopAll } from "../lib/procs.mjs";

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const ROUNDS = opt("--rounds", 3);
const DURATION = opt("--duration", 2000);
const FLOOD = fileURLToPath(new URL("../lib/flood.mjs", import.meta.url));
setTimeout(() => (process.stderr.write("refusal-cost: watchdog\n"), process.exit(1)), 170_000).unref();

const idp = await startIdp();
const { issuer, jwksUri } = idp;

async function proxyFor(atFront) {
  const limit = rateLimit({ capacity: 1, perSecond: 1 });
  const proxy = FastMCPProxy.asProxy(makeEchoServer(), { logLevel: "error" }).use(limit);
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const resource = `http://127.0.0.1:${server.address().port}/mcp`;
  const auth = bearerAuth({ resource, verifier: jwtVerifier({ issuer, jwksUri }) });
  await proxy.start();
  const handler = proxy.httpHandler({ authenticate: atFront ? limit.front(auth) : auth });
  server.on("request", (req, res) => void handler(req, res));
  const token = await idp.tokenFor("bob", resource);
  return { proxy, server, resource, token };
}

/** The floor: node:http answering 429 unread (an initialize, the request without a session id, gets a session). */
async function floor() {
  const body = JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Too many requests: retry in 1 s" } });
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.headers["mcp-session-id"] === undefined) return void res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "floor" }).end('{"jsonrpc":"2.0","id":0,"result":{}}');
    res.writeHead(429, { "retry-after": "1", "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { proxy: { close: async () => {} }, server, resource: `http://127.0.0.1:${server.address().port}/mcp`, token: "floor" };
}

/** Bob at c=16 for DURATION; this process's CPU µs per call he sent, and his counts. */
async function flood(target) {
  const child = startChild("flood", process.execPath, [FLOOD]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = async () => {
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`flood: ${child.stderrTail.join(" | ")}`)), DURATION + 20_000)));
    return Promise.race([lines.next(), late]).then(({ value }) => value).finally(() => clearTimeout(timer));
  };
  try {
    child.stdin.write(`${JSON.stringify({ endpoint: target.resource, token: target.token, concurrency: 16, durationMs: DURATION })}\n`);
    if ((await line()) !== "FLOODING") throw new Error(`flood did not start: ${child.stderrTail.join(" | ")}`);
    const cpu = process.cpuUsage();
    const counts = JSON.parse(await line());
    const used = process.cpuUsage(cpu);
    return { ...counts, cpuPerCall: (used.user + used.system) / counts.offered };
  } finally {
    await stop(child);
  }
}

const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : "";
const variants = {};
for (const [name, make] of [
  ["refused in the pipeline (middleware)", () => proxyFor(false)],
  ["refused at the front (limit.front)", () => proxyFor(true)],
  ["floor: node:http answering 429 unread", floor],
]) {
  if (name.includes(only)) variants[name] = await make();
}
const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, target] of Object.entries(variants)) results[name].push(await flood(target));
  }
} finally {
  await stopAll();
}
console.log(`bob over his limit (1 call/s), closed loop c=16, ${ROUNDS} x ${DURATION} ms per variant, alternated\n`);
console.log("| variant | proxy CPU µs per refused call (median of rounds) | bob's calls/s | answered | refused |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [name, runs] of Object.entries(results)) {
  const cpu = runs.map((r) => r.cpuPerCall).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const sum = (k) => runs.reduce((s, r) => s + r[k], 0);
  console.log(`| ${name} | ${cpu.toFixed(1)} | ${(sum("offered") / sum("seconds")).toFixed(0)} | ${sum("answered")} | ${sum("refused")} |`);
}
for (const { proxy, server } of Object.values(variants)) {
  await proxy.close();
  server.closeAllConnections();
  server.close();
}
idp.close();

#!/usr/bin/env node
// node bench/auth.mjs [--rounds 3] [--duration 1200] [--concurrency 16] [--json]
//
// What bearer authentication adds to a tools/call: the proxy (HTTP front, in-process echo backend)
// with and without bearerAuth + a JWT verifier, raw JSON-RPC POSTs on keep-alive sockets, variants
// alternated A B A B. The token is verified once and then served from the verified-token cache, as
// in production. Everything runs in this process, so "CPU µs/call" is client + proxy: the
// difference between the two rows is what auth costs. Also: bearerAuth.verify() alone, cached and not.
// And a noisy principal under per-principal rate limits: bob floods from a process of his own
// (lib/flood.mjs) while alice's p99 is measured here, with and without the flood.
import http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { makeEchoServer } from "./lib/echo.mjs";
import { keepAliveAgent, percentile, runLoad, summarise } from "./lib/load.mjs";
import { session } from "./lib/auth-session.mjs";
import { start as startChild, stop, stopAll } from "./lib/procs.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const ROUNDS = opt("--rounds", 3);
const DURATION = opt("--duration", 1200);
const CONCURRENCY = opt("--concurrency", 16);

// Keys and a JWKS served on loopback, as an identity provider would.
const { privateKey, publicKey } = await generateKeyPair("ES256");
const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256" };
const idp = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
await new Promise((resolve) => idp.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${idp.address().port}`;

async function start(withAuth, limit) {
  const proxy = FastMCPProxy.asProxy(makeEchoServer(), { logLevel: "error" });
  if (limit) proxy.use(rateLimit(limit));
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const auth = withAuth ? bearerAuth({ resource, authorizationServers: [issuer], verifier: jwtVerifier({ issuer, jwksUri: `${issuer}/jwks` }) }) : undefined;
  await proxy.run({ transport: "http", port, ...(auth ? { authenticate: auth, routes: [auth.route] } : {}) });
  const tokenOf = (sub) => new SignJWT({ scope: "mcp" }).setProtectedHeader({ alg: "ES256", kid: "bench" }).setIssuer(issuer).setSubject(sub).setAudience(resource).setExpirationTime("1h").sign(privateKey);
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
const uncached = bearerAuth({ resource: authed.resource, verifier: jwtVerifier({ issuer, jwksUri: `${issuer}/jwks` }), cache: { maxEntries: 0 } });
const fullVerify = await perCall(() => uncached.verify(authed.token), 2_000);

// A noisy principal under rateLimit (LIMIT per principal): bob floods from another process at
// c=CONCURRENCY (mostly answered 429); alice calls at c=1, paced to ALICE_RATE (within her
// allowance: none of her calls may be refused). Alice's p99 alone, and beside bob. Target ≤ 1.20×.
const LIMIT = { capacity: 500, perSecond: 500 };
const ALICE_RATE = 250;
const FLOOD = fileURLToPath(new URL("./lib/flood.mjs", import.meta.url));
const guarded = await start(true, LIMIT);
const aliceCall = await session({ ...guarded, headers: { authorization: `Bearer ${await guarded.tokenOf("alice")}` } }, keepAliveAgent(1));
const bobToken = await guarded.tokenOf("bob");

/** `call()` at c=1, started every 1/perSecond s (at once when the last one took longer); latencies in µs. */
async function paced(call, perSecond, durationMs) {
  const samples = [];
  let errors = 0;
  const gap = 1000 / perSecond;
  const end = performance.now() + durationMs;
  let next = performance.now();
  while (performance.now() < end && samples.length + errors < perSecond * 60) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    next += gap;
    const t = process.hrtime.bigint();
    try {
      await call();
      samples.push(Number(process.hrtime.bigint() - t) / 1e3);
    } catch {
      errors++;
    }
  }
  return { samples, errors };
}

/** Bob's flood in its own process, running for `durationMs` from when it says FLOODING; `counts` resolves with what it got. */
async function flood(durationMs) {
  const child = startChild("flood", process.execPath, [FLOOD]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = () => {
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`flood: no output in time: ${child.stderrTail.join(" | ")}`)), durationMs + 20_000)));
    return Promise.race([lines.next(), late]).then(({ value }) => value).finally(() => clearTimeout(timer));
  };
  try {
    child.stdin.write(`${JSON.stringify({ endpoint: guarded.resource, token: bobToken, concurrency: CONCURRENCY, durationMs })}\n`);
    if ((await line()) !== "FLOODING") throw new Error(`flood: did not start: ${child.stderrTail.join(" | ")}`);
    const counts = line().then((text) => {
      if (!text) throw new Error(`flood: ended without its counts: ${child.stderrTail.join(" | ")}`);
      return JSON.parse(text);
    });
    return { counts, child };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

const alone = [];
const beside = [];
const bob = { answered: 0, refused: 0, errors: 0 };
let aliceErrors = 0;
try {
  await paced(aliceCall, ALICE_RATE, DURATION / 2); // warm-up, not counted
  for (let round = 0; round < ROUNDS; round++) {
    const quiet = await paced(aliceCall, ALICE_RATE, DURATION);
    const noisy = await flood(DURATION + 500);
    const loud = await paced(aliceCall, ALICE_RATE, DURATION);
    const counts = await noisy.counts;
    await stop(noisy.child);
    alone.push(...quiet.samples);
    beside.push(...loud.samples);
    aliceErrors += quiet.errors + loud.errors;
    for (const k of Object.keys(bob)) bob[k] += counts[k];
  }
} finally {
  await stopAll();
}
await guarded.proxy.close();
const p99 = (samples) => percentile(Float64Array.from(samples).sort(), 99);
const noisy = { aloneP99: p99(alone), besideP99: p99(beside), aliceCalls: alone.length + beside.length, aliceErrors, bob };

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
  console.log(`\n| rateLimit ${LIMIT.perSecond}/s per principal, a noisy principal in another process | alice's p99 µs alone (${ALICE_RATE}/s) | beside bob flooding (c=${CONCURRENCY}) | ratio (target ≤ 1.20×) |`);
  console.log("| --- | ---: | ---: | ---: |");
  console.log(`| bob answered ${noisy.bob.answered}, refused ${noisy.bob.refused} (429); alice's calls failed ${noisy.aliceErrors} of ${noisy.aliceCalls} | ${noisy.aloneP99.toFixed(0)} | ${noisy.besideP99.toFixed(0)} | ${(noisy.besideP99 / noisy.aloneP99).toFixed(2)}× |`);
}
for (const target of Object.values(variants)) await target.proxy.close();
idp.close();

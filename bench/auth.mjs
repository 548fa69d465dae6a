#!/usr/bin/env node
// node bench/auth.mjs [--rounds 3] [--duration 1200] [--concurrency 16] [--json]
//
// What bearer authentication adds to a tools/call: the proxy (HTTP front, in-process echo backend)
// with and without bearerAuth + a JWT verifier, raw JSON-RPC POSTs on keep-alive sockets, variants
// alternated A B A B. The token is verified once and then served from the verified-token cache, as
// in production. Everything runs in this process, so "CPU µs/call" is client + proxy: the
// difference between the two rows is what auth costs. Also: bearerAuth.verify() alone, cached and not.
import http from "node:http";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { makeEchoServer } from "./lib/echo.mjs";
import { ECHO_CALL, PROTOCOL_VERSION, keepAliveAgent, runLoad, summarise } from "./lib/load.mjs";

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

function post(agent, url, body, headers) {
  return new Promise((resolve, reject) => {
    const data = typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": Buffer.byteLength(data), ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** One session's tools/call; with `limited` (an object counting them), a 429 is an answer too (a flooding caller's). */
async function session(target, agent, limited = false) {
  const url = new URL(target.resource);
  const init = await post(agent, url, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "bench-auth", version: "1" } } }, target.headers);
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${init.body.slice(0, 200)}`);
  const headers = { ...target.headers, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL_VERSION };
  await post(agent, url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  let id = 1;
  const body = (n) => `{"jsonrpc":"2.0","id":${n},"method":"tools/call","params":${JSON.stringify(ECHO_CALL.params)}}`;
  return async () => {
    const n = id++;
    const res = await post(agent, url, body(n), headers);
    if (limited && res.status === 429) return void (limited.refused = (limited.refused ?? 0) + 1);
    if (res.status !== 200 || !res.body.includes('"result"')) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  };
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

// A noisy principal under rateLimit: bob floods at c=CONCURRENCY (mostly answered 429), alice calls
// at c=1 within her allowance; alice's p99 alone, and beside bob. Target: at most 1.20×.
// 5,000 calls/s each: more than alice makes at c=1, less than bob asks for at c=16 (his 429s are counted).
const guarded = await start(true, { capacity: 5_000, perSecond: 5_000 });
const bobRefused = {};
const aliceCall = await session({ ...guarded, headers: { authorization: `Bearer ${await guarded.tokenOf("alice")}` } }, keepAliveAgent(1));
const bobCall = await session({ ...guarded, headers: { authorization: `Bearer ${await guarded.tokenOf("bob")}` } }, keepAliveAgent(CONCURRENCY), bobRefused);
const alone = [];
const beside = [];
for (let round = 0; round < ROUNDS; round++) {
  alone.push(await runLoad(aliceCall, { concurrency: 1, maxCalls: 1_000_000, durationMs: DURATION }));
  const flood = runLoad(bobCall, { concurrency: CONCURRENCY, maxCalls: 5_000_000, durationMs: DURATION + 300, warmup: 0 });
  beside.push(await runLoad(aliceCall, { concurrency: 1, maxCalls: 1_000_000, durationMs: DURATION }));
  await flood;
}
await guarded.proxy.close();
const noisy = { aloneP99: summarise(alone).p99, besideP99: summarise(beside).p99, bobRefused: bobRefused.refused ?? 0 };

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
  console.log(`\n| rateLimit, a noisy principal | alice's p99 µs alone | beside bob flooding (c=${CONCURRENCY}) | ratio (target ≤ 1.20×) |`);
  console.log("| --- | ---: | ---: | ---: |");
  console.log(`| per-tenant token bucket (bob refused ${noisy.bobRefused} times) | ${noisy.aloneP99.toFixed(0)} | ${noisy.besideP99.toFixed(0)} | ${(noisy.besideP99 / noisy.aloneP99).toFixed(2)}× |`);
}
for (const target of Object.values(variants)) await target.proxy.close();
idp.close();

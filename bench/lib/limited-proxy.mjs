// A proxy under rateLimit in a process of its own, for bench/experiments/held-flood.mjs: HTTP front on
// 127.0.0.1 (a free port), bearerAuth with a JWT verifier, limit.front, an in-process echo backend.
// Reads one JSON line on stdin, { issuer, jwksUri, capacity, perSecond, holdConnections }, prints
// LISTENING <url>, and prints how many requests reached authenticate each time it reads a line after.
// Exits when stdin closes.
import { createInterface } from "node:readline";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { bearerAuth, jwtVerifier, rateLimit } from "@fastmcp-proxy/auth";
import { makeEchoServer } from "./echo.mjs";

process.on("SIGTERM", () => process.exit(0));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const config = JSON.parse((await lines.next()).value);
const proxy = FastMCPProxy.asProxy(makeEchoServer(), { logLevel: "error" });
const limit = rateLimit({ capacity: config.capacity, perSecond: config.perSecond, holdConnections: config.holdConnections });
proxy.use(limit);
let reached = 0;
let auth;
const { url } = await proxy.run({
  transport: "http",
  host: "127.0.0.1",
  port: 0,
  authenticate: limit.front((req) => {
    reached++;
    auth ??= bearerAuth({ resource: url, authorizationServers: [config.issuer], verifier: jwtVerifier({ issuer: config.issuer, jwksUri: config.jwksUri }) });
    return auth(req);
  }),
});
process.stdout.write(`LISTENING ${url}\n`);
for (;;) {
  const { done } = await lines.next();
  if (done) break;
  process.stdout.write(`${reached}\n`);
}
await proxy.close();
process.exit(0);

#!/usr/bin/env node
// node bench/http-relay.mjs <backend url>: an HTTP "proxy" that parses nothing. Each request is sent
// on to the backend over a keep-alive agent and its answer piped back as it comes, headers and all
// (SSE included), so it measures the floor any HTTP proxy process in the chain costs on this machine:
// one more process, an HTTP server and an HTTP client per call. Prints `LISTENING <url>` when ready.
import http from "node:http";

const target = new URL(process.argv[2] ?? "");
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
// Hop-by-hop: each leg has its own connection.
const HOP = new Set(["connection", "keep-alive"]);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP.has(name)));

const server = http.createServer((req, res) => {
  const headers = { ...endToEnd(req.headers), host: target.host };
  const upstream = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}${target.pathname}\n`));
process.on("SIGTERM", () => process.exit(0));

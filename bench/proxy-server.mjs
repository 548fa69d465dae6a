#!/usr/bin/env node
// Runs the proxy the way the CLI will: FastMCPProxy.asProxy(backend, options).run(...).
//   node bench/proxy-server.mjs --front stdio|http [--sessions shared|isolated|tenant] [--port P] [--options '<json>'] [--identity NAME] --backend '<json>'
// where <json> is a backend spec: a URL string, a command array, or an MCPConfig object, and
// --options adds ProxyOptions (e.g. '{"maxSessions":500}'). --identity: every HTTP caller is
// authenticated as that one principal (one tenant).
// With --front http it prints `LISTENING <url>` on stdout when ready.
import { FastMCPProxy } from "@fastmcp-proxy/core";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const front = opt("--front", "stdio");
const backend = JSON.parse(opt("--backend", "null"));
if (!backend) {
  process.stderr.write("proxy-server: --backend '<json>' is required\n");
  process.exit(2);
}
const sessions = opt("--sessions", undefined);
if (front === "http") await import("./lib/child-guard.mjs");

// `limits` goes to run() (the HTTP front's caps), the rest to asProxy.
const { limits, ...extra } = JSON.parse(opt("--options", "{}"));
const proxy = FastMCPProxy.asProxy(backend, { name: "bench-proxy", ...(sessions ? { sessions } : {}), ...extra });
const stop = () => proxy.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (front === "stdio") {
  process.stdin.on("end", stop);
  await proxy.run({ transport: "stdio" });
} else {
  const identity = opt("--identity", undefined);
  const authenticate = identity && (() => ({ token: identity, clientId: identity, scopes: [], extra: { identity } }));
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: Number(opt("--port", "0")), ...(limits && { limits }), ...(authenticate && { authenticate }) });
  process.stdout.write(`LISTENING ${url}\n`);
}

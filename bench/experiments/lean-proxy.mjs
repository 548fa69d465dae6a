#!/usr/bin/env node
// PROTOTYPE runner for `pnpm bench --experiments`: the same FastMCPProxy as bench/proxy-server.mjs,
// with the lean transports of ./lean.mjs on the front and/or the backend leg.
//   node bench/experiments/lean-proxy.mjs --front stdio|http [--lean-front] [--lean-backend] --backend '<json: URL or command array>'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { HttpBackendTransport, StdioBackendTransport, StdioFrontTransport, leanHttpFront } from "./lean.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const front = opt("--front", "stdio");
const leanFront = args.includes("--lean-front");
const leanBackend = args.includes("--lean-backend");
let backend = JSON.parse(opt("--backend", "null"));
if (front === "http") await import("../lib/child-guard.mjs");

if (leanBackend) {
  const client = new Client({ name: "bench-proxy", version: "0.1.0" });
  const transport = typeof backend === "string"
    ? new HttpBackendTransport(backend)
    : new StdioBackendTransport({ command: backend[0], args: backend.slice(1), env: { PATH: process.env.PATH ?? "" } });
  backend = { client, transport };
}
const proxy = FastMCPProxy.asProxy(backend, { name: "bench-proxy" });
const stop = () => proxy.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (front === "stdio") {
  process.stdin.on("end", stop);
  await proxy.connect(leanFront ? new StdioFrontTransport() : new StdioServerTransport());
} else if (leanFront) {
  const { url } = await leanHttpFront(proxy);
  process.stdout.write(`LISTENING ${url}\n`);
} else {
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
  process.stdout.write(`LISTENING ${url}\n`);
}

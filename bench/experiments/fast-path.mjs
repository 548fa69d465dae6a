#!/usr/bin/env node
// PROTOTYPE for proposal 3 (docs/performance.md): FastMCPProxy on a stdio front and a stdio backend
// (core's lean transports), with `tools/call` taken past the SDK Protocol on one or both ends.
// Not product code: it measures what such a path would save.
//
//   node bench/experiments/fast-path.mjs front|both <command> [args...]
//
// front: a tools/call from an initialized client goes from the front transport straight to
//        proxy.handle() (hooks, middleware and ProxyTool unchanged), and its result straight back
//        to the transport: no Server Protocol (_onrequest, an AbortController, zod) on the way in.
// both:  also the backend leg: the terminal's client.request() for tools/call writes the request on
//        the backend transport with an id of the proxy's own ("p1", "p2", ...), resolved from a Map
//        when the answer with that id arrives, which is taken before the Client's Protocol sees it.
//        No timer per request (one coarse sweep of deadlines), a signal listened to only when it
//        can abort. Progress tokens are not mapped here (the echo tool sends none).
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { FastMCPProxy } from "@fastmcp-proxy/core";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "packages", "core", "dist");
const { StdioBackendTransport } = await import(pathToFileURL(join(DIST, "backends", "stdio-transport.js")).href);
const { StdioFrontTransport } = await import(pathToFileURL(join(DIST, "serve", "stdio.js")).href);

const [mode, command, ...args] = process.argv.slice(2);
if (!["front", "both"].includes(mode) || !command) {
  process.stderr.write("usage: fast-path.mjs front|both <command> [args...]\n");
  process.exit(2);
}

const backend = new StdioBackendTransport({ command, args, stderr: "inherit" });
const client = new Client({ name: "bench-proxy", version: "0.1.0" });
const proxy = FastMCPProxy.asProxy({ client, transport: backend }, { name: "bench-proxy" });
const front = new StdioFrontTransport();
const session = await proxy.connect(front);
const stop = () => proxy.close().finally(() => process.exit(0));
process.stdin.on("end", stop);
process.on("SIGTERM", stop);

// ── the front: tools/call past the Server's Protocol ─────────────────────────────────────────
const NEVER = new AbortController().signal; // a request nobody can cancel here needs no controller of its own
const protocolIn = front.onmessage;
let initialized = false;
front.onmessage = (message, extra) => {
  if (initialized && message.method === "tools/call" && message.id !== undefined) return void fastCall(message);
  if (message.method === "notifications/initialized") initialized = true;
  protocolIn(message, extra);
};
async function fastCall(request) {
  // The SDK Client's request() adds an abort listener to the signal it is given and never removes
  // it: a shared signal would collect one per call. Front only, each call gets its own (what the
  // front Protocol paid too); both ends, the terminal below does not listen to NEVER at all.
  const signal = mode === "both" ? NEVER : new AbortController().signal;
  const extra = { requestId: request.id, sessionId: undefined, authInfo: undefined, signal, sendNotification: async () => {}, sendRequest: async () => ({}) };
  let answer;
  try {
    answer = { jsonrpc: "2.0", id: request.id, result: await proxy.handle(session, request, extra) };
  } catch (error) {
    const { code = -32603, message = String(error), data } = error ?? {};
    answer = { jsonrpc: "2.0", id: request.id, error: { code, message, ...(data === undefined ? {} : { data }) } };
  }
  await front.send(answer).catch(() => {}); // the client may be gone
}

// ── the backend: tools/call past the Client's Protocol ───────────────────────────────────────
if (mode === "both") {
  const waiting = new Map(); // our id -> { resolve, reject, deadline }
  let next = 0;
  // The answers to our ids are taken before the Client's Protocol sees them (installed once the
  // Client is connected, which is before its first request).
  let tap;
  const ensureTap = () => {
    if (backend.onmessage === tap) return;
    const protocolBack = backend.onmessage;
    tap = (message, extra) => {
      const call = typeof message.id === "string" && message.method === undefined ? waiting.get(message.id) : undefined;
      if (!call) return protocolBack(message, extra);
      waiting.delete(message.id);
      if (message.error) call.reject(new McpError(message.error.code, message.error.message, message.error.data));
      else call.resolve(message.result);
    };
    backend.onmessage = tap;
  };
  const original = client.request.bind(client);
  client.request = (request, schema, options = {}) => {
    if (request.method !== "tools/call") return original(request, schema, options);
    ensureTap();
    const id = `p${++next}`;
    return new Promise((resolve, reject) => {
      const { signal } = options;
      const call = { resolve, reject, deadline: Date.now() + (options.timeout ?? 60_000) };
      if (signal && signal !== NEVER) {
        const onAbort = () => {
          waiting.delete(id);
          void backend.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: String(signal.reason) } });
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        call.resolve = (value) => (signal.removeEventListener("abort", onAbort), resolve(value));
        call.reject = (error) => (signal.removeEventListener("abort", onAbort), reject(error));
      }
      waiting.set(id, call);
      backend.send({ jsonrpc: "2.0", id, method: request.method, params: request.params }).catch((error) => (waiting.delete(id), call.reject(error)));
    });
  };
  // One coarse sweep instead of a timer per request.
  setInterval(() => {
    const now = Date.now();
    for (const [id, call] of waiting) if (call.deadline <= now) (waiting.delete(id), call.reject(new McpError(-32001, "Request timed out")));
  }, 1000).unref();
}

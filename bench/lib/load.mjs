// Load generators. Every loop is bounded by a call count and a wall-clock time.
import http from "node:http";
import { cpuMicros } from "./procs.mjs";

/** A result "schema" that accepts what it is given: the client then costs as little as it can. */
export const passthrough = { safeParse: (data) => ({ success: true, data }) };

export const ECHO_CALL = { method: "tools/call", params: { name: "echo", arguments: { text: "hello, proxy" } } };
/** A call whose result carries a text of 1 MiB (the echo backend's `bytes` tool). */
export const MEGABYTE_CALL = { method: "tools/call", params: { name: "bytes", arguments: { size: 1024 * 1024 } } };

/**
 * Runs `call()` from `concurrency` workers: first `warmup` calls (not measured), then until
 * `maxCalls` calls or `durationMs` have passed. `cpuPids`: processes whose CPU time per call is reported.
 */
export async function runLoad(call, { concurrency, maxCalls, durationMs, warmup = 200, warmupMs = 10_000, cpuPids = [] }) {
  await phase(call, concurrency, warmup, warmupMs, null);
  const samples = new Float64Array(maxCalls);
  const cpu0 = cpuPids.map(cpuMicros);
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { done, errors, firstError } = await phase(call, concurrency, maxCalls, durationMs, samples);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuPids.reduce((sum, pid, i) => sum + (cpuMicros(pid) - cpu0[i]), 0);
  const self = process.cpuUsage(self0);
  return {
    calls: done,
    seconds,
    errors,
    firstError,
    samples: samples.subarray(0, done),
    cpuMicros: cpuPids.length ? cpu : undefined,
    clientCpuMicros: self.user + self.system,
  };
}

async function phase(call, concurrency, maxCalls, durationMs, samples) {
  const deadline = performance.now() + durationMs;
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError;
  const worker = async () => {
    while (issued < maxCalls && performance.now() < deadline) {
      issued++;
      const t = process.hrtime.bigint();
      try {
        await call();
        if (samples) samples[done] = Number(process.hrtime.bigint() - t) / 1e3; // µs
        done++;
      } catch (error) {
        errors++;
        firstError ??= error;
        if (errors > 50) throw new Error(`too many failed calls; first: ${firstError?.message ?? firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, errors, firstError };
}

/** One SDK Client request: `tools/call` on echo (or any request), result not validated. */
export function sdkCall(client, request = ECHO_CALL) {
  return () => client.request(request, passthrough, { timeout: 10_000 });
}

// ── Raw JSON-RPC over HTTP: the lightweight load generator ─────────────────────────────────────

function post(agent, url, body, headers) {
  return new Promise((resolve, reject) => {
    const data = typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": Buffer.byteLength(data),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out after 10 s")));
    req.on("error", reject);
    req.end(data);
  });
}

export const PROTOCOL_VERSION = "2025-06-18";

/** What the proxy relays (sampling, elicitation, roots): a client declaring it is served from the mirror made at start. */
export const FULL_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };

/**
 * Opens a streamable HTTP session with raw POSTs: initialize, then notifications/initialized.
 * Returns a function that POSTs one tools/call on it and checks the answer.
 */
export async function rawSession(endpoint, agent, { request = ECHO_CALL, capabilities = {} } = {}) {
  const url = new URL(endpoint);
  const init = await post(agent, url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: PROTOCOL_VERSION, capabilities, clientInfo: { name: "bench-raw", version: "1.0.0" } },
  });
  const sessionId = init.headers["mcp-session-id"];
  if (init.status !== 200 || !sessionId || !init.body.includes('"result"')) {
    throw new Error(`initialize failed: HTTP ${init.status} ${init.body.slice(0, 200)}`);
  }
  const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL_VERSION };
  const ack = await post(agent, url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized: HTTP ${ack.status} ${ack.body.slice(0, 200)}`);
  let id = 1;
  const call = async () => {
    const n = id++;
    const res = await post(agent, url, `{"jsonrpc":"2.0","id":${n},"method":"${request.method}","params":${JSON.stringify(request.params)}}`, headers);
    // The answer is JSON or one SSE event; either way it carries our id and a result.
    if (res.status !== 200 || !res.body.includes('"result"') || !res.body.includes(`"id":${n}`)) {
      throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
  };
  /** One request on the session, its result parsed (from a JSON answer or a one-event SSE answer). */
  const ask = async (method, params = {}) => {
    const n = id++;
    const res = await post(agent, url, { jsonrpc: "2.0", id: n, method, params }, headers);
    const text = res.body.trimStart().startsWith("{") ? res.body : /^data: ?(.*)$/m.exec(res.body)?.[1];
    const message = text ? JSON.parse(text) : undefined;
    if (res.status !== 200 || !message?.result) throw new Error(`${method}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return message.result;
  };
  return { sessionId, call, request: ask };
}

/**
 * A 2026-07-28 caller with raw POSTs: no session, each request carrying the revision's `_meta`
 * envelope (the capabilities it declares) and headers. Returns a function that POSTs one call.
 */
export function raw2026Caller(endpoint, agent, { request = ECHO_CALL, capabilities = {} } = {}) {
  const url = new URL(endpoint);
  const meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": { name: "bench-2026", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": capabilities,
  };
  const params = JSON.stringify({ ...request.params, _meta: meta });
  const name = request.params.name ?? request.params.uri;
  const headers = { "mcp-protocol-version": "2026-07-28", "mcp-method": request.method, ...(name ? { "mcp-name": name } : {}) };
  let id = 1;
  return async () => {
    const n = id++;
    const res = await post(agent, url, `{"jsonrpc":"2.0","id":${n},"method":"${request.method}","params":${params}}`, headers);
    if (res.status !== 200 || !res.body.includes('"result"') || !res.body.includes(`"id":${n}`)) {
      throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
  };
}

/** POSTs of a body to `endpoint` on `agent`, the answer read whole (as the raw load reads it). */
export function rawPoster(endpoint, agent) {
  const url = new URL(endpoint);
  return { post: (body) => post(agent, url, body) };
}

/** A keep-alive agent with one socket per worker. */
export function keepAliveAgent(concurrency) {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

/** Sends `DELETE` to end a raw session (best effort). */
export function deleteSession(endpoint, agent, sessionId) {
  const url = new URL(endpoint);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "DELETE", agent, headers: { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL_VERSION } },
      (res) => {
        res.resume();
        res.on("end", resolve);
      },
    );
    req.setTimeout(5_000, () => req.destroy());
    req.on("error", () => resolve());
    req.end();
  });
}

// ── Statistics ──────────────────────────────────────────────────────────────────────────────

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Pools the runs of one variant: throughput over all measured time, percentiles over all samples. */
export function summarise(runs) {
  const calls = runs.reduce((s, r) => s + r.calls, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const all = new Float64Array(calls);
  let o = 0;
  for (const r of runs) {
    all.set(r.samples, o);
    o += r.samples.length;
  }
  all.sort();
  const cpu = runs.every((r) => r.cpuMicros !== undefined) ? runs.reduce((s, r) => s + r.cpuMicros, 0) / calls : undefined;
  const clientCpuPerCall = runs.reduce((s, r) => s + r.clientCpuMicros, 0) / calls;
  const perRun = runs.map((r) => r.calls / r.seconds).sort((a, b) => a - b);
  return {
    calls,
    rps: calls / seconds,
    rpsMin: perRun[0],
    rpsMax: perRun[perRun.length - 1],
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    firstError: runs.find((r) => r.firstError)?.firstError,
    cpuPerCall: cpu,
    clientCpuPerCall,
  };
}

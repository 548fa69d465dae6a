// PROTOTYPES, not product code: lean transports behind the SDK's Transport interface, used only by
// `pnpm bench --experiments` to measure what the changes proposed for core would buy. They skip
// what a proxy need not do on every message (a zod parse of each JSON-RPC envelope, one write
// syscall per message, WHATWG streams and fetch per HTTP request) and keep the wire format.
// Known gaps (a core implementation must close them): no standalone GET stream or resumability on
// the HTTP front, no GET stream on the HTTP client, minimal header validation.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";

// ── stdio ─────────────────────────────────────────────────────────────────────────────────────

/** Newline-delimited JSON-RPC: parse with JSON.parse and a shape check, no schema validation. */
function lineReader(onMessage, onError) {
  let pending = "";
  return (chunk) => {
    const data = pending ? pending + chunk : chunk;
    let start = 0;
    let i;
    while ((i = data.indexOf("\n", start)) !== -1) {
      const line = data.charCodeAt(i - 1) === 13 ? data.slice(start, i - 1) : data.slice(start, i);
      start = i + 1;
      if (line.length === 0) continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch (error) {
        onError(error);
        continue;
      }
      if (message === null || typeof message !== "object" || message.jsonrpc !== "2.0") onError(new Error("not a JSON-RPC 2.0 message"));
      else onMessage(message);
    }
    pending = data.slice(start);
  };
}

/** Coalesces the messages sent in one turn of the event loop into one write (one syscall). */
function batchWriter(stream) {
  let queue = [];
  let drained = Promise.resolve();
  const flush = () => {
    const data = queue.length === 1 ? queue[0] : queue.join("");
    queue = [];
    if (!stream.write(data)) drained = new Promise((resolve) => stream.once("drain", resolve));
  };
  return (line) => {
    if (queue.push(line) === 1) process.nextTick(flush);
    return drained;
  };
}

export class StdioFrontTransport {
  constructor(stdin = process.stdin, stdout = process.stdout) {
    this._stdin = stdin;
    this._write = batchWriter(stdout);
  }
  async start() {
    this._stdin.setEncoding("utf8");
    this._stdin.on("data", lineReader((m) => this.onmessage?.(m), (e) => this.onerror?.(e)));
    this._stdin.on("end", () => this.close());
  }
  send(message) {
    return this._write(`${JSON.stringify(message)}\n`);
  }
  async close() {
    if (this._closed) return;
    this._closed = true;
    this._stdin.pause();
    this.onclose?.();
  }
}

export class StdioBackendTransport {
  constructor({ command, args = [], env }) {
    this._params = { command, args, env };
  }
  start() {
    return new Promise((resolve, reject) => {
      const child = spawn(this._params.command, this._params.args, { env: this._params.env, stdio: ["pipe", "pipe", "inherit"] });
      this._child = child;
      this._write = batchWriter(child.stdin);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", lineReader((m) => this.onmessage?.(m), (e) => this.onerror?.(e)));
      child.on("error", reject);
      child.on("spawn", resolve);
      child.on("close", () => this.onclose?.());
      child.stdin.on("error", (e) => this.onerror?.(e));
    });
  }
  get pid() {
    return this._child?.pid;
  }
  send(message) {
    return this._write(`${JSON.stringify(message)}\n`);
  }
  async close() {
    const child = this._child;
    if (!child || child.exitCode !== null) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await new Promise((resolve) => child.once("close", resolve));
    clearTimeout(timer);
  }
}

// ── streamable HTTP, client side (the proxy's backend leg) ─────────────────────────────────────

/** Splits an SSE body into `data:` payloads as it arrives. */
function sseReader(onData) {
  let pending = "";
  return (chunk) => {
    const text = pending + chunk;
    let start = 0;
    let i;
    while ((i = text.indexOf("\n\n", start)) !== -1) {
      const event = text.slice(start, i);
      start = i + 2;
      let data = "";
      for (const line of event.split("\n")) if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(line[5] === " " ? 6 : 5);
      if (data) onData(data);
    }
    pending = text.slice(start);
  };
}

export class HttpBackendTransport {
  constructor(url, { maxSockets = 64 } = {}) {
    this._url = new URL(url);
    this._agent = new http.Agent({ keepAlive: true, maxSockets });
  }
  async start() {}
  setProtocolVersion(version) {
    this._protocolVersion = version;
  }
  send(message) {
    const body = JSON.stringify(message);
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "content-length": Buffer.byteLength(body),
    };
    if (this.sessionId) headers["mcp-session-id"] = this.sessionId;
    if (this._protocolVersion) headers["mcp-protocol-version"] = this._protocolVersion;
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this._url.hostname, port: this._url.port, path: this._url.pathname + this._url.search, method: "POST", agent: this._agent, headers },
        (res) => {
          const sid = res.headers["mcp-session-id"];
          if (sid) this.sessionId = Array.isArray(sid) ? sid[0] : sid;
          if (res.statusCode === 202) {
            res.resume();
            return resolve();
          }
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new Error(`HTTP ${res.statusCode} from ${this._url.href}`));
          }
          resolve();
          res.setEncoding("utf8");
          const deliver = (text) => {
            try {
              const parsed = JSON.parse(text);
              for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.onmessage?.(m);
            } catch (error) {
              this.onerror?.(error);
            }
          };
          if (String(res.headers["content-type"]).startsWith("text/event-stream")) {
            res.on("data", sseReader(deliver));
          } else {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => deliver(text));
          }
          res.on("error", (e) => this.onerror?.(e));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
  async close() {
    this._agent.destroy();
    this.onclose?.();
  }
}

// ── streamable HTTP, server side (the proxy's front) ───────────────────────────────────────────

/**
 * One session. A POST's answer is plain JSON when the response is the first thing sent for it;
 * if a notification or request for it comes first (progress, sampling, ...), the answer turns
 * into an SSE stream at that moment ("lazy SSE"), so nothing is lost and the common case pays
 * for no stream.
 */
export class StreamableHttpTransport {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this._pending = new Map(); // request id -> stream
  }
  async start() {}
  handlePost(req, res, body) {
    const messages = Array.isArray(body) ? body : [body];
    const requests = messages.filter((m) => m && m.method && m.id !== undefined);
    if (requests.length === 0) {
      res.writeHead(202).end();
    } else {
      const stream = { res, open: requests.length, sse: requests.length > 1, started: false };
      for (const r of requests) this._pending.set(r.id, stream);
      res.on("close", () => {
        for (const r of requests) if (this._pending.get(r.id) === stream) this._pending.delete(r.id);
      });
    }
    const extra = { requestInfo: { headers: req.headers } };
    for (const m of messages) this.onmessage?.(m, extra);
  }
  async send(message, options) {
    const isResponse = message.result !== undefined || message.error !== undefined;
    const id = isResponse ? message.id : options?.relatedRequestId;
    const stream = id === undefined ? undefined : this._pending.get(id);
    if (!stream) return; // no stream to carry it (the prototype has no standalone GET stream)
    const data = JSON.stringify(message);
    if (isResponse && !stream.started && !stream.sse) {
      this._pending.delete(id);
      stream.res.writeHead(200, { "content-type": "application/json", "mcp-session-id": this.sessionId }).end(data);
      return;
    }
    if (!stream.started) {
      stream.started = true;
      stream.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": this.sessionId });
    }
    stream.res.write(`event: message\ndata: ${data}\n\n`);
    if (isResponse) {
      this._pending.delete(id);
      if (--stream.open === 0) stream.res.end();
    }
  }
  async close() {
    if (this._closed) return;
    this._closed = true;
    for (const stream of new Set(this._pending.values())) stream.res.end();
    this._pending.clear();
    this.onclose?.();
  }
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A streamable HTTP front for `proxy` on lean transports: POST and DELETE; GET answers 405. */
export async function leanHttpFront(proxy, { host = "127.0.0.1", port = 0, path = "/mcp" } = {}) {
  await proxy.start();
  const sessions = new Map();
  const fail = (res, status, message) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
  const server = http.createServer((req, res) => {
    const hostname = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (!LOOPBACK.has(hostname)) return fail(res, 403, "Forbidden host");
    if (req.url !== path) return fail(res, 404, "Not found");
    const sid = req.headers["mcp-session-id"];
    if (req.method === "DELETE") {
      const t = sessions.get(sid);
      if (!t) return fail(res, 404, "Session not found");
      sessions.delete(sid);
      void t.close();
      return res.writeHead(200).end();
    }
    if (req.method !== "POST") return fail(res, 405, "Method not allowed");
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return fail(res, 400, "Parse error");
      }
      let transport = sid ? sessions.get(sid) : undefined;
      if (sid && !transport) return fail(res, 404, "Session not found");
      if (!transport) {
        if (body?.method !== "initialize") return fail(res, 400, "No session and not initialize");
        transport = new StreamableHttpTransport(randomUUID());
        sessions.set(transport.sessionId, transport);
        transport.onclose = () => sessions.delete(transport.sessionId);
        await proxy.connect(transport);
      }
      transport.handlePost(req, res, body);
    });
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  return { url: `http://${host}:${server.address().port}${path}`, close: () => new Promise((r) => server.close(r)) };
}

// The HTTP front's bounds (issue 12, C6, G1, G3, G5, E8), each on a real node:http server on
// 127.0.0.1 with raw sockets as clients. Every socket is closed and every wait bounded.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  SessionBudget,
  applyServerTimeouts,
  hostAllowed,
  hostGuard,
  loopbackHosts,
  writeBounded,
} from "../../packages/core/src/serve/http-guards.js";
import { readBody, refuse } from "../../packages/core/src/wire/body.js";
import { until } from "../helpers.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, options: { connectionsCheckingInterval?: number } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer(options, handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function raw(port: number): Socket {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  sockets.push(socket);
  return socket;
}

/** A server that reads each POST with `readBody` (limit 1 MiB) and echoes what it parsed. */
async function bodyServer() {
  let bytesRead = 0;
  const { server, port } = await listen(async (req, res) => {
    const read = await readBody(req, 1024 * 1024);
    req.socket.once("close", () => (bytesRead = req.socket.bytesRead));
    if (read.failure) return refuse(res, read.failure.status, read.failure.reply, read.failure.close);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(read.value));
  });
  return { server, port, bytesRead: () => bytesRead };
}

function post(port: number, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/mcp", headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("request bodies", () => {
  it("stops reading a 100 MB body at the limit, answers 413 within a second and closes the connection", async () => {
    const s = await bodyServer();
    const socket = raw(s.port);
    let answer = "";
    let closed = false;
    socket.on("data", (c: Buffer) => (answer += c.toString()));
    socket.on("close", () => (closed = true));
    const started = performance.now();
    socket.write("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    // write until the server stops taking (it closes): at most 100 MB
    for (let sent = 0; sent < 100 * 1024 * 1024 && !closed && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(frame)) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), until(() => closed, "", 2000).catch(() => {})]);
    }
    await until(() => closed, "the connection's close", 5000);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    await until(() => s.bytesRead() > 0, "the server's byte count");
    expect(s.bytesRead()).toBeLessThan(3 * 1024 * 1024); // the 1 MiB limit, plus what was in flight (measured: 1.1 MB)
  });

  it("refuses a declared Content-Length over the limit without reading the body", async () => {
    const s = await bodyServer();
    const socket = raw(s.port);
    let answer = "";
    socket.on("data", (c: Buffer) => (answer += c.toString()));
    socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{"a":`);
    await until(() => answer.includes("\r\n\r\n{"), "the answer");
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "Payload Too Large: the request body must not exceed 1048576 bytes" },
    });
  });

  it("answers invalid UTF-8 with -32700 and deep nesting with -32600, and parses a good body", async () => {
    const s = await bodyServer();
    const bad = await post(s.port, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toEqual({ code: -32700, message: "Parse error: invalid UTF-8" });
    const deep = await post(s.port, `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    expect(JSON.parse(deep.body).error.code).toBe(-32600);
    const good = await post(s.port, '{"jsonrpc":"2.0","id":1,"method":"x","params":{"é":"✓"}}');
    expect(JSON.parse(good.body)).toEqual({ jsonrpc: "2.0", id: 1, method: "x", params: { é: "✓" } });
  });
});

describe("slow clients (slowloris)", () => {
  it("closes a connection whose headers trickle in, once the headers timeout passes", async () => {
    const { server, port } = await listen((_req, res) => res.end("ok"), { connectionsCheckingInterval: 100 });
    applyServerTimeouts(server, { headersTimeoutMs: 600, requestTimeoutMs: 1000 });
    const slow = Array.from({ length: 20 }, () => raw(port));
    let closed = 0;
    for (const socket of slow) socket.on("close", () => closed++);
    const started = performance.now();
    const drip = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write("X");
    }, 150);
    for (const socket of slow) socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    try {
      await until(() => closed === slow.length, "every slow socket closed", 5000);
    } finally {
      clearInterval(drip);
    }
    expect(performance.now() - started).toBeLessThan(2500);
    // a legitimate request is served meanwhile and after
    expect(await post(port, "{}")).toMatchObject({ status: 200 });
  });
});

describe("Host and Origin, with ports", () => {
  const allowed = loopbackHosts(8000);
  const req = (host: string | undefined, origin?: string) => ({ headers: { host, ...(origin ? { origin } : {}) } }) as unknown as IncomingMessage;
  it.each([
    ["localhost:8000", undefined, true],
    ["127.0.0.1:8000", "http://localhost:8000", true],
    ["[::1]:8000", undefined, true],
    ["localhost:8001", undefined, false], // another port on the same name: another service
    ["localhost", undefined, false], // no port means 80
    ["evil.example:8000", undefined, false],
    ["localhost:8000", "http://localhost:9999", false],
    ["localhost:8000", "http://evil.example:8000", false],
    ["localhost:8000", "null", false],
    [undefined, undefined, false],
  ] as const)("Host %s, Origin %s → %s", (host, origin, ok) => {
    expect(hostAllowed(req(host, origin), allowed)).toBe(ok);
  });
  it("bare IPv6 entries and bracketed ones match the same host", () => {
    expect(hostAllowed(req("[::1]:3000"), ["::1"])).toBe(true);
    expect(hostAllowed(req("[::1]:3000"), ["[::1]"])).toBe(true);
    expect(hostAllowed(req("[::1]:3000"), ["[::1]:3001"])).toBe(false);
  });
  it("an entry without a port allows any port of that name", () => {
    expect(hostAllowed(req("proxy.internal:443"), ["proxy.internal"])).toBe(true);
    expect(hostAllowed(req("proxy.internal:8443", "https://proxy.internal:8443"), ["proxy.internal"])).toBe(true);
  });
  it("a guard that remembers its answers gives the same ones, however many Host values it has seen", () => {
    const guard = hostGuard(allowed);
    for (let i = 0; i < 2_500; i++) expect(guard(req(`evil-${i}.example:8000`))).toBe(false);
    expect(guard(req("localhost:8000", "http://localhost:8000"))).toBe(true);
    expect(guard(req("localhost:8000", "http://evil.example:8000"))).toBe(false);
    expect(guard(req("evil-1.example:8000"))).toBe(false);
  });
});

describe("budgets", () => {
  it("caps sessions overall and per identity, and gives places back", () => {
    const budget = new SessionBudget(3, 2);
    const a1 = budget.take("alice");
    const a2 = budget.take("alice");
    expect(budget.take("alice").refused).toMatch(/too many sessions for this caller \(2 open, at most 2\)/);
    const b1 = budget.take("bob");
    expect(budget.take("carol").refused).toMatch(/too many sessions \(3 open, at most 3\)/);
    a1.release!();
    a1.release!(); // twice is once
    expect(budget.open).toBe(2);
    expect(budget.take("carol").refused).toBeUndefined();
    a2.release!();
    b1.release!();
  });

  it("holds anonymous callers to the overall cap only", () => {
    const budget = new SessionBudget(3, 1);
    expect([budget.take(undefined), budget.take(undefined), budget.take(undefined)].every((p) => p.refused === undefined)).toBe(true);
    expect(budget.take(undefined).refused).toMatch(/too many sessions \(3 open/);
  });
});

describe("slow SSE readers", () => {
  it("a reader that never reads: its stream alone is closed once too much waits, the server's memory stays bounded", async () => {
    let destroyed = 0;
    let written = 0;
    const { port } = await listen((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.on("close", () => destroyed++);
      const event = `data: ${"x".repeat(64 * 1024)}\n\n`;
      const pump = () => {
        for (let i = 0; i < 16; i++) {
          if (!writeBounded(res, event, { maxBufferedBytes: 1024 * 1024, sendTimeoutMs: 60_000 })) return;
          written += event.length;
        }
        if (written < 64 * 1024 * 1024) setImmediate(pump);
      };
      if (req.url === "/stream") pump();
      else res.end("data: ok\n\n");
    });
    const stuck = raw(port);
    stuck.pause(); // never reads
    stuck.write("GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until(() => destroyed === 1, "the slow stream's close", 10_000);
    expect(written).toBeLessThan(32 * 1024 * 1024); // cut long before 64 MB
    const fine = await new Promise<number>((resolve) => request({ host: "127.0.0.1", port, path: "/other" }, (res) => (res.resume(), resolve(res.statusCode!))).end());
    expect(fine).toBe(200);
  });

  it("a write nobody takes within the send timeout closes that stream", async () => {
    let closedAt = 0;
    const { port } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.on("close", () => (closedAt = performance.now()));
      const big = `data: ${"y".repeat(8 * 1024 * 1024)}\n\n`; // more than the socket buffers take
      writeBounded(res, big, { maxBufferedBytes: 64 * 1024 * 1024, sendTimeoutMs: 300 });
    });
    const stuck = raw(port);
    stuck.pause();
    const started = performance.now();
    stuck.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until(() => closedAt > 0, "the close at the send timeout", 5000);
    expect(closedAt - started).toBeGreaterThanOrEqual(250);
    expect(closedAt - started).toBeLessThan(2000);
  });
});

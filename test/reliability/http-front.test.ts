// The streamable HTTP front under hostile clients (issue 12: defect 4, B3, C1-C3, G3): the proxy
// served with run() on 127.0.0.1 (port 0), a stdio fault fixture as its backend, raw HTTP clients.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { HttpFrontOptions } from "@fastmcp-proxy/core/advanced";
import { until } from "../helpers.js";

const FAULTS = fileURLToPath(new URL("./fixtures/hangup-server.mjs", import.meta.url));
const ACCEPT = "application/json, text/event-stream";

// One proxy (one backend child) for the file: each test serves it through a handler of its own.
let proxy: FastMCPProxy;
beforeAll(async () => {
  proxy = FastMCPProxy.asProxy([process.execPath, FAULTS], { logLevel: "silent", sessions: "shared" });
  await proxy.start();
});
afterAll(() => proxy.close());

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await handler?.close();
  handler = undefined;
});

let handler: ReturnType<FastMCPProxy["httpHandler"]> | undefined;

/** The proxy's HTTP handler on a server of our own (port 0), with the given front limits. */
async function serve(limits: HttpFrontOptions["limits"] = {}) {
  handler = proxy.httpHandler({ limits });
  server = createServer((req, res) => void handler!(req, res));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

type Answer = { status: number; headers: Record<string, string>; body: string };

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT, ...headers } }, (res) => {
      let data = "";
      res.on("data", (chunk: Buffer) => (data += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, body: data }));
    });
    req.on("error", reject);
    req.end(text);
  });
}

async function openSession(url: string, protocolVersion = "2025-06-18") {
  const init = await post(url, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion, capabilities: {}, clientInfo: { name: "t", version: "1" } } });
  const headers = { "mcp-session-id": init.headers["mcp-session-id"]!, "mcp-protocol-version": protocolVersion };
  await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  return headers;
}

const call = (id: unknown, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
const json = (answer: Answer) => JSON.parse(answer.body);

describe("request ids", () => {
  it("a second POST with an id still in flight gets 400/-32600 at once; the first is answered", async () => {
    const url = await serve();
    const headers = await openSession(url);
    const first = post(url, call(7, "echo", { text: "first", ms: 2000 }), headers);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const second = await post(url, call(7, "echo", { text: "second" }), headers);
    expect(performance.now() - started).toBeLessThan(1000); // not after the first's 2 s
    expect([second.status, json(second).error]).toEqual([400, { code: -32600, message: "Invalid Request: a request with id 7 is already in flight in this session" }]);
    const answered = await first;
    expect(json(answered)).toMatchObject({ id: 7, result: { content: [{ text: "first" }] } });
    // once answered, the id may be used again
    expect(json(await post(url, call(7, "echo", { text: "again" }), headers))).toMatchObject({ id: 7, result: { content: [{ text: "again" }] } });
  });

  it("1 and \"1\" are different ids; the same id twice in one batch is refused", async () => {
    const url = await serve();
    const headers = await openSession(url, "2025-03-26");
    const both = await post(url, [call(1, "echo", { text: "number" }), call("1", "echo", { text: "string" })], headers);
    expect(json(both).map((m: any) => [m.id, m.result.content[0].text]).sort()).toEqual([[1, "number"], ["1", "string"]]);
    const twice = await post(url, [call(2, "echo", { text: "a" }), call(2, "echo", { text: "b" })], headers);
    expect([twice.status, json(twice).error.code]).toEqual([400, -32600]);
  });
});

describe("malformed bodies and batches", () => {
  it("JSON that is not a request is -32600; bytes that are not JSON are -32700", async () => {
    const url = await serve();
    const headers = await openSession(url);
    for (const body of ["42", '"text"', "null", { id: 1, method: "tools/list" }, { jsonrpc: "1.0", id: 1, method: "tools/list" }, { jsonrpc: "2.0", id: null, method: "tools/list" }]) {
      const answer = await post(url, body, headers);
      expect([answer.status, json(answer).error.code], JSON.stringify(body)).toEqual([400, -32600]);
    }
    const parse = await post(url, "{not json", headers);
    expect([parse.status, json(parse).error.code]).toEqual([400, -32700]);
  });

  it("what the SDK would drop unanswered is refused and says why, in a session and as an initialize (a wrong _meta, an id past 2^53)", async () => {
    const url = await serve();
    const headers = await openSession(url);
    const ping = await post(url, { jsonrpc: "2.0", id: 1, method: "ping", params: { _meta: { progressToken: true } } }, headers);
    expect([ping.status, json(ping).error]).toEqual([400, { code: -32602, message: "Invalid params: _meta.progressToken must be a string or an integer" }]);
    const bigId = await post(url, '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}', headers);
    expect([bigId.status, json(bigId).error.code]).toEqual([400, -32600]);
    const init = await post(url, { jsonrpc: "2.0", id: 2, method: "initialize", params: { _meta: { progressToken: 1.5 }, protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    expect([init.status, json(init).error.message]).toEqual([400, "Invalid params: _meta.progressToken must be a string or an integer"]);
  });

  it("refuses batches from 2025-06-18 on with -32600, and answers them before", async () => {
    const url = await serve();
    for (const version of ["2025-06-18", "2025-11-25"]) {
      const headers = await openSession(url, version);
      const answer = await post(url, [call(1, "echo", { text: "a" }), call(2, "echo", { text: "b" })], headers);
      expect([answer.status, json(answer).error.code]).toEqual([400, -32600]);
      expect(json(answer).error.message).toContain("batches are not allowed from protocol version 2025-06-18");
    }
    const old = await openSession(url, "2025-03-26");
    const answer = await post(url, [call(1, "echo", { text: "a" }), call(2, "echo", { text: "b" })], old);
    expect(answer.status).toBe(200);
    expect(json(answer)).toHaveLength(2);
  });
});

describe("slow SSE readers", () => {
  it("clients that never read a 9 MB SSE result: only their streams are cut, at the send timeout; others are served", async () => {
    const url = await serve({ sendTimeoutMs: 1000 });
    let cut = 0;
    // a stuck client's response destroyed by the proxy (with the reason) was cut
    server!.prependListener("request", (req, res) => {
      if (!req.headers["x-stuck"]) return;
      const destroy = res.destroy.bind(res);
      res.destroy = (error?: Error) => {
        if (error?.message.startsWith("SSE reader too slow")) cut++;
        return destroy(error);
      };
    });
    const headers = await openSession(url);
    const { port } = new URL(url);
    for (let i = 0; i < 4; i++) {
      const socket = connect(Number(port), "127.0.0.1");
      sockets.push(socket);
      socket.on("error", () => {});
      socket.pause(); // never reads: once the kernel's buffers are full, the proxy's would grow
      const body = JSON.stringify(call(100 + i, "big", { bytes: 9 * 1024 * 1024 })); // under the 10 MiB stdio line limit
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Stuck: 1\r\nContent-Type: application/json\r\nAccept: text/event-stream, application/json\r\n` +
          `Mcp-Session-Id: ${headers["mcp-session-id"]}\r\nMcp-Protocol-Version: 2025-06-18\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    expect(json(await post(url, call(1, "echo", { text: "meanwhile" }), headers))).toMatchObject({ result: { content: [{ text: "meanwhile" }] } });
    await until(() => cut === 4, "the four stuck streams cut", 30_000);
    expect(json(await post(url, call(2, "echo", { text: "after" }), headers))).toMatchObject({ result: { content: [{ text: "after" }] } });
  }, 45_000);
});

describe("draining", () => {
  it("refuses new sessions with 503 and serves the open ones; the session count is live", async () => {
    const url = await serve();
    const open = await openSession(url);
    expect(handler!.sessions).toBe(1);
    handler!.drain();
    const refused = await post(url, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    expect([refused.status, json(refused).error.message]).toEqual([503, "Service Unavailable: the proxy is shutting down"]);
    expect(json(await post(url, call(1, "echo", { text: "still served" }), open))).toMatchObject({ result: { content: [{ text: "still served" }] } });
    expect(handler!.sessions).toBe(1);
  });
});

describe("sessions and bodies", () => {
  const initialize = { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };

  it("past the session cap a new session gets 503 at once; a closed one gives its place back", async () => {
    const url = await serve({ maxSessions: 5, maxSessionsPerIdentity: 5 });
    const open: Record<string, string>[] = [];
    for (let i = 0; i < 5; i++) open.push(await openSession(url));
    const started = performance.now();
    const refused = await post(url, initialize);
    expect(performance.now() - started).toBeLessThan(1000);
    expect([refused.status, json(refused).error.message]).toEqual([503, "Service Unavailable: too many sessions (5 open, at most 5)"]);
    await new Promise<void>((resolve, reject) =>
      httpRequest(url, { method: "DELETE", headers: open[0]! }, (res) => (res.resume(), res.on("end", resolve))).on("error", reject).end(),
    );
    expect((await post(url, initialize)).status).toBe(200);
  });

  it("a session that sends nothing after initialize is closed after the TTL, and its place freed", async () => {
    const url = await serve({ maxSessions: 2, uninitializedTtlMs: 300 });
    const silent = await post(url, initialize);
    const sessionId = silent.headers["mcp-session-id"]!;
    const active = await openSession(url); // sends notifications/initialized: not evicted
    await until(() => handler!.sessions === 1, "the silent session closed");
    const gone = await post(url, call(1, "echo", { text: "late" }), { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" });
    expect(gone.status).toBe(404);
    expect(json(await post(url, call(2, "echo", { text: "alive" }), active))).toMatchObject({ result: { content: [{ text: "alive" }] } });
    expect((await post(url, initialize)).status).toBe(200); // the evicted session's place
  });

  it("a forged session id with a 4 MiB body: 404 before the body is read; a body that never comes is not waited for", async () => {
    const url = await serve();
    const { port } = new URL(url);
    let read = 0;
    server!.prependListener("request", (req) => req.socket.once("close", () => (read = req.socket.bytesRead)));
    const socket = connect(Number(port), "127.0.0.1");
    sockets.push(socket);
    let answer = "";
    let closed = false;
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => (closed = true));
    const started = performance.now();
    socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\nMcp-Session-Id: forged\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(64 * 1024, 0x20)); // the start of the body; the rest never comes
    await until(() => answer.includes("\r\n\r\n{"), "the answer", 2000);
    expect(answer).toMatch(/^HTTP\/1\.1 404/);
    expect(performance.now() - started).toBeLessThan(1000);
    await until(() => closed, "the close once the linger is over", 5000);
    expect(read).toBeLessThan(1024 * 1024);
  });

  it("40 forged-session POSTs of 4 MiB each: every client reads its 404 (no reset)", async () => {
    const url = await serve();
    const body = `{"pad":"${"x".repeat(4 * 1024 * 1024 - 16)}"}`;
    const answers = await Promise.all(Array.from({ length: 40 }, () => post(url, body, { "mcp-session-id": "forged" })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(404));
  }, 30_000);

  it("a body over the limit: 413, the connection closed, the rest not read", async () => {
    const url = await serve();
    const headers = await openSession(url);
    const { port } = new URL(url);
    let read = 0;
    server!.prependListener("request", (req) => req.socket.once("close", () => (read = req.socket.bytesRead)));
    const socket = connect(Number(port), "127.0.0.1");
    sockets.push(socket);
    let answer = "";
    let closed = false;
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => (closed = true));
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\nMcp-Session-Id: ${headers["mcp-session-id"]}\r\n` +
        `Mcp-Protocol-Version: 2025-06-18\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    // up to 100 MB, as fast as the proxy takes it
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    for (let i = 0; i < 400 && !closed; i++) {
      if (!socket.write(frame)) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), until(() => closed, "", 2000).catch(() => {})]);
    }
    await until(() => closed, "the close", 5000);
    // A writer this fast may see the reset before it reads the answer; when it does read, it is the 413.
    if (answer) expect(answer).toMatch(/^HTTP\/1\.1 413/);
    await until(() => read > 0, "the proxy's byte count");
    expect(read).toBeLessThan(4 * 1024 * 1024 + 4 * 1024 * 1024); // the 4 MiB limit and what was in flight, not 100 MB
  });

  it("past the in-flight cap of a session, a request gets 429 at once", async () => {
    const url = await serve({ maxInFlightPerSession: 3 });
    const headers = await openSession(url);
    const slow = [1, 2, 3].map((id) => post(url, call(id, "echo", { text: "slow", ms: 500 }), headers));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await post(url, call(4, "echo", { text: "one too many" }), headers);
    expect([refused.status, json(refused).error.message]).toEqual([429, "Too Many Requests: 3 requests in flight in this session (at most 3)"]);
    for (const answer of await Promise.all(slow)) expect(json(answer)).toMatchObject({ result: { content: [{ text: "slow" }] } });
  });
});

describe("wrong-typed params over HTTP", () => {
  it("get -32602 with a plain message and the request's id", async () => {
    const url = await serve();
    const headers = await openSession(url);
    const answer = await post(url, { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "echo", arguments: "not an object" } }, headers);
    expect([answer.status, json(answer)]).toEqual([200, { jsonrpc: "2.0", id: 9, error: { code: -32602, message: 'Invalid params for tools/call: "arguments" must be an object' } }]);
    const cursor = await post(url, { jsonrpc: "2.0", id: 10, method: "tools/list", params: { cursor: 5 } }, headers);
    expect(json(cursor).error).toEqual({ code: -32602, message: 'Invalid params for tools/list: "cursor" must be a string' });
  });
});

describe("proxy.run() on loopback", () => {
  it("closes slowloris connections at the headers timeout, serving others meanwhile; Host must name its port", async () => {
    const running = FastMCPProxy.asProxy([process.execPath, FAULTS], { logLevel: "silent", sessions: "shared" });
    onTestFinished(() => running.close());
    const { url } = await running.run({ transport: "http", host: "127.0.0.1", port: 0, limits: { headersTimeoutMs: 800, requestTimeoutMs: 1500 } });
    const { port } = new URL(url!);
    const slow = Array.from({ length: 50 }, () => {
      const socket = connect(Number(port), "127.0.0.1");
      sockets.push(socket);
      socket.on("error", () => {});
      socket.write("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      return socket;
    });
    let closed = 0;
    for (const socket of slow) socket.on("close", () => closed++);
    const drip = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write("x");
    }, 200);
    const started = performance.now();
    try {
      const headers = await openSession(url!); // a legitimate client is served meanwhile
      expect(json(await post(url!, call(1, "echo", { text: "served" }), headers))).toMatchObject({ result: { content: [{ text: "served" }] } });
      await until(() => closed === slow.length, "every slow socket closed", 6000);
    } finally {
      clearInterval(drip);
    }
    expect(performance.now() - started).toBeLessThan(3500);
    // DNS rebinding: another port on the same name is another service
    const otherPort = await post(url!, { jsonrpc: "2.0", id: 0, method: "initialize", params: {} }, { host: `127.0.0.1:${Number(port) + 1}` });
    expect(otherPort.status).toBe(403);
  });
});

// The streamable HTTP server transport (packages/core/src/serve/streamable-http.ts), over raw HTTP:
// node:http requests on 127.0.0.1, so the tests see status codes, headers and bodies exactly.
// First through the proxy's HTTP front (serve/http.ts routing sessions to the transport), then the
// transport on its own in front of an SDK Server. Every wait is bounded.
import { randomUUID } from "node:crypto";
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { MemoryEventStore, StreamableHttpTransport, type StreamableHttpTransportOptions } from "@fastmcp-proxy/core/advanced";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";

const ACCEPT = "application/json, text/event-stream";
const LATEST = "2025-11-25";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request; resolves with the whole answer (bounded: 10 s). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

function post(url: string, message: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return send(url, "POST", { "content-type": "application/json", accept: ACCEPT, ...headers }, typeof message === "string" ? message : JSON.stringify(message));
}

/** The `data:` of each SSE event (priming events, with no data, are left out), parsed. */
function events(body: string): any[] {
  return body
    .split("\n\n")
    .map((block) => block.split("\n").find((line) => line.startsWith("data: "))?.slice(6))
    .filter((data): data is string => data !== undefined && data.trim() !== "")
    .map((data) => JSON.parse(data));
}

function initialize(id = 0, capabilities: object = {}, protocolVersion = "2025-06-18") {
  return { jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion, capabilities, clientInfo: { name: "raw", version: "1" } } };
}

/** An initialized session: its id, and the headers every later request carries. */
async function openSession(url: string, capabilities: object = {}, protocolVersion = "2025-06-18") {
  const init = await post(url, initialize(0, capabilities, protocolVersion));
  expect(init.status).toBe(200);
  const sessionId = init.headers["mcp-session-id"] as string;
  expect(sessionId).toBeTruthy();
  const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": protocolVersion };
  expect((await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)).status).toBe(202);
  return { sessionId, headers, init };
}

/** A GET stream kept open: `next(predicate)` waits (bounded) for an event matching it. */
function openStream(url: string, headers: Record<string, string>) {
  let buffer = "";
  let waiter: (() => void) | undefined;
  let response: IncomingMessage | undefined;
  const req = request(url, { method: "GET", headers: { accept: "text/event-stream", ...headers } });
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    req.on("response", (res) => {
      response = res;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        waiter?.();
      });
      resolve(res);
    });
    req.on("error", reject);
  });
  req.end();
  return {
    opened,
    async next(predicate: (event: any) => boolean, timeoutMs = 5000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events(buffer).find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event on the GET stream within ${timeoutMs} ms; got: ${buffer}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    raw: () => buffer,
    close() {
      req.destroy();
      response?.destroy();
    },
  };
}

const call = (id: number, name: string, args: object = {}, meta?: object) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("streamable HTTP front (through the proxy)", () => {
  async function start(options: { keepAliveMs?: number } = {}) {
    const backend = createFixtureServer();
    const proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
    cleanups.push(() => proxy.close());
    if (options.keepAliveMs === undefined) {
      const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
      return { url: url!, backend, proxy };
    }
    await proxy.start();
    const handler = proxy.httpHandler({ keepAliveMs: options.keepAliveMs });
    const url = await listen(createServer((req, res) => void handler(req, res)));
    cleanups.push(() => handler.close());
    return { url, backend, proxy };
  }

  it("answers a plain call with JSON, not a stream", async () => {
    const { url } = await start();
    const { headers, init, sessionId } = await openSession(url);
    expect(init.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(init.body).result.serverInfo).toBeDefined();
    const answer = await post(url, call(1, "echo", { text: "hi" }), headers);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.headers["mcp-session-id"]).toBe(sessionId);
    expect(Number(answer.headers["content-length"])).toBe(Buffer.byteLength(answer.body));
    const message = JSON.parse(answer.body);
    expect(message).toMatchObject({ jsonrpc: "2.0", id: 1 });
    expect(message.result.content[0].text).toBe("hi");
    expect(message.result.futureResultField).toBe(42);
  });

  it("answers with SSE from the start when the client's Accept header prefers it", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    for (const accept of ["text/event-stream, application/json", "application/json;q=0.5, text/event-stream"]) {
      const answer = await post(url, call(6, "echo", { text: "streamed" }), { ...headers, accept });
      expect(answer.headers["content-type"]).toBe("text/event-stream");
      expect(events(answer.body)).toEqual([expect.objectContaining({ id: 6 })]);
    }
  });

  it("switches the answer to SSE when progress comes before the result", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    const answer = await post(url, call(2, "slow", { ms: 40 }, { progressToken: "p-1" }), headers);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/event-stream");
    const sent = events(answer.body);
    expect(sent.map((m) => m.method ?? "result")).toEqual(["notifications/progress", "notifications/progress", "notifications/progress", "notifications/progress", "result"]);
    expect(sent[0].params).toMatchObject({ progressToken: "p-1", progress: 1, total: 4 });
    expect(sent[4]).toMatchObject({ id: 2, result: { content: [{ text: "slept 40" }] } });
  });

  it("carries a server→client request on the POST's stream and takes the client's answer as a 202 POST", async () => {
    const { url } = await start();
    const { headers } = await openSession(url, { sampling: {} });
    // The answer streams: read it as it comes, to answer the sampling request in between.
    let body = "";
    let sampling: any;
    const done = new Promise<Answer>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT, ...headers } }, (res) => {
        res.setEncoding("utf8");
        res.on("data", async (chunk: string) => {
          body += chunk;
          const request = events(body).find((m) => m.method === "sampling/createMessage");
          if (request && !sampling) {
            sampling = request;
            const reply = { jsonrpc: "2.0", id: request.id, result: { role: "assistant", content: { type: "text", text: "sampled" }, model: "m" } };
            expect((await post(url, reply, headers)).status).toBe(202);
          }
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
      req.on("error", reject);
      req.end(JSON.stringify(call(3, "ask", { what: "sampling" })));
    });
    const answer = await done;
    expect(answer.headers["content-type"]).toBe("text/event-stream");
    expect(sampling.params.messages[0].content.text).toBe("hi");
    const result = events(answer.body).find((m) => m.id === 3);
    expect(JSON.parse(result.result.content[0].text)).toMatchObject({ content: { text: "sampled" } });
  });

  it("answers notifications-only POSTs with 202 and no body", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    const answer = await post(url, { jsonrpc: "2.0", method: "notifications/roots/list_changed" }, headers);
    expect(answer.status).toBe(202);
    expect(answer.body).toBe("");
  });

  it("refuses bad requests with the SDK's status codes", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    const list = { jsonrpc: "2.0", id: 9, method: "tools/list" };
    const error = (answer: Answer) => JSON.parse(answer.body).error;

    const notAcceptable = await post(url, list, { ...headers, accept: "application/json" });
    expect(notAcceptable.status).toBe(406);
    expect(error(notAcceptable).message).toContain("Not Acceptable");
    const unsupported = await post(url, list, { ...headers, "content-type": "text/plain" });
    expect(unsupported.status).toBe(415);
    expect((await post(url, list, { ...headers, "content-type": "application/json; charset=utf-8" })).status).toBe(200);

    const tooLarge = await post(url, JSON.stringify({ pad: "x".repeat(4 * 1024 * 1024 + 1) }), headers);
    expect(tooLarge.status).toBe(413);
    const parse = await post(url, "{not json", headers);
    expect([parse.status, error(parse).code]).toEqual([400, -32700]);
    const notJsonRpc = await post(url, { jsonrpc: "1.0", id: 1, method: "tools/list" }, headers);
    expect([notJsonRpc.status, error(notJsonRpc).code]).toEqual([400, -32600]);
    const bigBatch = await post(url, Array.from({ length: 101 }, (_, i) => ({ ...list, id: i })), headers);
    expect([bigBatch.status, error(bigBatch).code]).toEqual([400, -32600]);

    const noSession = await post(url, list);
    expect(noSession.status).toBe(400);
    const unknown = await post(url, list, { ...headers, "mcp-session-id": "no-such-session" });
    expect(unknown.status).toBe(404);
    expect(error(unknown).message).toContain("Session not found");
    const reinitialize = await post(url, initialize(), headers);
    expect([reinitialize.status, error(reinitialize).code]).toEqual([400, -32600]);

    const badVersion = await post(url, list, { ...headers, "mcp-protocol-version": "1999-01-01" });
    expect(badVersion.status).toBe(400);
    expect(error(badVersion).message).toContain("Unsupported protocol version: 1999-01-01");
    const noVersion = await post(url, list, { "mcp-session-id": headers["mcp-session-id"] });
    expect(noVersion.status).toBe(200); // absent: the version negotiated at initialize applies
    expect((await send(url, "GET", { ...headers, accept: "text/event-stream", "mcp-protocol-version": "1999-01-01" })).status).toBe(400);
    expect((await send(url, "GET", { ...headers, accept: "application/json" })).status).toBe(406);
    expect((await send(url, "PUT", headers)).status).toBe(405);
  });

  it("sends list_changed on the GET stream; a second GET stream is refused with 409", async () => {
    const { url, backend } = await start();
    const { headers } = await openSession(url);
    const stream = openStream(url, headers);
    cleanups.push(() => stream.close());
    const res = await stream.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.headers["mcp-session-id"]).toBe(headers["mcp-session-id"]);
    expect((await send(url, "GET", { ...headers, accept: "text/event-stream" })).status).toBe(409);
    await backend.sendToolListChanged();
    expect(await stream.next((m) => m.method === "notifications/tools/list_changed")).toMatchObject({ jsonrpc: "2.0" });
    // Once the client has gone, a new GET stream may open.
    stream.close();
    const deadline = Date.now() + 5000;
    let again: ReturnType<typeof openStream> | undefined;
    while (Date.now() < deadline) {
      again = openStream(url, headers);
      cleanups.push(() => again!.close());
      if ((await again.opened).statusCode === 200) break;
      again.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await again!.opened).statusCode).toBe(200);
  });

  it("ends the session on DELETE: later requests get 404", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    const stream = openStream(url, headers);
    cleanups.push(() => stream.close());
    await stream.opened;
    const ended = new Promise<void>((resolve) => stream.opened.then((res) => res.on("end", resolve)));
    expect((await send(url, "DELETE", headers)).status).toBe(200);
    await ended; // the GET stream is closed with the session
    expect((await post(url, call(4, "echo", { text: "late" }), headers)).status).toBe(404);
    expect((await send(url, "DELETE", headers)).status).toBe(404);
  });

  it("turns a call still unanswered after a keep-alive interval into an SSE stream with keep-alive comments", async () => {
    const { url } = await start({ keepAliveMs: 50 });
    const { headers } = await openSession(url);
    const answer = await post(url, call(5, "echo", { text: "late", delayMs: 250 }), headers);
    expect(answer.headers["content-type"]).toBe("text/event-stream");
    expect(answer.body).toContain(": keepalive\n\n");
    expect(events(answer.body)).toEqual([expect.objectContaining({ id: 5, result: expect.objectContaining({ futureResultField: 42 }) })]);
  });

  it("with eventStore, answers a resumable client (2025-11-25) in SSE with event ids; an older one still in JSON", async () => {
    const proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    cleanups.push(() => proxy.close());
    await proxy.start();
    const handler = proxy.httpHandler({ eventStore: () => new MemoryEventStore(), retryInterval: 250 });
    cleanups.push(() => handler.close());
    const url = await listen(createServer((req, res) => void handler(req, res)));
    const { headers } = await openSession(url, {}, LATEST);
    const answer = await post(url, call(1, "echo", { text: "kept" }), headers);
    expect(answer.headers["content-type"]).toBe("text/event-stream");
    expect(answer.body).toMatch(/^id: \S+\nretry: 250\ndata: \n\nevent: message\nid: \S+\ndata: /);
    expect(events(answer.body)[0].result.content[0].text).toBe("kept");
    const older = await openSession(url);
    expect((await post(url, call(2, "echo", { text: "json" }), older.headers)).headers["content-type"]).toBe("application/json");
  });

  it("stateless mode: no session id, each POST on its own", async () => {
    const proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    cleanups.push(() => proxy.close());
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, stateless: true });
    const init = await post(url!, initialize());
    expect(init.status).toBe(200);
    expect(init.headers["mcp-session-id"]).toBeUndefined();
    const answer = await post(url!, call(1, "echo", { text: "alone" }));
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body).result.content[0].text).toBe("alone");
    expect((await send(url!, "GET", { accept: "text/event-stream" })).status).toBe(405);
  });
});

describe("StreamableHttpTransport on its own (an SDK Server behind it)", () => {
  /** An SDK Server per session with a few tools that exercise the transport. */
  function sdkServer() {
    const server = new Server({ name: "direct", version: "1" }, { capabilities: { tools: { listChanged: true }, logging: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
      const text = (value: unknown) => ({ content: [{ type: "text" as const, text: typeof value === "string" ? value : JSON.stringify(value) }] });
      switch (req.params.name) {
        case "echo":
          return text(String(req.params.arguments?.text));
        case "log":
          await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "working" } });
          return text("logged");
        case "whoami":
          return text({ header: extra.requestInfo?.headers["x-test"], url: extra.requestInfo?.url?.pathname, client: extra.authInfo?.clientId });
        case "hangup":
          // Drop the POST's connection, then go on: what follows waits in the event store.
          extra.closeSSEStream?.();
          await new Promise((resolve) => setTimeout(resolve, 30));
          await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "after hangup" } });
          return text("resumed");
        case "hang":
          return new Promise(() => {});
        default:
          throw new Error(`no tool ${req.params.name}`);
      }
    });
    return server;
  }

  /** A minimal router: initialize opens a transport, the session id finds it again. */
  async function start(options: Partial<StreamableHttpTransportOptions> & { store?: boolean } = {}) {
    const transports = new Map<string, StreamableHttpTransport>();
    const servers: Server[] = [];
    const http = createServer(async (req, res) => {
      const id = req.headers["mcp-session-id"] as string | undefined;
      let transport = id === undefined ? undefined : transports.get(id);
      if (!transport) {
        const created = new StreamableHttpTransport({
          ...options,
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (sid) => void transports.set(sid, created),
          ...(options.store ? { eventStore: new MemoryEventStore({ maxEvents: 100 }) } : {}),
        });
        const server = sdkServer();
        servers.push(server);
        await server.connect(created);
        transport = created;
      }
      // As an authentication middleware would.
      const auth = req.headers["x-client"];
      if (typeof auth === "string") Object.assign(req, { auth: { token: "t", clientId: auth, scopes: [] } });
      await transport.handleRequest(req, res);
    });
    const url = await listen(http);
    cleanups.push(() => Promise.all(servers.map((s) => s.close())));
    return { url, transports };
  }

  it("answers in JSON, and in SSE once a logging message related to the call comes first", async () => {
    const { url, transports } = await start();
    const { headers, sessionId } = await openSession(url);
    expect(transports.get(sessionId)!.protocolVersion).toBe("2025-06-18"); // negotiated, seen in the initialize result
    const plain = await post(url, call(1, "echo", { text: "x" }), headers);
    expect(plain.headers["content-type"]).toBe("application/json");
    const logged = await post(url, call(2, "log"), headers);
    expect(logged.headers["content-type"]).toBe("text/event-stream");
    expect(logged.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(events(logged.body)).toEqual([
      { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "working" } },
      { jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "logged" }] } },
    ]);
  });

  it("answers a batch of requests with one JSON array (protocol 2025-03-26, which still has batches)", async () => {
    const { url } = await start();
    const { headers } = await openSession(url, {}, "2025-03-26");
    const answer = await post(url, [call(1, "echo", { text: "a" }), { jsonrpc: "2.0", method: "notifications/roots/list_changed" }, call(2, "echo", { text: "b" })], headers);
    expect(answer.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(answer.body);
    expect(body.map((m: any) => [m.id, m.result.content[0].text]).sort()).toEqual([[1, "a"], [2, "b"]]);
    const mixed = await post(url, [call(3, "echo", { text: "c" }), call(4, "log")], headers);
    expect(mixed.headers["content-type"]).toBe("text/event-stream");
    expect(events(mixed.body).map((m) => m.id ?? m.method).sort()).toEqual([3, 4, "notifications/message"].sort());
  });

  it("passes the request headers, URL and req.auth to handlers as extra.requestInfo and extra.authInfo", async () => {
    const { url } = await start();
    const { headers } = await openSession(url);
    const answer = await post(url, call(1, "whoami"), { ...headers, "x-test": "seen", "x-client": "alice" });
    expect(JSON.parse(JSON.parse(answer.body).result.content[0].text)).toEqual({ header: "seen", url: "/mcp", client: "alice" });
  });

  it("with an event store: priming events, event ids, and Last-Event-ID resumption after closeSSEStream", async () => {
    const { url } = await start({ store: true, retryInterval: 100 });
    const { headers, init } = await openSession(url, {}, LATEST);
    // A resumable client gets SSE from the start, opened by a priming event.
    expect(init.headers["content-type"]).toBe("text/event-stream");
    expect(init.body).toMatch(/^id: \d+\nretry: 100\ndata: \n\n/);
    const cut = await post(url, call(7, "hangup"), headers);
    expect(cut.headers["content-type"]).toBe("text/event-stream");
    expect(events(cut.body)).toEqual([]); // closed after the priming event
    const primingId = /^id: (\S+)$/m.exec(cut.body)![1]!;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the tool goes on meanwhile
    const resumed = await send(url, "GET", { ...headers, accept: "text/event-stream", "last-event-id": primingId });
    expect(resumed.status).toBe(200);
    expect(events(resumed.body)).toEqual([
      { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "after hangup" } },
      { jsonrpc: "2.0", id: 7, result: { content: [{ type: "text", text: "resumed" }] } },
    ]);
    expect(resumed.body).toMatch(/^event: message\nid: \d+\ndata: /m);
    // An event id the store does not know: a fresh standalone stream, not an error.
    const fresh = openStream(url, { ...headers, "last-event-id": "no-such-event" });
    cleanups.push(() => fresh.close());
    expect((await fresh.opened).statusCode).toBe(200);
  });

  it("keeps the event store bounded", async () => {
    const store = new MemoryEventStore({ maxEvents: 3 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent("s", { jsonrpc: "2.0", method: `m${i}` }));
    expect(store.size).toBe(3);
    expect(await store.getStreamIdForEventId(ids[0]!)).toBeUndefined();
    const replayed: string[] = [];
    expect(await store.replayEventsAfter(ids[2]!, { send: async (_, m) => void replayed.push((m as { method: string }).method) })).toBe("s");
    expect(replayed).toEqual(["m3", "m4"]);
  });

  it("keeps the event store's bytes bounded: large results drop the oldest events, the newest is kept", async () => {
    const store = new MemoryEventStore({ maxBytes: 10_000 });
    const result = (id: number, size: number) => ({ jsonrpc: "2.0" as const, id, result: { content: [{ type: "text", text: "x".repeat(size) }] } });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent("s", result(i, 3000)));
    expect([store.size, store.bytes <= 10_000]).toEqual([3, true]);
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect(await store.getStreamIdForEventId(ids[2]!)).toBe("s");
    await store.storeEvent("s", result(5, 50_000));
    expect(store.size).toBe(1);
  });

  it("on close, answers the requests still waiting with a ConnectionClosed error", async () => {
    const { url, transports } = await start();
    const { headers, sessionId } = await openSession(url);
    const waiting = post(url, call(8, "hang"), headers);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await transports.get(sessionId)!.close();
    const answer = await waiting;
    expect(JSON.parse(answer.body)).toMatchObject({ id: 8, error: { code: ErrorCode.ConnectionClosed } });
    expect((await post(url, call(9, "echo", { text: "x" }), headers)).status).toBe(404);
  });
});

async function listen(server: HttpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

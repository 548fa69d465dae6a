// The lean streamable HTTP client transport (packages/core/src/backends/http-transport.ts, the
// proxy's leg to a remote server), driven by an SDK Client against real servers on 127.0.0.1: the
// SDK's StreamableHTTPServerTransport (SSE answers, JSON answers, an event store for resumption) and
// core's own HTTP front. Every server is closed by the test that made it; every wait is bounded.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Agent, createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, ResultSchema, isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { MemoryEventStore } from "@fastmcp-proxy/core/advanced";
import { HttpBackendTransport, StreamableHTTPError } from "../../packages/core/src/backends/http-transport.js";
import { SseParser, type SseEvent } from "../../packages/core/src/wire/sse.js";
import { connectSession, raw, rejection, until } from "../helpers.js";

const passthrough = ResultSchema.passthrough();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An SDK server with tools that exercise the transport; `seen` collects what each tool call observed. */
function makeServer(seen: { headers: IncomingHttpHeaders[] }) {
  const server = new Server({ name: "transport-test", version: "1.0.0" }, { capabilities: { tools: { listChanged: true }, logging: {} } });
  const tools = ["echo", "progress", "announce", "cut", "slow"].map((name) => ({ name, inputSchema: { type: "object" as const } }));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {} } = request.params;
    seen.headers.push(extra.requestInfo?.headers as IncomingHttpHeaders);
    const text = (value: string) => ({ content: [{ type: "text", text: value }] });
    const token = request.params._meta?.progressToken;
    switch (name) {
      case "echo":
        return text(String(args.text));
      case "progress":
        for (let i = 1; i <= 3; i++) await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token!, progress: i, total: 3 } });
        return text("done");
      case "announce":
        // Unrelated to any request: it can only reach the client on the standalone GET stream.
        await server.sendToolListChanged();
        return text("announced");
      case "cut":
        // Sends one event, cuts the stream (the client must reconnect with Last-Event-ID), answers later.
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token!, progress: 1, total: 2 } });
        extra.closeSSEStream?.();
        await sleep(150);
        return text("after the cut");
      case "slow":
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          extra.signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)));
        });
        return text("slow");
      default:
        throw new Error(`no tool ${name}`);
    }
  });
  return server;
}

interface TestServer {
  url: string;
  /** Every HTTP request the server received: method, headers. */
  requests: { method: string; headers: IncomingHttpHeaders; rawHeaders: string[] }[];
  seen: { headers: IncomingHttpHeaders[] };
  sessions: Map<string, StreamableHTTPServerTransport>;
  closedSessions: string[];
  http: HttpServer;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const transports: HttpBackendTransport[] = [];

afterEach(async () => {
  await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
});

/** The SDK's streamable HTTP server (one Server per session) on 127.0.0.1, with a hook to answer some requests itself. */
async function sdkServer(
  options: { json?: boolean; resumable?: boolean; retryMs?: number; intercept?: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => boolean } = {},
): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const seen = { headers: [] as IncomingHttpHeaders[] };
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const closedSessions: string[] = [];
  const http = createServer(async (req, res) => {
    requests.push({ method: req.method!, headers: req.headers, rawHeaders: req.rawHeaders });
    if (options.intercept?.(req, res)) return;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    const sid = req.headers["mcp-session-id"] as string | undefined;
    if (sid) {
      const transport = sessions.get(sid);
      if (!transport) return void res.writeHead(404).end("no such session");
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) return void res.writeHead(400).end("initialize first");
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => void sessions.set(id, transport),
      onsessionclosed: (id) => void closedSessions.push(id!),
      enableJsonResponse: options.json ?? false,
      ...(options.resumable ? { eventStore: new MemoryEventStore(), retryInterval: options.retryMs ?? 50 } : {}),
    });
    await makeServer(seen).connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const server: TestServer = {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}/mcp`,
    requests,
    seen,
    sessions,
    closedSessions,
    http,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  servers.push(server);
  return server;
}

async function connect(url: string, options: ConstructorParameters<typeof HttpBackendTransport>[1] = {}) {
  const transport = new HttpBackendTransport(url, options);
  transports.push(transport);
  const errors: Error[] = [];
  transport.onerror = (error) => errors.push(error);
  const client = new Client({ name: "lean-http-test", version: "1.0.0" });
  await client.connect(transport);
  // Client.connect sets its own onerror; keep ours as well.
  const clientOnError = transport.onerror;
  transport.onerror = (error) => (errors.push(error), clientOnError?.(error));
  return { client, transport, errors };
}

const call = (client: Client, name: string, args: Record<string, unknown> = {}, options = {}) =>
  client.request({ method: "tools/call", params: { name, arguments: args } }, passthrough, options) as Promise<{ content: { text: string }[] }>;

describe("HttpBackendTransport against the SDK's streamable HTTP server", () => {
  it("opens a session, sends its id and the negotiated protocol version, and reads SSE answers", async () => {
    const server = await sdkServer();
    const { client, transport } = await connect(server.url);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(transport.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const result = await call(client, "echo", { text: "hello" });
    expect(result.content[0]!.text).toBe("hello");
    const headers = server.seen.headers[0]!;
    expect(headers["mcp-session-id"]).toBe(transport.sessionId);
    expect(headers["mcp-protocol-version"]).toBe(transport.protocolVersion);
    expect(headers.accept).toBe("application/json, text/event-stream");
  });

  it("reads JSON answers", async () => {
    const server = await sdkServer({ json: true });
    const { client } = await connect(server.url);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(client, "echo", { text: `n${i}` })));
    expect(results.map((r) => r.content[0]!.text)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
  });

  it("delivers the notifications of an SSE answer before its result, in order", async () => {
    const server = await sdkServer();
    const { client } = await connect(server.url);
    const progress: number[] = [];
    const result = await call(client, "progress", {}, { onprogress: (p: { progress: number }) => progress.push(p.progress) });
    expect(progress).toEqual([1, 2, 3]);
    expect(result.content[0]!.text).toBe("done");
  });

  it("sends custom headers with every request, over the transport's own except Accept", async () => {
    const server = await sdkServer();
    const { client } = await connect(server.url, { headers: { "X-Api-Key": "k1", Accept: "text/plain" } });
    await call(client, "echo", { text: "x" });
    const posts = server.requests.filter((r) => r.method === "POST");
    expect(posts.length).toBeGreaterThanOrEqual(3); // initialize, initialized, tools/call
    for (const post of posts) {
      expect(post.headers["x-api-key"]).toBe("k1");
      expect(post.headers.accept).toBe("application/json, text/event-stream");
      expect(post.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === "host")).toHaveLength(1);
      expect(post.headers.host).toBe(new URL(server.url).host);
    }
  });

  it("opens the standalone GET stream after initialized, and receives what is sent on it", async () => {
    const server = await sdkServer();
    const { client } = await connect(server.url);
    const changed: string[] = [];
    client.fallbackNotificationHandler = async (n) => void changed.push(n.method);
    await until(() => server.requests.some((r) => r.method === "GET" && r.headers.accept === "text/event-stream"), "the GET stream");
    await call(client, "announce");
    await until(() => changed.includes("notifications/tools/list_changed"), "list_changed on the GET stream");
  });

  it("keeps an idle stream open past the agent's socket timeout (which only ends free sockets)", async () => {
    const server = await sdkServer();
    const agent = new Agent({ keepAlive: true, timeout: 100 });
    try {
      const { client } = await connect(server.url, { agent });
      const changed: string[] = [];
      client.fallbackNotificationHandler = async (n) => void changed.push(n.method);
      await until(() => server.requests.some((r) => r.method === "GET"), "the GET stream");
      await sleep(400); // idle: four socket timeouts
      await call(client, "announce");
      await until(() => changed.includes("notifications/tools/list_changed"), "list_changed after the idle time");
      expect(server.requests.filter((r) => r.method === "GET").length).toBe(1); // the same stream, not a reconnection
    } finally {
      agent.destroy();
    }
  });

  it("ends the session with DELETE on close, and stops the GET stream", async () => {
    const server = await sdkServer();
    const { client, transport } = await connect(server.url);
    const id = transport.sessionId!;
    await until(() => server.requests.some((r) => r.method === "GET"), "the GET stream");
    let closed = 0;
    transport.onclose = () => void closed++;
    await client.close();
    expect(closed).toBe(1);
    expect(server.closedSessions).toEqual([id]);
    const deletes = server.requests.filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => r.headers["mcp-session-id"])).toEqual([id]);
    expect(transport.sessionId).toBeUndefined();
    const gets = server.requests.filter((r) => r.method === "GET").length;
    await sleep(100);
    expect(server.requests.filter((r) => r.method === "GET").length).toBe(gets); // not reopened
  });

  it("resumes an SSE answer cut before its result: waits `retry`, GETs with Last-Event-ID, and gets the result", async () => {
    const server = await sdkServer({ resumable: true, retryMs: 30 });
    const { client, errors } = await connect(server.url);
    const progress: number[] = [];
    const result = await call(client, "cut", {}, { onprogress: (p: { progress: number }) => progress.push(p.progress) });
    expect(result.content[0]!.text).toBe("after the cut");
    expect(progress).toEqual([1]);
    const resumed = server.requests.filter((r) => r.method === "GET" && r.headers["last-event-id"]);
    expect(resumed.length).toBe(1);
    expect(errors.filter((e) => !/SSE stream disconnected/.test(e.message))).toEqual([]);
  });

  it("cancelling a request lets its stream go; close() while a call is in flight rejects it and does not hang", async () => {
    const server = await sdkServer();
    const { client, transport } = await connect(server.url);
    const controller = new AbortController();
    const pending = call(client, "slow", {}, { signal: controller.signal });
    await until(() => server.seen.headers.length === 1, "the slow call reaching the server");
    controller.abort(new Error("stop"));
    expect((await rejection(pending)).message).toMatch(/stop/);
    // The server saw notifications/cancelled, and a new call still works.
    expect((await call(client, "echo", { text: "again" })).content[0]!.text).toBe("again");
    const inFlight = call(client, "slow");
    await until(() => server.seen.headers.length === 3, "the second slow call");
    const t0 = Date.now();
    await transport.close();
    expect((await rejection(inFlight)).message).toMatch(/closed/i);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("rejects with a StreamableHTTPError carrying the status when the server refuses (the connector's SSE fallback reads it)", async () => {
    const server = await sdkServer({ intercept: (req, res) => (req.method === "POST" ? (res.writeHead(405).end("no POST here"), true) : false) });
    const transport = new HttpBackendTransport(server.url);
    transports.push(transport);
    const error = await rejection(new Client({ name: "t", version: "1" }).connect(transport));
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect(error.code).toBe(405);
    expect(error.message).toMatch(/no POST here/);
  });

  it("fails a request whose answer is not JSON-RPC, of an unknown content type, or an SSE answer cut for good, without hanging", async () => {
    let mode = "";
    const server = await sdkServer({
      intercept: (req, res) => {
        if (!mode || req.method !== "POST" || !req.headers["mcp-session-id"]) return false;
        if (mode === "garbage") res.writeHead(200, { "content-type": "application/json" }).end('{"not":"jsonrpc"}');
        else if (mode === "cut") res.writeHead(200, { "content-type": "text/event-stream" }).end(": nothing to resume from\n\n");
        else res.writeHead(200, { "content-type": "text/plain" }).end("hello");
        req.resume();
        return true;
      },
    });
    const { client } = await connect(server.url);
    mode = "garbage";
    expect((await rejection(call(client, "echo", { text: "x" }))).message).toMatch(/not a JSON-RPC message/);
    mode = "text";
    expect((await rejection(call(client, "echo", { text: "x" }))).message).toMatch(/Unexpected content type: text\/plain/);
    // An SSE answer that ends without the response, and without an event id to resume from, fails now.
    mode = "cut";
    const t0 = Date.now();
    const error = await rejection(call(client, "echo", { text: "x" }));
    expect(error.code).toBe(-32000);
    expect(error.message).toMatch(/closed the stream before answering/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("fails a JSON answer over maxMessageBytes instead of reading it all", async () => {
    const server = await sdkServer({ json: true });
    const { client } = await connect(server.url, { maxMessageBytes: 4096 });
    expect((await call(client, "echo", { text: "small" })).content[0]!.text).toBe("small");
    expect((await rejection(call(client, "echo", { text: "x".repeat(10_000) }))).message).toMatch(/over 4096 bytes/);
    expect((await call(client, "echo", { text: "still fine" })).content[0]!.text).toBe("still fine");
  });

  it("does not let a server that never answers DELETE hold close() up for more than closeTimeoutMs", async () => {
    const server = await sdkServer({ intercept: (req) => req.method === "DELETE" });
    const { client } = await connect(server.url, { closeTimeoutMs: 200 });
    const t0 = Date.now();
    await client.close();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(server.requests.some((r) => r.method === "DELETE")).toBe(true);
  });

  it("follows a 307 within the origin and keeps the new URL", async () => {
    const server = await sdkServer({
      intercept: (req, res) => (req.url === "/old" ? (res.writeHead(307, { location: "/mcp" }).end(), true) : false),
    });
    const { client } = await connect(server.url.replace("/mcp", "/old"));
    expect((await call(client, "echo", { text: "moved" })).content[0]!.text).toBe("moved");
    expect(server.requests.filter((r) => r.method === "POST").length).toBe(4); // initialize twice (redirected), initialized, call
  });

  it("reuses its keep-alive connections", async () => {
    const server = await sdkServer({ json: true });
    let connections = 0;
    server.http.on("connection", () => void connections++);
    const { client } = await connect(server.url);
    for (let i = 0; i < 50; i++) await call(client, "echo", { text: "x" });
    expect(connections).toBeLessThanOrEqual(3); // POSTs share one socket; the GET stream holds another
  });
});

describe("HttpBackendTransport against core's own HTTP front", () => {
  it("calls through the front with JSON answers, and gets progress first when it turns the answer into SSE", async () => {
    const seen = { headers: [] as IncomingHttpHeaders[] };
    const proxy = FastMCPProxy.asProxy(makeServer(seen), { name: "front" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    try {
      const { client } = await connect(url!);
      expect((await call(client, "echo", { text: "through the front" })).content[0]!.text).toBe("through the front");
      const progress: number[] = [];
      const result = await call(client, "progress", {}, { onprogress: (p: { progress: number }) => progress.push(p.progress) });
      expect(progress).toEqual([1, 2, 3]);
      expect(result.content[0]!.text).toBe("done");
      await client.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("HttpBackendTransport in the conformance suite's client scenarios", () => {
  // The suite (0.1.13) serves a scenario and runs a client command with the server's URL as its last
  // argument. The command here is a stub that hands the URL to this test and waits: the client under
  // test is an SDK Client on HttpBackendTransport, in this process. Checks are scored when the stub exits.
  const SUITE = join(dirname(createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json")), "dist", "index.js");
  const STUB = `import { existsSync, writeFileSync } from "node:fs";
const dir = process.env.HANDOFF_DIR;
writeFileSync(dir + "/url", process.argv[process.argv.length - 1]);
const deadline = Date.now() + 20000;
setInterval(() => (existsSync(dir + "/done") || Date.now() > deadline) && process.exit(0), 20);
`;

  async function scenario(name: string, drive: (url: string) => Promise<void>): Promise<{ output: string; checks: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), "lean-http-conformance-"));
    writeFileSync(join(dir, "stub.mjs"), STUB);
    const child = spawn(process.execPath, [SUITE, "client", "--command", `${process.execPath} ${join(dir, "stub.mjs")}`, "--scenario", name, "--timeout", "25000"], {
      env: { ...process.env, HANDOFF_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const killer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 40_000);
    try {
      const url = await until(() => (existsSync(join(dir, "url")) ? readFileSync(join(dir, "url"), "utf8") : undefined), "the scenario's URL", 15_000);
      await drive(url);
    } finally {
      writeFileSync(join(dir, "done"), "");
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    }
    return { output, checks: output.split("\n").filter((line) => /SUCCESS|FAILURE|WARNING/.test(line)) };
  }

  async function callEveryTool(url: string) {
    const { client } = await connect(url);
    const { tools } = (await client.request({ method: "tools/list", params: {} }, passthrough)) as { tools: { name: string }[] };
    for (const tool of tools) await call(client, tool.name, { a: 2, b: 3 }, { timeout: 10_000 });
    await client.close();
  }

  /** The same, with the proxy as the client: the scenario's server is its HTTP backend (the proxy's backend leg). */
  async function callEveryToolThroughTheProxy(url: string) {
    const proxy = FastMCPProxy.asProxy(url, { name: "conformance-client" });
    try {
      const { client } = await connectSession(proxy);
      const { tools } = await raw(client, "tools/list");
      for (const tool of tools as { name: string }[]) await call(client, tool.name, { a: 2, b: 3 }, { timeout: 10_000 });
      await client.close();
    } finally {
      await proxy.close();
    }
  }

  const passes = ({ output, checks }: { output: string; checks: string[] }) => {
    expect(checks.length, output).toBeGreaterThan(0);
    // A reconnection a little late (WARNING, over retry + 200 ms) is the machine's load, not the client.
    expect(checks.filter((line) => /FAILURE/.test(line) || (/WARNING/.test(line) && !/sse-retry-timing/.test(line))), output).toEqual([]);
  };

  // sse-retry once more when it fails: on a loaded machine the standalone GET stream (opened once
  // notifications/initialized is accepted) can reach the scenario's server after the tools/call POST,
  // and the scenario then takes it for the reconnection, which carries no Last-Event-ID (a WARNING).
  const retry = (name: string) => (name === "sse-retry" ? 1 : 0);

  for (const name of ["initialize", "tools_call", "sse-retry"]) {
    it(`passes the ${name} scenario`, { timeout: 60_000, retry: retry(name) }, async () => {
      passes(await scenario(name, name === "initialize" ? async (url) => void (await connect(url)).client.close() : callEveryTool));
    });
  }

  for (const name of ["tools_call", "sse-retry"]) {
    it(`passes the ${name} scenario with the proxy as the client (its HTTP backend leg)`, { timeout: 60_000, retry: retry(name) }, async () => {
      passes(await scenario(name, callEveryToolThroughTheProxy));
    });
  }
});

describe("SseParser", () => {
  const STREAM = '\uFEFF: keep-alive\r\nid: 1\r\nretry: 250\r\ndata: \r\n\r\nevent: message\ndata: {"a":1}\n\ndata: line one\rdata: line two\r\rid: bad\0id\nevent: other\ndata: x\n\n';
  const EXPECTED: SseEvent[] = [
    { event: "", data: "", id: "1" },
    { event: "message", data: '{"a":1}', id: undefined },
    { event: "", data: "line one\nline two", id: undefined },
    { event: "other", data: "x", id: undefined },
  ];

  it("parses every split of a stream the same way (CRLF, CR and LF ends, comments, retry, BOM, an id with NUL)", () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      for (const second of [cut, Math.min(STREAM.length, cut + 1), Math.min(STREAM.length, cut + 7)]) {
        const events: SseEvent[] = [];
        const retries: number[] = [];
        const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
        for (const piece of [STREAM.slice(0, cut), STREAM.slice(cut, second), STREAM.slice(second)]) expect(parser.push(piece)).toBe(true);
        expect(events, `cut at ${cut}/${second}`).toEqual(EXPECTED);
        expect(retries).toEqual([250]);
      }
    }
  });

  it("refuses a line or an event over maxBytes", () => {
    const parser = new SseParser({ onEvent: () => {}, maxBytes: 16 });
    expect(parser.push("data: 0123456789")).toBe(true);
    expect(parser.push("0123456789")).toBe(false);
    const events = new SseParser({ onEvent: () => {}, maxBytes: 16 });
    expect(events.push("data: 0123456789\ndata: 0123456789\n")).toBe(false);
  });
});

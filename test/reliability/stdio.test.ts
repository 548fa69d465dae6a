// Hostile input and faults on the stdio legs (issue 12, scenarios A6, A7, C1-C3, C8, C9): the
// stdio front on in-process pipes with an SDK Server behind it, and stdio backends as real child
// processes behind an SDK Client. Every child is ended by its transport; every wait is bounded.
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, CallToolResultSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { StdioBackendTransport } from "../../packages/core/src/backends/stdio-transport.js";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { alive, until } from "../helpers.js";

const HANGUP = fileURLToPath(new URL("./fixtures/hangup-server.mjs", import.meta.url));

describe("stdio front: every line gets an answer", () => {
  /** An SDK Server on the lean stdio front over in-process pipes, and a raw line client. */
  async function serve(options: ConstructorParameters<typeof StdioFrontTransport>[2] = {}) {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioFrontTransport(stdin, stdout, options);
    const server = new Server({ name: "s", version: "1" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const text = request.params.arguments?.text;
      // "bigint": a result JSON cannot represent, as a careless middleware could make one
      if (text === "bigint") return { content: [], structuredContent: { n: 1n } } as never;
      if (text === "slow") await new Promise((resolve) => setTimeout(resolve, 200));
      return { content: [{ type: "text", text: String(text) }] };
    });
    let closed = false;
    server.onerror = () => {};
    server.onclose = () => void (closed = true);
    await server.connect(transport);
    const lines: Record<string, any>[] = [];
    let pending = "";
    stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      let i;
      while ((i = pending.indexOf("\n")) !== -1) {
        lines.push(JSON.parse(pending.slice(0, i)));
        pending = pending.slice(i + 1);
      }
    });
    const call = (id: number, text: string) => `${JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text } } })}\n`;
    return { stdin, lines, call, closed: () => closed };
  }

  it("answers a line over the limit with -32600, keeps serving, and closes when stdin ends", async () => {
    const s = await serve(); // the default limit: 10 MiB
    const huge = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"${"x".repeat(10 * 1024 * 1024 + 10)}"}}}\n`;
    // in pieces, as a pipe delivers it, with the next request right behind it
    for (let at = 0; at < huge.length; at += 1 << 20) s.stdin.write(huge.slice(at, at + (1 << 20)));
    s.stdin.write(s.call(2, "after"));
    await until(() => s.lines.length === 2, "two answers", 10_000);
    expect(s.lines[0]).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: `Invalid Request: a message of more than ${10 * 1024 * 1024} bytes was received on stdio` } });
    expect(s.lines[1]).toMatchObject({ id: 2, result: { content: [{ text: "after" }] } });
    s.stdin.end();
    await until(() => s.closed(), "the close after stdin's end");
  });

  it("answers malformed lines with -32700, -32600 or -32602, and the valid ones in between", async () => {
    const s = await serve();
    const cases: [string, number, string | number | null][] = [
      ["not json", -32700, null],
      ['{"jsonrpc":"2.0","id":3,"method":"x"', -32700, null], // truncated
      ["42", -32600, null],
      ['"a string"', -32600, null],
      ["null", -32600, null],
      ['{"id":4,"method":"tools/list"}', -32600, 4], // no jsonrpc
      ['{"jsonrpc":"1.0","id":5,"method":"tools/list"}', -32600, 5],
      ['{"jsonrpc":"2.0","id":null,"method":"tools/list"}', -32600, null],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', -32600, null],
      ['{"jsonrpc":"2.0","id":6,"method":7}', -32600, 6],
      ['{"jsonrpc":"2.0","id":7,"method":"tools/list","extra":1}', -32600, 7],
      ['{"jsonrpc":"2.0","id":8,"method":"tools/list","params":[1]}', -32602, 8],
      ['[{"jsonrpc":"2.0","id":9,"method":"tools/list"}]', -32600, null], // a batch
      ['{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":5}}', -32602, 11],
      ['{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":"x"}}', -32602, 12],
      ['{"jsonrpc":"2.0","id":13,"method":"tools/list","params":{"cursor":5}}', -32602, 13],
    ];
    for (const [line] of cases) s.stdin.write(`${line}\n`);
    s.stdin.write(s.call(10, "still here"));
    await until(() => s.lines.length === cases.length + 1, "an answer per line");
    expect(s.lines.slice(0, -1).map((l) => [l.error?.code, l.id])).toEqual(cases.map(([, code, id]) => [code, id]));
    expect(s.lines.find((l) => l.id === 12)?.error.message).toBe('Invalid params for tools/call: "arguments" must be an object');
    expect(s.lines.at(-1)).toMatchObject({ id: 10, result: { content: [{ text: "still here" }] } });
  });

  it("rejects invalid UTF-8 with -32700 instead of reading U+FFFD", async () => {
    const s = await serve();
    const head = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"');
    s.stdin.write(Buffer.concat([head, Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('"}}}\n')]));
    s.stdin.write(s.call(2, "é ✓ 𝄞")); // valid multi-byte characters pass
    await until(() => s.lines.length === 2, "two answers");
    expect(s.lines[0]).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: invalid UTF-8" } });
    expect(s.lines[1]).toMatchObject({ id: 2, result: { content: [{ text: "é ✓ 𝄞" }] } });
  });

  it("refuses deep nesting before any work: 100,000 levels in ~ms, 70 levels with the request's id", async () => {
    const s = await serve();
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    const started = performance.now();
    s.stdin.write(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":${deep(100_000)}}}}\n`);
    s.stdin.write(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":${deep(70)}}}}\n`);
    s.stdin.write(s.call(3, "fine"));
    await until(() => s.lines.length === 3, "three answers");
    expect(performance.now() - started).toBeLessThan(500);
    expect(s.lines[0]).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: the message nests deeper than 64 levels" } });
    expect(s.lines[1]).toEqual({ jsonrpc: "2.0", id: 2, error: { code: -32602, message: "Invalid params: the message nests deeper than 64 levels" } });
    expect(s.lines[2]).toMatchObject({ id: 3, result: {} });
  });

  it("answers a request whose result cannot be serialised with an error, not silence", async () => {
    const s = await serve();
    s.stdin.write(s.call(1, "bigint"));
    s.stdin.write(s.call(2, "next"));
    await until(() => s.lines.length === 2, "two answers");
    const byId = Object.fromEntries(s.lines.map((l) => [l.id, l]));
    expect(byId[1]).toMatchObject({ id: 1, error: { code: -32603, message: expect.stringMatching(/^Internal error: the result could not be serialised/) } });
    expect(byId[2]).toMatchObject({ id: 2, result: {} });
  });

  it("refuses a second request with an id still in flight (-32600) and answers the first", async () => {
    const s = await serve();
    s.stdin.write(s.call(1, "slow"));
    s.stdin.write(s.call(1, "duplicate"));
    await until(() => s.lines.length === 2, "two answers");
    expect(s.lines[0]).toEqual({ jsonrpc: "2.0", id: 1, error: { code: -32600, message: "Invalid Request: a request with id 1 is already in flight" } });
    expect(s.lines[1]).toMatchObject({ id: 1, result: { content: [{ text: "slow" }] } });
    s.stdin.write(s.call(1, "reused once answered"));
    await until(() => s.lines.length === 3, "the third answer");
    expect(s.lines[2]).toMatchObject({ id: 1, result: { content: [{ text: "reused once answered" }] } });
  });

  it("closes when its stdout breaks (EPIPE), with no uncaught error", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioFrontTransport(stdin, stdout);
    let closed = false;
    transport.onclose = () => void (closed = true);
    transport.onerror = () => {};
    await transport.start();
    stdout.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    await until(() => closed, "the close");
  });

  it("stops reading requests while its client does not read the answers, and loses none of them", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough(); // nobody reads it until the end: full at 16 KiB
    const transport = new StdioFrontTransport(stdin, stdout);
    const server = new Server({ name: "s", version: "1" }, { capabilities: { tools: {} } });
    let served = 0;
    server.setRequestHandler(CallToolRequestSchema, async () => {
      served++;
      return { content: [{ type: "text", text: "x".repeat(4096) }] };
    });
    await server.connect(transport);
    // 2,000 requests (8 MB of answers), 20 at a time, as a client writes them over time.
    const total = 2_000;
    for (let id = 1; id <= total; id++) {
      stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "t" } })}\n`);
      if (id % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The answers it could not write stay few: the rest of the requests wait, unread, in the pipe.
    expect(served).toBeLessThan(200);
    const ids: number[] = [];
    let pending = "";
    stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      for (let i = pending.indexOf("\n"); i !== -1; i = pending.indexOf("\n")) {
        ids.push(JSON.parse(pending.slice(0, i)).id);
        pending = pending.slice(i + 1);
      }
    });
    await until(() => ids.length === total, "every answer, once the client reads", 10_000);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await server.close();
  });
});

describe("wrong-typed params through the proxy", () => {
  it("get -32602 with a plain message from the proxy, not a backend's validation dump", async () => {
    const backend = new McpServer({ name: "zod-backend", version: "1" });
    backend.registerTool("add", { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
    const proxy = FastMCPProxy.asProxy(backend, { logLevel: "silent" });
    try {
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      await proxy.connect(new StdioFrontTransport(stdin, stdout));
      const lines: Record<string, any>[] = [];
      stdout.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean).map((l) => JSON.parse(l))));
      const send = (m: object) => stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...m })}\n`);
      send({ id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
      await until(() => lines.length === 1, "initialize");
      send({ method: "notifications/initialized" });
      send({ id: 1, method: "tools/call", params: { name: "add", arguments: "1 and 2" } });
      send({ id: 2, method: "tools/call", params: { name: ["add"], arguments: { a: 1, b: 2 } } });
      send({ id: 3, method: "tools/call", params: { name: "add", arguments: { a: 1, b: 2 } } });
      await until(() => lines.length === 4, "three answers");
      const byId = Object.fromEntries(lines.map((l) => [l.id, l]));
      expect(byId[1].error).toEqual({ code: -32602, message: 'Invalid params for tools/call: "arguments" must be an object' });
      expect(byId[2].error).toEqual({ code: -32602, message: 'Invalid params for tools/call: "name" must be a string' });
      expect(byId[3].result).toMatchObject({ content: [{ text: "3" }] });
    } finally {
      await proxy.close();
    }
  });
});

describe("stdio backends: faults fail the calls at once", () => {
  const open: StdioBackendTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  async function connect() {
    const transport = new StdioBackendTransport({ command: process.execPath, args: [HANGUP], stderr: "pipe" });
    open.push(transport);
    const client = new Client({ name: "t", version: "1" });
    client.onerror = () => {};
    await client.connect(transport);
    return { client, transport, pid: transport.pid! };
  }

  it("a backend that closes stdout but stays alive: pending calls fail within 250 ms, the child is ended", async () => {
    const { client, pid } = await connect();
    const echo = client.callTool({ name: "echo", arguments: { text: "x" } });
    await echo;
    const started = performance.now();
    const error = await client.callTool({ name: "hangup", arguments: {} }, undefined, { timeout: 10_000 }).catch((e: Error) => e);
    const took = performance.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/Connection closed/);
    expect(took).toBeLessThan(250);
    await until(() => !alive(pid), "the child's end", 3000);
  });

  it("a result nested too deeply fails its call at once (-32603), and the session goes on", async () => {
    const { client } = await connect();
    const started = performance.now();
    const error = await client.callTool({ name: "deep", arguments: { depth: 1000 } }, undefined, { timeout: 10_000 }).catch((e: Error) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: -32603, message: expect.stringContaining("nests deeper than 64 levels") });
    expect(await client.callTool({ name: "echo", arguments: { text: "ok" } })).toMatchObject({ content: [{ text: "ok" }] });
  });

  it("a request that cannot be sent rejects at once and leaves no pending entry in the SDK client", async () => {
    const { client } = await connect();
    const pending = () => (client as unknown as { _responseHandlers: Map<unknown, unknown> })._responseHandlers.size;
    for (let i = 0; i < 20; i++) {
      const error = await client
        .request({ method: "tools/call", params: { name: "echo", arguments: { n: 1n } } }, CallToolResultSchema, { timeout: 10_000 })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
    }
    expect(pending()).toBe(0);
    expect(await client.callTool({ name: "echo", arguments: { text: "ok" } })).toMatchObject({ content: [{ text: "ok" }] });
  });
});

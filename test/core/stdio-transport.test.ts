// The lean stdio transports: the client side (packages/core/src/backends/stdio-transport.ts, the
// proxy's leg to a child process) against small child scripts and the fixture server, and the
// server side (packages/core/src/serve/stdio.ts, the stdio front) on in-process streams. Every
// child is started here and ended by the transport (or by PID); every wait is bounded.
import { PassThrough, Writable } from "node:stream";
import { tmpdir } from "node:os";
import { realpathSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { StdioBackendTransport } from "../../packages/core/src/backends/stdio-transport.js";
import { LineWriter } from "../../packages/core/src/wire/lines.js";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { FIXTURE, until, alive } from "../helpers.js";

/** A child that answers {"method":"echo"} requests with their params, after running `before` (JS source). */
function echoChild(before = ""): string[] {
  const script = `
    ${before}
    let pending = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      pending += chunk;
      let i;
      while ((i = pending.indexOf("\\n")) !== -1) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        const message = JSON.parse(line);
        if (message.method === "echo") process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: message.params }) + "\\n");
        if (message.method === "exit") process.exit(3);
      }
    });`;
  return ["-e", script];
}

const open: StdioBackendTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function client(args: string[], extra: Partial<ConstructorParameters<typeof StdioBackendTransport>[0]> = {}) {
  const transport = new StdioBackendTransport({ command: process.execPath, args, stderr: "pipe", ...extra });
  open.push(transport);
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  let closed = false;
  transport.onmessage = (message) => void messages.push(message);
  transport.onerror = (error) => void errors.push(error);
  transport.onclose = () => void (closed = true);
  return { transport, messages, errors, closed: () => closed };
}

function echo(id: number, params: Record<string, unknown>): JSONRPCMessage {
  return { jsonrpc: "2.0", id, method: "echo", params };
}

describe("StdioBackendTransport", () => {
  it("speaks MCP with an SDK server (the fixture) through an SDK Client", async () => {
    const transport = new StdioBackendTransport({ command: process.execPath, args: [FIXTURE, "stdio"], stderr: "pipe" });
    open.push(transport);
    const mcp = new Client({ name: "t", version: "1" });
    await mcp.connect(transport);
    expect(transport.pid).toBeGreaterThan(0);
    const results = await Promise.all([1, 2, 3].map((n) => mcp.callTool({ name: "echo", arguments: { text: `hi ${n}` } })));
    expect(results.map((r) => (r.structuredContent as { echoed: string }).echoed)).toEqual(["hi 1", "hi 2", "hi 3"]);
    await mcp.close();
    expect(transport.pid).toBeNull();
  });

  it("reports a line that is not JSON, or not JSON-RPC, to onerror and goes on", async () => {
    const c = client(echoChild(`process.stdout.write("garbage\\n{\\"jsonrpc\\":\\"2.0\\"}\\n[1,2]\\n\\n{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"result\\":[]}\\n");`));
    await c.transport.start();
    await c.transport.send(echo(7, { after: "garbage" }));
    await until(() => c.messages.length === 2, "the echo");
    expect(c.messages).toEqual([
      { jsonrpc: "2.0", id: 1, error: { code: -32603, message: "Invalid response: result must be an object" } },
      { jsonrpc: "2.0", id: 7, result: { after: "garbage" } },
    ]);
    expect(c.errors.map((e) => e.message)).toEqual([
      "Invalid line on stdio (Parse error: invalid JSON): garbage",
      'Invalid line on stdio (Invalid Request: a message needs a method, a result or an error): {"jsonrpc":"2.0"}',
      "Invalid line on stdio (Invalid Request: JSON-RPC batches are not supported on stdio): [1,2]",
      'Invalid line on stdio (Invalid Request: result must be an object): {"jsonrpc":"2.0","id":1,"result":[]}',
    ]);
    expect(c.closed()).toBe(false);
  });

  it("reads a message split across chunks, a multi-byte character included, and several in one chunk", async () => {
    const c = client([
      "-e",
      `const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "n", params: { text: "héllo ✓" } }) + "\\r\\n");
       const cut = line.indexOf(Buffer.from("✓")) + 1;
       process.stdout.write(line.subarray(0, 5));
       setTimeout(() => process.stdout.write(line.subarray(5, cut)), 30);
       setTimeout(() => process.stdout.write(Buffer.concat([line.subarray(cut), line, line.subarray(0, 3)])), 60);
       setTimeout(() => process.stdout.write(line.subarray(3)), 90);
       process.stdin.resume();`,
    ]);
    await c.transport.start();
    await until(() => c.messages.length === 3, "three notifications");
    for (const message of c.messages) expect(message).toEqual({ jsonrpc: "2.0", method: "n", params: { text: "héllo ✓" } });
    expect(c.errors).toEqual([]);
  });

  it("carries a large message both ways (4 MB)", async () => {
    const c = client(echoChild());
    await c.transport.start();
    const big = "x".repeat(4 * 1024 * 1024);
    await c.transport.send(echo(1, { big }));
    await until(() => c.messages.length > 0, "the large echo", 10_000);
    expect((c.messages[0] as unknown as { result: { big: string } }).result.big.length).toBe(big.length);
  });

  it("errors and closes on a line over the limit", async () => {
    const c = client(["-e", `process.stdout.write("{" + "x".repeat(5000)); process.stdin.resume();`], { maxLineBytes: 1000 });
    await c.transport.start();
    await until(() => c.closed(), "the close", 8000);
    expect(c.errors[0]?.message).toBe("A message of more than 1000 bytes was received on stdio");
  });

  it("writes the messages sent in one turn in one write, and keeps their order", async () => {
    const c = client(
      echoChild(`let chunks = 0; process.stdin.on("data", () => chunks++);
        process.stdin.on("data", (chunk) => { if (chunk.includes('"count"')) process.stdout.write(JSON.stringify({ jsonrpc: "2.0", method: "chunks", params: { chunks } }) + "\\n"); });`),
    );
    await c.transport.start();
    const sends = Array.from({ length: 50 }, (_, i) => c.transport.send(echo(i, { i })));
    await Promise.all(sends);
    await until(() => c.messages.length === 50, "50 echoes");
    expect(c.messages.map((m) => (m as { id: number }).id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await c.transport.send({ jsonrpc: "2.0", method: "count" });
    await until(() => c.messages.length === 51, "the count");
    // 50 messages in one write (~2 KB) arrive as one chunk; the count is a second.
    expect(c.messages[50]).toEqual({ jsonrpc: "2.0", method: "chunks", params: { chunks: 2 } });
  });

  it("spawns with the SDK's safe environment plus the configured one, in cwd", async () => {
    process.env.STDIO_TEST_SECRET = "not for children";
    try {
      const cwd = realpathSync(tmpdir());
      const c = client(
        ["-e", `process.stdout.write(JSON.stringify({ jsonrpc: "2.0", method: "env", params: { env: process.env, cwd: process.cwd() } }) + "\\n"); process.stdin.resume();`],
        { env: { EXTRA: "1" }, cwd },
      );
      await c.transport.start();
      await until(() => c.messages.length > 0, "the environment");
      const { env, cwd: seen } = (c.messages[0] as unknown as { params: { env: Record<string, string>; cwd: string } }).params;
      expect(env.EXTRA).toBe("1");
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.STDIO_TEST_SECRET).toBeUndefined();
      expect(seen).toBe(cwd);
    } finally {
      delete process.env.STDIO_TEST_SECRET;
    }
  });

  it("pipes stderr from the start", async () => {
    const c = client(["-e", `process.stderr.write("early words\\n"); process.stdin.resume();`]);
    let text = "";
    c.transport.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
    await c.transport.start();
    await until(() => text.includes("early words"), "stderr");
  });

  it("rejects start() with the spawn error (ENOENT names the command)", async () => {
    const transport = new StdioBackendTransport({ command: "/nonexistent/mcp-server-for-tests", stderr: "pipe" });
    const errors: Error[] = [];
    transport.onerror = (error) => void errors.push(error);
    const failure = await transport.start().then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(failure?.code).toBe("ENOENT");
    expect(failure?.message).toBe("spawn /nonexistent/mcp-server-for-tests ENOENT");
    expect(errors).toEqual([failure]);
    await expect(transport.send(echo(1, {}))).rejects.toThrow("Not connected");
    await transport.close();
  });

  it("fires onclose when the child exits by itself; sends then fail", async () => {
    const c = client(echoChild());
    await c.transport.start();
    const pid = c.transport.pid!;
    await c.transport.send({ jsonrpc: "2.0", id: 1, method: "exit" });
    await until(() => c.closed(), "onclose");
    // Its stdout may end before its exit is reaped: onclose comes first, the process is gone soon after.
    expect(c.transport.pid).toBeNull();
    await until(() => !alive(pid), "the child's exit");
    await expect(c.transport.send(echo(2, {}))).rejects.toThrow("Not connected");
  });

  it("closes a child that ends on stdin's end at once", async () => {
    const c = client(echoChild());
    await c.transport.start();
    const started = Date.now();
    await c.transport.close();
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => c.closed(), "onclose");
  });

  it("ends a child that ignores stdin's end and SIGTERM: SIGTERM after 0.5 s, SIGKILL after 1 s more", async () => {
    const c = client(["-e", `process.on("SIGTERM", () => process.stderr.write("SIGTERM ignored\\n")); setInterval(() => {}, 1000); process.stdout.write("{}\\n");`]);
    let stderr = "";
    c.transport.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await c.transport.start();
    await until(() => c.errors.length > 0, "the child's first line"); // its handlers are in place
    const pid = c.transport.pid!;
    const started = Date.now();
    await c.transport.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(4000);
    await until(() => !alive(pid), "the child's end");
    expect(stderr).toContain("SIGTERM ignored");
    await until(() => c.closed(), "onclose");
  }, 15_000);
});

describe("LineWriter", () => {
  /** A stream that records each write, full after `highWaterMark` bytes until it drains (after `delayMs`). */
  function sink(highWaterMark: number, delayMs = 0) {
    const writes: string[] = [];
    const stream = new Writable({
      highWaterMark,
      write(chunk: Buffer, _encoding, done) {
        writes.push(chunk.toString());
        if (delayMs > 0) setTimeout(done, delayMs);
        else done();
      },
    });
    return { stream, writes };
  }

  it("coalesces the sends of one turn into one write", async () => {
    const { stream, writes } = sink(1 << 20);
    const writer = new LineWriter(stream);
    await Promise.all([1, 2, 3].map((id) => writer.send({ jsonrpc: "2.0", id, result: {} })));
    await writer.send({ jsonrpc: "2.0", method: "later" });
    expect(writes).toEqual([
      '{"jsonrpc":"2.0","id":1,"result":{}}\n{"jsonrpc":"2.0","id":2,"result":{}}\n{"jsonrpc":"2.0","id":3,"result":{}}\n',
      '{"jsonrpc":"2.0","method":"later"}\n',
    ]);
  });

  it("waits for 'drain' when the stream is full, then writes what queued meanwhile in one write", async () => {
    const { stream, writes } = sink(16, 50);
    const writer = new LineWriter(stream);
    let firstDone = false;
    const first = writer.send({ jsonrpc: "2.0", method: "first" }).then(() => (firstDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(firstDone).toBe(false); // the stream is over its high-water mark
    const rest = [writer.send({ jsonrpc: "2.0", method: "second" }), writer.send({ jsonrpc: "2.0", method: "third" })];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(writes).toHaveLength(1); // held back until the drain
    await first;
    await Promise.all(rest);
    expect(writes).toEqual(['{"jsonrpc":"2.0","method":"first"}\n', '{"jsonrpc":"2.0","method":"second"}\n{"jsonrpc":"2.0","method":"third"}\n']);
  });

  it("while the stream is full: pauses its backpressure, drops notifications past maxQueuedBytes, never answers", async () => {
    const { stream, writes } = sink(16, 50);
    const flow: string[] = [];
    const dropped: number[] = [];
    const backpressure = { pause: () => void flow.push("pause"), resume: () => void flow.push("resume") };
    const writer = new LineWriter(stream, undefined, { backpressure, maxQueuedBytes: 100, onDropped: (n) => void dropped.push(n) });
    const first = writer.send({ jsonrpc: "2.0", method: "first" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(flow).toEqual(["pause"]); // full at once: 16 bytes
    const sends = [];
    for (let i = 0; i < 10; i++) sends.push(writer.send({ jsonrpc: "2.0", method: "notifications/message", params: { i } }));
    sends.push(writer.send({ jsonrpc: "2.0", id: 1, result: {} }));
    await Promise.all([first, ...sends]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const written = writes.join("").trim().split("\n").map((line) => JSON.parse(line));
    // About 100 bytes of notifications were kept (two of ~50), the rest dropped; the answer was not.
    expect(written.map((m) => m.params?.i ?? m.id ?? m.method)).toEqual(["first", 0, 1, 1]);
    expect(dropped).toEqual([8]);
    expect(flow[0]).toBe("pause");
    expect(flow.at(-1)).toBe("resume");
  });

  it("fails sends after close", async () => {
    const writer = new LineWriter(sink(1024).stream);
    const queued = writer.send({ jsonrpc: "2.0", method: "never" });
    writer.close();
    await expect(queued).rejects.toThrow("Not connected");
    await expect(writer.send({ jsonrpc: "2.0", method: "after" })).rejects.toThrow("Not connected");
  });
});

describe("StdioFrontTransport", () => {
  /** An SDK Server with an echo tool (waiting `ms` first) on the transport, and a raw line client. */
  async function serve(options: ConstructorParameters<typeof StdioFrontTransport>[2] = {}) {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioFrontTransport(stdin, stdout, options);
    const server = new Server({ name: "s", version: "1" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const ms = Number(request.params.arguments?.ms ?? 0);
      if (ms) await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: "text", text: String(request.params.arguments?.text) }] };
    });
    const errors: Error[] = [];
    let closed = false;
    server.onerror = (error) => void errors.push(error);
    server.onclose = () => void (closed = true);
    await server.connect(transport);
    const lines: string[] = [];
    let chunks = 0;
    let pending = "";
    stdout.on("data", (chunk: Buffer) => {
      chunks++;
      pending += chunk.toString();
      let i;
      while ((i = pending.indexOf("\n")) !== -1) {
        lines.push(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    const call = (id: number, args: Record<string, unknown>) =>
      `${JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: args } })}\n`;
    const answers = () => lines.map((line) => JSON.parse(line) as { id?: number | null; result?: { content: Array<{ text: string }> }; error?: { code: number } });
    return { stdin, stdout, server, errors, lines, answers, call, chunks: () => chunks, closed: () => closed };
  }

  it("answers requests, a garbage line in between reported to onerror", async () => {
    const s = await serve();
    s.stdin.write(`${s.call(1, { text: "one" })}not json\n{"jsonrpc":"1.0","id":2,"method":"x"}\n`);
    s.stdin.write(s.call(3, { text: "three" }));
    await until(() => s.lines.length === 4, "four answers");
    // Errors are answered at once, results when the backend has them: compare without order.
    const answers = s.answers().map((a) => [a.id, a.result?.content[0]?.text ?? a.error?.code]);
    expect(answers).toHaveLength(4);
    expect(answers).toEqual(expect.arrayContaining([[1, "one"], [null, -32700], [2, -32600], [3, "three"]]));
    expect(s.errors.map((e) => e.message)).toEqual([
      "Invalid line on stdio (Parse error: invalid JSON): not json",
      'Invalid line on stdio (Invalid Request: jsonrpc must be "2.0"): {"jsonrpc":"1.0","id":2,"method":"x"}',
    ]);
    expect(s.closed()).toBe(false);
  });

  it("reads requests split across chunks, and answers the ones of a turn in one write", async () => {
    const s = await serve();
    const text = Array.from({ length: 20 }, (_, i) => s.call(i, { text: `n${i}` })).join("");
    s.stdin.write(text.slice(0, 7));
    s.stdin.write(text.slice(7, 500));
    s.stdin.write(text.slice(500));
    await until(() => s.lines.length === 20, "20 answers");
    expect(s.answers().map((a) => a.result?.content[0]?.text)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    expect(s.chunks()).toBeLessThanOrEqual(3);
  });

  it("closes when stdin ends, once the requests read are answered", async () => {
    const s = await serve();
    s.stdin.write(s.call(1, { text: "slow", ms: 200 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    s.stdin.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.closed()).toBe(false);
    await until(() => s.closed(), "the close");
    expect(s.answers().map((a) => a.result?.content[0]?.text)).toEqual(["slow"]);
  });

  it("closes at once when stdin ends with nothing in flight, and after the grace when an answer never comes", async () => {
    const idle = await serve();
    idle.stdin.end();
    await until(() => idle.closed(), "the close");

    const stuck = await serve({ endGraceMs: 100 });
    stuck.stdin.write(stuck.call(1, { text: "late", ms: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    stuck.stdin.end();
    await until(() => stuck.closed(), "the close after the grace", 2000);
  });

  it("does not wait for a request the client cancelled", async () => {
    const s = await serve();
    s.stdin.write(s.call(1, { text: "cancelled", ms: 5000 }));
    s.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } })}\n`);
    s.stdin.end();
    await until(() => s.closed(), "the close", 2000);
  });
});

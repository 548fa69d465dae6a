// Large results written through (issue 20, item 6): a backend's result of 16 KiB or more reaches the
// client as the bytes the backend wrote, under the client's own id, on the stdio front (in process,
// and the CLI as a real process: the production front with its logging) and on the HTTP front (JSON
// and SSE answers); progress before it is still relayed; a result that afterForward or a middleware
// replaced is what the client gets; a result changed in place is refused (it is frozen).
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, type AnsweredContext, type Middleware } from "@fastmcp-proxy/core";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { BIN, ROOT } from "../cli/process.js";
import { until } from "../helpers.js";
import { resultJson } from "../fixtures/raw-bytes-server.mjs";

const RAW_SERVER = fileURLToPath(new URL("../fixtures/raw-bytes-server.mjs", import.meta.url));
const BACKEND = [process.execPath, RAW_SERVER];
const MIB = 1024 * 1024;

/** The line a client must receive: the backend's result bytes, under the client's id. */
function expected(id: string | number, args: { size: number; unicode?: boolean }): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${(resultJson as (a: object) => string)(args)}}`;
}

function call(id: string | number, args: object, meta?: object): string {
  return `${JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "big", arguments: args, ...(meta && { _meta: meta }) } })}\n`;
}

const INITIALIZE = `${JSON.stringify({ jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } })}\n${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`;

/** The lines a stream carries, each as the text of its bytes. */
function lines(stream: Readable): { all: string[]; next: (n: number) => Promise<string[]> } {
  const all: string[] = [];
  let pending: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => {
    let start = 0;
    let end: number;
    while ((end = chunk.indexOf(0x0a, start)) !== -1) {
      pending.push(chunk.subarray(start, end));
      all.push(Buffer.concat(pending).toString("utf8"));
      pending = [];
      start = end + 1;
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  });
  let read = 0;
  const next = async (n: number) => {
    await until(() => all.length >= read + n, `${n} more lines`, 15_000);
    read += n;
    return all.slice(read - n, read);
  };
  return { all, next };
}

let proxy: FastMCPProxy | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** The proxy on an in-process stdio front (pipes), initialized by a raw line client. */
async function stdioFront(made: FastMCPProxy) {
  proxy = made;
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  await made.connect(new StdioFrontTransport(stdin, stdout));
  const out = lines(stdout);
  stdin.write(INITIALIZE);
  await out.next(1);
  return { send: (text: string) => stdin.write(text), next: out.next };
}

describe("a large result on the stdio front", () => {
  it("is the backend's bytes under the client's id: numbers, strings, and ids of the proxy's own form", async () => {
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }));
    // The proxy's own first id upstream is 2^30: a client id of the same value must still be the one answered.
    for (const id of [2 ** 30, 7, 0, 2 ** 30 + 1, "p1", "é \"id\""]) {
      front.send(call(id, { size: MIB }));
      expect((await front.next(1))[0]).toBe(expected(id, { size: MIB }));
    }
  });

  it("keeps multi-byte UTF-8 and escapes as they were written", async () => {
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }));
    front.send(call(3, { size: 40_000, unicode: true }));
    const [line] = await front.next(1);
    expect(line).toBe(expected(3, { size: 40_000, unicode: true }));
    expect(JSON.parse(line!).result._meta.note).toBe('café "quoted" / slash');
  });

  it("relays the progress that came before it, with the client's token, and then the result", async () => {
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }));
    // The client's id and token are the proxy's own first id upstream: still the client's in what it gets.
    front.send(call(2 ** 30, { size: MIB }, { progressToken: 2 ** 30 }));
    const [first, second, result] = await front.next(3);
    expect(JSON.parse(first!)).toEqual({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 2 ** 30, progress: 1, total: 2 } });
    expect(JSON.parse(second!).params.progress).toBe(2);
    expect(result).toBe(expected(2 ** 30, { size: MIB }));
  });

  it("is read, untouched, by a middleware that only looks at it, and still written as its bytes", async () => {
    let seen = 0;
    const looking: Middleware = async (_ctx, next) => {
      const result = await next();
      seen = JSON.stringify(result).length;
      return result;
    };
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }).use(looking));
    front.send(call(1, { size: 20_000 }));
    expect((await front.next(1))[0]).toBe(expected(1, { size: 20_000 }));
    expect(seen).toBeGreaterThan(20_000);
  });

  it("gives way to the result afterForward returns instead", async () => {
    class Replacing extends FastMCPProxy {
      protected override afterForward(ctx: AnsweredContext) {
        return ctx.method === "tools/call" ? { content: [{ type: "text" as const, text: "replaced" }] } : ctx.result;
      }
    }
    const front = await stdioFront(Replacing.asProxy(BACKEND, { logLevel: "error" }));
    front.send(call(1, { size: MIB }));
    expect((await front.next(1))[0]).toBe('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"replaced"}]}}');
  });

  it("gives way to a changed copy a middleware returns", async () => {
    const adding: Middleware = async (_ctx, next) => {
      const result = (await next()) as { content: unknown[] };
      return { ...result, content: [...result.content, { type: "text", text: "added" }] };
    };
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }).use(adding));
    front.send(call(1, { size: 20_000 }));
    const [line] = await front.next(1);
    const answer = JSON.parse(line!);
    expect(answer.result.content.map((c: { text: string }) => c.text.length)).toEqual([20_000, 5]);
    expect(line).toBe(JSON.stringify(answer)); // serialized anew, not the backend's bytes
  });

  it("refuses to be changed in place: a middleware that tries gets an error, never a stale answer", async () => {
    const mutating: Middleware = async (_ctx, next) => {
      const result = (await next()) as { content: Array<{ text: string }> };
      result.content[0]!.text = "changed";
      return result;
    };
    const front = await stdioFront(FastMCPProxy.asProxy(BACKEND, { logLevel: "error" }).use(mutating));
    for (const size of [100, 20_000]) {
      front.send(call(size, { size }));
      const answer = JSON.parse((await front.next(1))[0]!);
      expect(answer.error).toMatchObject({ code: -32603, message: expect.stringMatching(/read.only/) });
    }
  });
});

describe("a large result through the CLI on stdio (the production front, logging on)", () => {
  it("is the backend's bytes under the client's id", async () => {
    const child = spawn(process.execPath, [BIN, "--", ...BACKEND], { cwd: ROOT, stdio: ["pipe", "pipe", "ignore"] });
    children.push(child);
    const out = lines(child.stdout!);
    child.stdin!.write(INITIALIZE);
    await out.next(1);
    for (const id of ["p1", 2]) {
      child.stdin!.write(call(id, { size: MIB }));
      expect((await out.next(1))[0]).toBe(expected(id, { size: MIB }));
    }
    child.stdin!.end();
    await until(() => child.exitCode !== null, "the CLI to exit", 10_000);
  });
});

describe("a large result on the HTTP front", () => {
  function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; length: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), length: res.headers["content-length"], body: Buffer.concat(chunks).toString("utf8") }));
      });
      req.setTimeout(15_000, () => req.destroy(new Error("no answer within 15 s")));
      req.on("error", reject);
      req.end(body);
    });
  }

  it("answers in JSON with the backend's bytes under the client's id", async () => {
    proxy = FastMCPProxy.asProxy(BACKEND, { logLevel: "error" });
    const { url } = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })) as { url: string };
    const sessionId = await openSession(url);
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" };
    for (const [id, args] of [["p1", { size: MIB }], [5, { size: 40_000, unicode: true }]] as const) {
      const answer = await post(url, call(id, args), headers);
      expect(answer.type).toBe("application/json");
      expect(answer.body).toBe(expected(id, args));
      expect(Number(answer.length)).toBe(Buffer.byteLength(answer.body));
    }
  });

  it("streams the progress before it, and then the result as the backend's bytes (SSE)", async () => {
    proxy = FastMCPProxy.asProxy(BACKEND, { logLevel: "error" });
    const { url } = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })) as { url: string };
    const sessionId = await openSession(url);
    const answer = await post(url, call("p1", { size: MIB }, { progressToken: 9 }), { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" });
    expect(answer.type).toBe("text/event-stream");
    const data = answer.body.split("\n\n").filter(Boolean).map((event) => event.split("\n").find((line) => line.startsWith("data: "))!.slice(6));
    expect(data.slice(0, 2).map((d) => JSON.parse(d).params)).toEqual([{ progressToken: 9, progress: 1, total: 2 }, { progressToken: 9, progress: 2, total: 2 }]);
    expect(data[2]).toBe(expected("p1", { size: MIB }));
  });

  /** An initialized session on the HTTP front: its id. */
  async function openSession(url: string): Promise<string> {
    const [init, initialized] = INITIALIZE.trim().split("\n");
    const id = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
        res.resume();
        res.on("end", () => resolve(String(res.headers["mcp-session-id"])));
      });
      req.on("error", reject);
      req.end(init);
    });
    expect((await post(url, initialized!, { "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" })).status).toBe(202);
    return id;
  }
});

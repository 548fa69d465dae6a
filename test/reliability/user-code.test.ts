// An exception in user code (middleware, hooks, event listeners) stays inside its request (issue
// 12, H3): that request gets a JSON-RPC error, the others and the process go on. The front is the
// lean stdio transport on in-process pipes (so answers really are serialised), the backend the
// fixture server in process.
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, type AnsweredContext, type AnyProxyContext, type Middleware } from "@fastmcp-proxy/core";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { until } from "../helpers.js";

type Fault = "sync" | "async" | "string" | "undefined" | "after" | "before" | "cycle" | "bigint" | undefined;

/** Which fault the current call asks for: its `text` argument. */
const fault = (ctx: AnyProxyContext): Fault => (ctx.method === "tools/call" ? ((ctx.params.arguments as { text?: Fault } | undefined)?.text) : undefined);

class FaultyProxy extends FastMCPProxy {
  protected override beforeForward(ctx: AnyProxyContext): void {
    if (fault(ctx) === "before") throw new Error("beforeForward threw");
  }
  protected override async afterForward(ctx: AnsweredContext) {
    if (fault(ctx) === "after") throw new Error("afterForward threw");
    return ctx.result;
  }
}

const syncThrower: Middleware = function syncThrower(ctx, next) {
  if (fault(ctx) === "sync") throw new Error("sync middleware threw");
  return next();
};
const asyncThrower: Middleware = async function asyncThrower(ctx, next) {
  const f = fault(ctx);
  await new Promise((resolve) => setImmediate(resolve));
  if (f === "async") throw new Error("async middleware threw");
  if (f === "string") throw "a plain string"; // eslint-disable-line no-throw-literal
  if (f === "undefined") throw undefined; // eslint-disable-line no-throw-literal
  const result = await next();
  if (f === "cycle") {
    const cyclic: Record<string, unknown> = { ...result };
    cyclic.self = cyclic;
    return cyclic as typeof result;
  }
  if (f === "bigint") return { ...result, structuredContent: { n: 10n } } as typeof result;
  return result;
};

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function serve() {
  proxy = FaultyProxy.asProxy(createFixtureServer(), { logLevel: "silent" }).use(syncThrower).use(asyncThrower);
  proxy.on("listChanged", () => {
    throw new Error("a listener threw");
  });
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  await proxy.connect(new StdioFrontTransport(stdin, stdout));
  const answers = new Map<number, Record<string, any>>();
  let pending = "";
  stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let i;
    while ((i = pending.indexOf("\n")) !== -1) {
      const message = JSON.parse(pending.slice(0, i));
      pending = pending.slice(i + 1);
      if (message.id !== undefined) answers.set(message.id, message);
    }
  });
  let id = 0;
  const call = async (text: string) => {
    const mine = ++id;
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: mine, method: "tools/call", params: { name: "echo", arguments: { text } } })}\n`);
    return until(() => answers.get(mine), `the answer to ${text}`);
  };
  stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`);
  await until(() => answers.get(0), "initialize");
  stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  return { call };
}

describe("exceptions in user code stay inside their request", () => {
  it.each([
    ["a synchronous middleware throw", "sync", "sync middleware threw"],
    ["an async middleware throw", "async", "async middleware threw"],
    ["a thrown string", "string", "a plain string"],
    ["a thrown undefined", "undefined", "undefined"],
    ["a throwing afterForward", "after", "afterForward threw"],
    ["a throwing beforeForward", "before", "beforeForward threw"],
  ] as const)("%s: -32603 with its message, and the next call works", async (_what, text, message) => {
    const { call } = await serve();
    expect(await call(text)).toMatchObject({ error: { code: -32603, message: expect.stringContaining(message) } });
    expect(await call("fine")).toMatchObject({ result: { content: [{ text: "fine" }] } });
  });

  it.each([
    ["a cyclic result", "cycle"],
    ["a BigInt in the result", "bigint"],
  ] as const)("%s from a middleware: an error answer, not silence", async (_what, text) => {
    const { call } = await serve();
    expect(await call(text)).toMatchObject({ error: { code: -32603, message: expect.stringContaining("could not be serialised") } });
    expect(await call("fine")).toMatchObject({ result: { content: [{ text: "fine" }] } });
  });

  it("many faults at once, interleaved with good calls: each answered, none lost", async () => {
    const { call } = await serve();
    const texts = Array.from({ length: 60 }, (_, i) => (["sync", "async", "after", "cycle", "ok"] as const)[i % 5]!);
    const answers = await Promise.all(texts.map((t) => call(t)));
    answers.forEach((answer, i) => {
      if (texts[i] === "ok") expect(answer).toMatchObject({ result: { content: [{ text: "ok" }] } });
      else expect(answer.error?.code).toBe(-32603);
    });
  });
});

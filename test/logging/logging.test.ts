import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyError, ProxyErrorCode } from "@fastmcp-proxy/core";
import { fileURLToPath } from "node:url";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { resultJson } from "../fixtures/raw-bytes-server.mjs";
import { connectClient, raw, rejection } from "../helpers.js";
import { createLogger, logging, proxyLogger } from "../../packages/logging/src/index.js";
import { capture, connectAs } from "./helpers.js";

const RAW_SERVER = fileURLToPath(new URL("../fixtures/raw-bytes-server.mjs", import.meta.url));

const proxies: FastMCPProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
function track<T extends FastMCPProxy>(proxy: T): T {
  proxies.push(proxy);
  return proxy;
}

describe("logging middleware on a real proxy", () => {
  it("writes through any RequestLogger: the entry object itself, at the outcome's level, only where that level is on", async () => {
    const seen: Array<{ level: string; entry: Record<string, unknown>; message: string }> = [];
    const ranks: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
    const recorder = (threshold: string) => {
      const at = (level: string) => (entry: Record<string, unknown>, message: string) => void seen.push({ level, entry, message });
      return {
        isLevelEnabled: (level: string) => ranks[level]! >= ranks[threshold]!,
        trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), fatal: at("fatal"),
      };
    };
    const middleware = logging({ logger: recorder("warn") });
    expect(typeof middleware.logger.isLevelEnabled).toBe("function");
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(middleware));
    const client = await connectClient(proxy);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "hello" } });
    await raw(client, "tools/call", { name: "fail", arguments: {} });
    await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    // info is off: the ok call wrote nothing; the tool's failure at warn, the thrown error at error.
    expect(seen.map((s) => [s.level, s.entry.component, s.entry.outcome])).toEqual([
      ["warn", "fail", "isError"],
      ["error", "explode", "error"],
    ]);
    expect(seen[0]!.message).toMatch(/^tools\/call fail isError [\d.]+ms$/);
    expect(seen[1]!.entry).toMatchObject({ method: "tools/call", backend: "backend", code: -32050, error: { code: -32050 } });
  });

  it("writes one JSON line per forwarded request with method, component, backend, outcome, duration and sizes", async () => {
    const out = capture();
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination })));
    const client = await connectClient(proxy);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "hello" } });
    await raw(client, "tools/call", { name: "fail", arguments: {} });
    await raw(client, "tools/list");
    await raw(client, "resources/read", { uri: "fixture://items/42" });
    await raw(client, "prompts/get", { name: "greet", arguments: { who: "bo" } });

    const entries = out.entries();
    expect(entries).toHaveLength(5);
    const [echo, fail, list, read, prompt] = entries;
    expect(echo).toMatchObject({ level: 30, method: "tools/call", kind: "tool", component: "echo", backend: "backend", outcome: "ok", requestId: expect.anything() });
    expect(echo!.durationMs).toBeGreaterThanOrEqual(0);
    expect(echo!.requestBytes).toBe(Buffer.byteLength(JSON.stringify({ name: "echo", arguments: { text: "hello" } })));
    expect(echo!.responseBytes).toBeGreaterThan(50);
    expect(echo).not.toHaveProperty("params");
    expect(echo).not.toHaveProperty("result");
    expect(fail).toMatchObject({ level: 40, component: "fail", outcome: "isError" });
    expect(list).toMatchObject({ method: "tools/list", outcome: "ok" });
    expect(list).not.toHaveProperty("component");
    expect(read).toMatchObject({ method: "resources/read", kind: "template", component: "fixture://items/{id}", backend: "backend" });
    expect(prompt).toMatchObject({ method: "prompts/get", kind: "prompt", component: "greet", outcome: "ok" });
  });

  it("logs a backend error with its code and backend, then rethrows it unchanged", async () => {
    const out = capture();
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination })));
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    expect(error.code).toBe(-32050);
    expect(error.data).toEqual({ detail: "fixture" });
    const unknown = await rejection(raw(client, "tools/call", { name: "nope", arguments: {} }));
    expect(unknown.code).toBe(-32602);

    const [exploded, missing] = out.entries();
    expect(exploded).toMatchObject({
      level: 50,
      method: "tools/call",
      component: "explode",
      backend: "backend",
      outcome: "error",
      code: -32050,
      error: { code: -32050, message: "exploded on purpose", data: { detail: "fixture" } },
    });
    expect(exploded).not.toHaveProperty("responseBytes");
    expect(missing).toMatchObject({ outcome: "error", code: -32602, error: { message: 'Unknown tool: "nope"' } });
  });

  it("names the principal of an authenticated front, and never its token", async () => {
    const out = capture();
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination })));
    const client = await connectAs(proxy, { token: "tok-abcdef-123", clientId: "alice", scopes: ["tools"] });
    await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(out.entries()).toMatchObject([{ principal: "alice", outcome: "ok" }]);
    expect(out.text()).not.toContain("tok-abcdef-123");
  });

  it("observes errors thrown by inner middleware the same way (observe, never swallow)", async () => {
    const out = capture();
    const proxy = track(
      FastMCPProxy.asProxy(createFixtureServer())
        .use(logging({ destination: out.destination }))
        .use("tools/call", async () => {
          throw new ProxyError(ProxyErrorCode.Forbidden, "not for you");
        }),
    );
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "echo", arguments: { text: "x" } }));
    expect(error.code).toBe(ProxyErrorCode.Forbidden);
    expect(out.entries()).toMatchObject([{ outcome: "error", code: ProxyErrorCode.Forbidden, component: "echo", error: { message: "not for you" } }]);
  });

  it("logs only the methods asked for, at the levels asked for", async () => {
    const out = capture();
    const proxy = track(
      FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination, methods: ["tools/call"], levels: { ok: "debug" }, level: "debug" })),
    );
    const client = await connectClient(proxy);
    await raw(client, "tools/list");
    await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(out.entries()).toMatchObject([{ level: 20, method: "tools/call" }]);
  });

  it("writes a readable pretty line for terminals", async () => {
    const out = capture();
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination, format: "pretty", colors: false })));
    const client = await connectClient(proxy);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    const lines = out.text().trimEnd().split("\n");
    // Every front session has an id (an in-memory one, one the proxy made), shortened.
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  tools\/call echo ← backend ok [\d.]+ms \d+B→\d+B session=\w{8}…$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR tools\/call explode ← backend error -32050 [\d.]+ms \d+B "exploded on purpose" session=\w{8}…$/);
  });
});

describe("hostile payloads through a real proxy", () => {
  it("logs huge and deeply nested params and results with bounded size and depth, and forwards them whole", async () => {
    const out = capture();
    const huge = "h".repeat(8 * 1024 * 1024);
    let deep: Record<string, unknown> = { bottom: "yes" };
    for (let i = 0; i < 50_000; i++) deep = { d: deep };
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, "v".repeat(100)]));
    const proxy = track(FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination, params: true, result: true })));
    const client = await connectClient(proxy);

    const result = await raw(client, "tools/call", { name: "echo", arguments: { text: huge, deep, wide } });
    expect(result.content[0].text).toHaveLength(huge.length);

    const [entry] = out.entries();
    expect(out.lines[0]!.length).toBeLessThan(64 * 1024);
    expect(entry!.outcome).toBe("ok");
    expect(entry!.requestBytes).toBeGreaterThan(huge.length);
    expect(entry!.responseBytes).toBeGreaterThan(2 * huge.length);
    expect(entry!.params.arguments.text).toMatch(/^h{1000}…\[\+\d+ chars\]$/);
    expect(JSON.stringify(entry!.params.arguments.deep)).toContain('"[Object]"');
    expect(entry!.params.arguments.wide["…"]).toMatch(/more keys|Truncated/);
    expect(entry!.result.content[0].text).toMatch(/…\[\+\d+ chars\]$/);
  });

  it("sizes a large backend result by the bytes it came in, without parsing it", async () => {
    const out = capture();
    const backend = { command: process.execPath, args: [RAW_SERVER] };
    const proxy = track(FastMCPProxy.asProxy(backend, { logLevel: "error" }).use(logging({ destination: out.destination })));
    const client = await connectClient(proxy);
    const args = { size: 100_000, unicode: true };
    await raw(client, "tools/call", { name: "big", arguments: args });
    // Exact: the backend's own spaces and escapes, which a size of the parsed result cannot know.
    expect(out.entries()[0]!.responseBytes).toBe(Buffer.byteLength(resultJson(args)));
  });

  it("logs a cyclic result made by an inner middleware without a crash", async () => {
    const out = capture();
    const proxy = track(
      FastMCPProxy.asProxy(createFixtureServer())
        // outermost: takes the cycle out again before the SDK sends the answer
        .use("tools/call", async (_ctx, next) => {
          const { debugLoop: _, ...result } = (await next()) as Record<string, unknown>;
          return result as never;
        })
        .use(logging({ destination: out.destination, result: true }))
        .use("tools/call", async (_ctx, next) => {
          const loop: Record<string, unknown> = { name: "loop" };
          loop.self = loop;
          return { ...(await next()), debugLoop: loop };
        }),
    );
    const client = await connectClient(proxy);
    const result = await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } });
    expect(result.content[0].text).toBe("x");
    const [entry] = out.entries();
    expect(entry!.result.debugLoop).toEqual({ name: "loop", self: "[Circular]" });
    expect(entry!.responseBytes).toBeGreaterThan(0);
  });
});

describe("redaction: a planted secret never reaches the log", () => {
  /** A backend that repeats what it is given everywhere it can: results, _meta, error messages and error data. */
  function createLeakyServer() {
    const server = new Server({ name: "leaky", version: "1.0.0" }, { capabilities: { tools: {} } });
    server.fallbackRequestHandler = async (request) => {
      const params = (request.params ?? {}) as { name?: string; arguments?: Record<string, any>; _meta?: unknown };
      if (request.method === "tools/list") {
        return { tools: ["reveal", "reject"].map((name) => ({ name, inputSchema: { type: "object" } })) };
      }
      const args = params.arguments ?? {};
      const key = String(args.apiKey);
      if (params.name === "reveal") {
        return {
          content: [{ type: "text", text: `your key is ${key}; headers were ${JSON.stringify(args.headers)}` }],
          structuredContent: { echoedKey: key, nested: { deeper: [`k=${key}`] } },
          _meta: { seen: params._meta ?? null, leaked: key },
        };
      }
      throw new McpError(-32050, `upstream rejected key ${key} (Authorization: Bearer ${key})`, { apiKey: key, detail: `sent ${key}`, cookie: `sid=${key}` });
    };
    return server;
  }

  it("scrubs it from arguments, authInfo headers, _meta, results, error messages and error data, in every format", async () => {
    const SECRET = `sk-live-${randomUUID()}`;
    const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${randomUUID().replaceAll("-", "")}`;
    const json = capture();
    const pretty = capture();
    const diagnostics = capture();
    const options = {
      level: "debug" as const,
      params: true,
      result: true,
      redact: { paths: ["arguments.text", "arguments.profile.secretAnswer"] },
    };
    const authInfo = {
      token: SECRET,
      clientId: "alice",
      scopes: ["tools"],
      extra: { headers: { authorization: `Bearer ${SECRET}`, cookie: `theme=dark; session=${SECRET}`, "x-api-key": SECRET } },
    };
    const everywhere = (proxy: FastMCPProxy) =>
      proxy.use(logging({ ...options, destination: json.destination })).use(logging({ ...options, destination: pretty.destination, format: "pretty", colors: false }));
    const diagnosticLogger = proxyLogger(createLogger({ level: "debug", destination: diagnostics.destination }));

    // The fixture: its echo repeats the text argument in content and structuredContent, and the request's _meta in the result's _meta.
    const fixture = track(everywhere(FastMCPProxy.asProxy(createFixtureServer(), { logger: diagnosticLogger })));
    // An inner middleware (an auth check, say) that fails quoting the secret.
    fixture.use("prompts/get", async () => {
      throw new ProxyError(ProxyErrorCode.Unauthorized, `token ${SECRET} is not accepted`, { token: SECRET, header: `Bearer ${SECRET}` });
    });
    const fixtureClient = await connectAs(fixture, authInfo);
    await raw(fixtureClient, "tools/call", {
      name: "echo",
      arguments: { text: SECRET, apiKey: SECRET, password: SECRET, profile: { secretAnswer: SECRET, city: "Oslo" }, note: `Bearer ${SECRET}`, jwt: JWT },
      _meta: { "example.com/token": SECRET, authorization: `Bearer ${SECRET}`, progressToken: "p1", cookie: `sid=${SECRET}` },
    });
    await rejection(raw(fixtureClient, "prompts/get", { name: "greet", arguments: { who: "bo" } }));

    // The leaky backend: the secret comes back in results, _meta, error messages and error data.
    const leaky = track(everywhere(FastMCPProxy.asProxy(createLeakyServer(), { logger: diagnosticLogger })));
    const leakyClient = await connectAs(leaky, authInfo);
    const revealed = await raw(leakyClient, "tools/call", {
      name: "reveal",
      arguments: { apiKey: SECRET, headers: { Authorization: `Bearer ${SECRET}`, Cookie: `sid=${SECRET}` } },
      _meta: { "example.com/token": SECRET },
    });
    expect(JSON.stringify(revealed)).toContain(SECRET); // the client gets the real answer; only the log is scrubbed
    const rejected = await rejection(raw(leakyClient, "tools/call", { name: "reject", arguments: { apiKey: SECRET } }));
    expect(rejected.message).toContain(SECRET);

    const all = json.text() + pretty.text() + diagnostics.text();
    expect(json.entries()).toHaveLength(4);
    expect(pretty.text().split("\n").filter((l) => /^\d\d:/.test(l))).toHaveLength(4);
    for (const fragment of [SECRET, SECRET.slice(8), JWT, JWT.split(".")[2]!]) expect(all).not.toContain(fragment);

    // ...while everything that is not secret is still there
    const [echo, denied, reveal, reject] = json.entries();
    expect(echo).toMatchObject({
      principal: "alice",
      params: {
        arguments: { text: "[REDACTED]", apiKey: "[REDACTED]", password: "[REDACTED]", profile: { secretAnswer: "[REDACTED]", city: "Oslo" }, note: expect.stringMatching(/^(Bearer )?\[REDACTED\]$/), jwt: "[REDACTED]" },
        _meta: { progressToken: "p1", "example.com/token": "[REDACTED]", authorization: "[REDACTED]", cookie: "[REDACTED]" },
      },
      result: { content: [{ text: "[REDACTED]" }], structuredContent: { echoed: "[REDACTED]" } },
    });
    expect(denied).toMatchObject({ code: ProxyErrorCode.Unauthorized, error: { message: "token [REDACTED] is not accepted", data: { token: "[REDACTED]", header: "[REDACTED]" } } });
    expect(reveal!.result.content[0].text).toContain("your key is [REDACTED]");
    // The backend saw the client's _meta (no progress token: the client asked for none).
    expect(reveal!.result._meta).toEqual({ seen: { "example.com/token": "[REDACTED]" }, leaked: "[REDACTED]" });
    expect(reject).toMatchObject({ code: -32050, error: { message: expect.stringMatching(/^upstream rejected key \[REDACTED\] \(Authorization: (Bearer )?\[REDACTED\]\)$/), data: { apiKey: "[REDACTED]", detail: "sent [REDACTED]", cookie: "[REDACTED]" } } });
  });
});

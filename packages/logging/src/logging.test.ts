import type { ProxyContext } from "@fastmcp-proxy/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, logging, proxyLogger } from "./logging.js";
import { formatLine } from "./pretty.js";
import { Redaction } from "./redact.js";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) }, entries: () => lines.map((l) => JSON.parse(l)) };
}

/** A context as the proxy builds it, for calling the middleware directly. */
function context(params: unknown, extra: Partial<ProxyContext> = {}): ProxyContext<"tools/call"> {
  return {
    method: "tools/call",
    params,
    component: { kind: "tool", name: "echo", backend: { name: "backend" } },
    sessionId: "s-1",
    requestId: 7,
    authInfo: undefined,
    signal: new AbortController().signal,
    state: {},
    ...extra,
  } as unknown as ProxyContext<"tools/call">;
}

afterEach(() => vi.restoreAllMocks());

describe("logging, off the hot path", () => {
  it("does no work at all when the level excludes every request line", async () => {
    const out = capture();
    const mw = logging({ level: "silent", destination: out.destination, params: true, result: true });
    let touched = 0;
    const params = new Proxy({ name: "echo" }, { get: (t, k) => (touched++, Reflect.get(t, k)), ownKeys: (t) => (touched++, Reflect.ownKeys(t)) });
    const now = vi.spyOn(performance, "now");
    const result = Promise.resolve({ content: [] });
    const returned = mw(context(params), () => result);
    // next's own promise, untouched: no clock read, no params read, no wrapper
    expect(returned).toBe(result);
    await returned;
    expect(now).not.toHaveBeenCalled();
    expect(touched).toBe(0);
    expect(out.lines).toHaveLength(0);
  });

  it("also passes through when only a lower level than its lines is off (warn logger, info lines)", async () => {
    const out = capture();
    const mw = logging({ level: "warn", destination: out.destination, levels: { ok: "info", isError: "warn", error: "error" } });
    await mw(context({ name: "echo" }), async () => ({ content: [] }));
    expect(out.lines).toHaveLength(0);
    await mw(context({ name: "echo" }), async () => ({ content: [], isError: true }));
    expect(out.entries()).toMatchObject([{ level: 40, outcome: "isError" }]);
  });

  it("follows the logger's level when it changes at run time", async () => {
    const out = capture();
    const mw = logging({ level: "silent", destination: out.destination });
    await mw(context({}), async () => ({ content: [] }));
    mw.logger.level = "info";
    await mw(context({}), async () => ({ content: [] }));
    expect(out.lines).toHaveLength(1);
  });
});

describe("logging, with hostile payloads", () => {
  it("logs cyclic and deeply nested params and results, bounded, and returns the result untouched", async () => {
    const out = capture();
    const mw = logging({ destination: out.destination, params: true, result: true });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { bottom: true };
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const result = { content: [], structuredContent: { cyclic, deep } };
    expect(await mw(context({ name: "echo", arguments: { cyclic, deep } }), async () => result)).toBe(result);
    const [entry] = out.entries();
    expect(entry.params.arguments.cyclic.self).toBe("[Circular]");
    expect(entry.result.structuredContent.cyclic.self).toBe("[Circular]");
    expect(JSON.stringify(entry.params)).toContain("[Object]");
    expect(entry.requestBytes).toBeGreaterThan(100_000);
    expect(out.lines[0]!.length).toBeLessThan(64 * 1024);
  });

  it("a broken destination or a throwing principal never breaks the request", async () => {
    const mw = logging({
      destination: { write: () => { throw new Error("disk full"); } },
      principal: () => { throw new Error("bad principal"); },
    });
    const result = { content: [] };
    await expect(mw(context({}), async () => result)).resolves.toBe(result);
    const failure = new Error("upstream");
    await expect(mw(context({}), async () => { throw failure; })).rejects.toBe(failure);
  });

  it("logs and rethrows an inner step that throws synchronously instead of rejecting", async () => {
    const out = capture();
    const mw = logging({ destination: out.destination });
    const failure = Object.assign(new Error("Unknown tool"), { code: -32602 });
    await expect(mw(context({}), () => { throw failure; })).rejects.toBe(failure);
    expect(out.entries()).toMatchObject([{ outcome: "error", code: -32602, error: { code: -32602, message: "Unknown tool" } }]);
  });
});

describe("proxyLogger", () => {
  it("writes the proxy's own diagnostics through pino, scrubbed", () => {
    const out = capture();
    const log = proxyLogger(createLogger({ level: "debug", destination: out.destination }));
    log.warn("backend http://user:pa55word@example.test/mcp?token=abc123 left out", { headers: { authorization: "Bearer zzzzzz" }, attempt: 2 });
    log.debug("fine");
    const text = out.lines.join("");
    expect(text).not.toContain("pa55word");
    expect(text).not.toContain("abc123");
    expect(text).not.toContain("zzzzzz");
    expect(out.entries()).toMatchObject([{ level: 40, attempt: 2, headers: { authorization: "[REDACTED]" } }, { level: 20, msg: "fine" }]);
  });
});

describe("credential patterns", () => {
  it("scrub URL credentials and query secrets, keeping the sentence around them", () => {
    const rules = new Redaction();
    expect(rules.scrubPatterns("Backend (http://alice:pw1234@h:1/mcp?key=abc123) is unavailable: see http://h/x?token=zz99: check it.")).toBe(
      "Backend (http://[REDACTED]@h:1/mcp?key=[REDACTED]) is unavailable: see http://h/x?token=[REDACTED]: check it.",
    );
    expect(rules.scrubPatterns("https://ghp_tok3n@git.example/x.git and ?api_key=a.b:c&n=1")).toBe("https://[REDACTED]@git.example/x.git and ?api_key=[REDACTED]&n=1");
  });
});

describe("pretty format", () => {
  it("prints one readable line a request", async () => {
    const out = capture();
    const mw = logging({ format: "pretty", colors: false, destination: out.destination, params: true });
    await mw(context({ name: "echo", arguments: { text: "hi" } }, { authInfo: { token: "t", clientId: "alice", scopes: [] } }), async () => ({ content: [] }));
    await expect(mw(context({ name: "echo" }), async () => { throw Object.assign(new Error("MCP error -32050: exploded"), { code: -32050 }); })).rejects.toThrow("exploded");
    const [ok, failed] = out.lines.join("").trimEnd().split(/\n(?! )/);
    expect(ok).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  tools\/call echo ← backend ok [\d.]+ms \d+B→\d+B session=s-1 principal=alice\n    params: \{"name":"echo","arguments":\{"text":"hi"\}\}$/);
    expect(failed).toMatch(/ERROR tools\/call echo ← backend error -32050 [\d.]+ms \d+B "exploded"/);
  });

  it("colours when asked, and leaves lines that are not JSON alone", () => {
    expect(formatLine('{"level":30,"time":0,"msg":"hello","extra":1}', true)).toContain("\x1b[32mINFO \x1b[0m hello");
    expect(formatLine("not json")).toBe("not json");
  });
});

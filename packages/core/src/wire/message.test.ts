import { describe, expect, it } from "vitest";
import { checkMessage, isJsonRpcMessage, parseJson, readMessage } from "./message.js";

const nest = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("the envelope check", () => {
  it("classifies requests, notifications, results and errors", () => {
    expect(checkMessage({ jsonrpc: "2.0", id: 1, method: "ping" }).message).toBeDefined();
    expect(checkMessage({ jsonrpc: "2.0", method: "notifications/initialized" }).message).toBeDefined();
    expect(checkMessage({ jsonrpc: "2.0", id: "a", result: {} }).message).toBeDefined();
    expect(checkMessage({ jsonrpc: "2.0", id: 1, error: { code: -1, message: "no" } }).message).toBeDefined();
  });

  it("refuses bad ids, bad members and bad params with the documented codes", () => {
    expect(checkMessage({ jsonrpc: "2.0", id: 1.5, method: "x" }).error?.error.code).toBe(-32600);
    expect(checkMessage({ jsonrpc: "2.0", id: null, method: "x" }).error?.error.code).toBe(-32600);
    expect(checkMessage({ jsonrpc: "2.0", result: {} }).error?.error.code).toBe(-32600);
    expect(checkMessage({ jsonrpc: "2.0", id: 1, method: "x", extra: 1 }).error?.error.message).toBe('Invalid Request: unexpected member "extra"');
    expect(checkMessage({ jsonrpc: "2.0", id: 1, method: "x", params: [] }).error?.error).toEqual({ code: -32602, message: "Invalid params: params must be an object" });
    expect(checkMessage({ jsonrpc: "1.0", id: 3, method: "x" }).error).toMatchObject({ id: 3, error: { code: -32600 } });
  });

  it("refuses what the SDK's schema would drop unanswered: ids past 2^53, and a _meta with a progress token or related task of the wrong type", () => {
    expect(checkMessage({ jsonrpc: "2.0", id: 2 ** 53 + 2, method: "ping" }).error).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: id must be a string or a safe integer" } });
    expect(checkMessage({ jsonrpc: "2.0", id: 2 ** 53 - 1, method: "ping" }).message).toBeDefined();
    for (const progressToken of [true, 1.5, null, {}, []]) {
      expect(checkMessage({ jsonrpc: "2.0", id: 7, method: "ping", params: { _meta: { progressToken } } }).error).toEqual({ jsonrpc: "2.0", id: 7, error: { code: -32602, message: "Invalid params: _meta.progressToken must be a string or an integer" } });
    }
    for (const task of [5, {}, { taskId: 1 }]) {
      expect(checkMessage({ jsonrpc: "2.0", method: "notifications/progress", params: { _meta: { "io.modelcontextprotocol/related-task": task } } }).error?.error.code).toBe(-32602);
    }
    expect(checkMessage({ jsonrpc: "2.0", id: 8, method: "ping", params: { _meta: { progressToken: "p", "io.modelcontextprotocol/related-task": { taskId: "t" }, other: true } } }).message).toBeDefined();
    expect(checkMessage({ jsonrpc: "2.0", id: 9, method: "ping", params: { _meta: { progressToken: 0 } } }).message).toBeDefined();
    // A result too: a client's SDK would drop it and wait for ever.
    expect(checkMessage({ jsonrpc: "2.0", id: 3, result: { content: [], _meta: { progressToken: true } } }).error).toEqual({ jsonrpc: "2.0", id: 3, error: { code: -32600, message: "Invalid Request: result._meta.progressToken must be a string or an integer" } });
    expect(checkMessage({ jsonrpc: "2.0", id: 3, result: { _meta: 5 } }).error?.error.message).toBe("Invalid Request: result._meta must be an object");
    expect(checkMessage({ jsonrpc: "2.0", id: 3, result: { _meta: { "example.com/x": 1 } } }).message).toBeDefined();
  });

  it("bounds the depth of params (-32602) and of a whole message (-32600), scanning large text before parsing", () => {
    expect(readMessage(Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"x","params":${nest(63)}}`)).message).toBeDefined();
    expect(readMessage(Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"x","params":${nest(64)}}`)).error?.error.code).toBe(-32602);
    expect(readMessage(Buffer.from(`{"jsonrpc":"2.0","id":1,"result":${nest(64)}}`)).error?.error.code).toBe(-32600);
    const large = Buffer.from(`{"pad":"${"x".repeat(20_000)}","v":${nest(100)}}`);
    expect(parseJson(large).error?.error.message).toMatch(/deeper than 64/);
  });

  it("walks for depth only what could nest too deep: d levels take at least 2d bytes", () => {
    expect(parseJson(Buffer.from("[[[]]]"), 3)).toMatchObject({ depthChecked: true });
    expect(parseJson(Buffer.from("[[[[]]]]"), 3)).toMatchObject({ depthChecked: false }); // 4 levels in 8 bytes: walked
    expect(readMessage(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":{"b":{}}}}'), 3).error?.error.code).toBe(-32602);
  });

  it("refuses invalid UTF-8 and invalid JSON with -32700", () => {
    expect(parseJson(Buffer.from([0x7b, 0xff, 0x7d])).error?.error.message).toBe("Parse error: invalid UTF-8");
    expect(parseJson(Buffer.from("{")).error?.error.message).toBe("Parse error: invalid JSON");
  });

  it("as a predicate (for readers that report rather than answer), takes any depth", () => {
    expect(isJsonRpcMessage(JSON.parse(`{"jsonrpc":"2.0","id":1,"result":${nest(200)}}`))).toBe(true);
    expect(isJsonRpcMessage({ jsonrpc: "2.0", id: 1 })).toBe(false);
    expect(isJsonRpcMessage([{ jsonrpc: "2.0", method: "x" }])).toBe(false);
  });
});

// The small pieces of the eras work on their own: the era classifier (against the v2 SDK's own),
// the requestState codec, the x-mcp-header rules, and the fast path's checks.
import type { IncomingMessage } from "node:http";
import { classifyInboundRequest, isLegacyRequest } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { isModernRequest, RequestStateCodec, RequestStateError } from "../../packages/core/src/eras/index.js";
import { isPlainRequest } from "../../packages/core/src/eras/direct.js";
import { isFastRequest } from "../../packages/core/src/eras/lanes.js";
import { ListedSchemas, paramHeadersOf, paramHeaderValues } from "../../packages/core/src/eras/param-headers.js";
import type { Front } from "../../packages/core/src/eras/requests.js";
import { ENVELOPE } from "./harness.js";

const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers }) as unknown as IncomingMessage;

describe("isModernRequest", () => {
  const cases: Array<[string, string, Record<string, string>, unknown]> = [
    ["initialize", "POST", { "mcp-protocol-version": "2025-11-25" }, { jsonrpc: "2.0", id: 1, method: "initialize", params: {} }],
    ["legacy call in a session", "POST", { "mcp-protocol-version": "2025-06-18", "mcp-session-id": "s" }, { jsonrpc: "2.0", id: 2, method: "tools/list" }],
    ["no header, no claim", "POST", {}, { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} }],
    ["2026 request", "POST", { "mcp-protocol-version": "2026-07-28" }, { jsonrpc: "2.0", id: 4, method: "tools/list", params: { _meta: ENVELOPE } }],
    ["2026 header, _meta missing", "POST", { "mcp-protocol-version": "2026-07-28" }, { jsonrpc: "2.0", id: 5, method: "server/discover", params: {} }],
    ["claim without header", "POST", {}, { jsonrpc: "2.0", id: 6, method: "tools/list", params: { _meta: ENVELOPE } }],
    ["unknown future version", "POST", { "mcp-protocol-version": "2099-01-01" }, { jsonrpc: "2.0", id: 7, method: "tools/list", params: { _meta: ENVELOPE } }],
    ["GET stream", "GET", { "mcp-session-id": "s" }, undefined],
    ["an old version header, no claim", "POST", { "mcp-protocol-version": "1999-01-01" }, { jsonrpc: "2.0", id: 8, method: "tools/list", params: {} }],
  ];
  for (const [label, method, headers, body] of cases) {
    it(`${label}: agrees with the v2 SDK's classification`, async () => {
      const request = new Request("http://127.0.0.1/mcp", {
        method,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(isModernRequest(req(method, headers), body)).toBe(!(await isLegacyRequest(request, body)));
    });
  }
});

it("isModernRequest: a request on a legacy session stays legacy, whatever its version header", () => {
  const body = { jsonrpc: "2.0", id: 9, method: "tools/list", params: {} };
  expect(isModernRequest(req("POST", { "mcp-session-id": "s", "mcp-protocol-version": "1999-01-01" }), body)).toBe(false);
  expect(isModernRequest(req("POST", { "mcp-session-id": "s", "mcp-protocol-version": "2026-07-28" }), body)).toBe(false);
  expect(isModernRequest(req("POST", { "mcp-protocol-version": "garbage" }), body)).toBe(false);
});

describe("RequestStateCodec", () => {
  const codec = new RequestStateCodec({ key: "k".repeat(32), ttlMs: 1000 });
  it("opens what it minted, for the same identity, before expiry", () => {
    const state = codec.mint({ id: "a", round: 1 }, "user:1", 0);
    expect(codec.open(state, "user:1", 500)).toEqual({ id: "a", round: 1 });
  });
  it("refuses another identity, expiry, tampering, another key, and foreign formats", () => {
    const state = codec.mint({ id: "a", round: 1 }, "user:1", 0);
    expect(() => codec.open(state, "user:2", 0)).toThrow(RequestStateError);
    expect(() => codec.open(state, undefined, 0)).toThrow(RequestStateError);
    expect(() => codec.open(state, "user:1", 1001)).toThrow(/expired/);
    const [p, sealed] = state.split(".");
    const flipped = Buffer.from(sealed!, "base64url");
    flipped[flipped.length - 1]! ^= 1;
    expect(() => codec.open(`${p}.${flipped.toString("base64url")}`, "user:1", 0)).toThrow(/integrity/);
    expect(() => new RequestStateCodec({ key: "x".repeat(32) }).open(state, "user:1", 0)).toThrow(/integrity/);
    expect(() => codec.open(`${p}.${sealed}.x`, "user:1", 0)).toThrow(RequestStateError);
    expect(() => codec.open(`${p}.`, "user:1", 0)).toThrow(RequestStateError);
    expect(() => codec.open("opaque-backend-state", "user:1", 0)).toThrow(RequestStateError);
  });
  it("shows no one what it carries", () => {
    const state = codec.mint({ answer: "the secret word" }, "user:1", 0);
    const readable = state.split(".").map((part) => Buffer.from(part, "base64url").toString("latin1")).join(" ");
    expect(readable).not.toContain("secret");
  });
  it("refuses a key shorter than 32 bytes", () => {
    expect(() => new RequestStateCodec({ key: "short" })).toThrow(RangeError);
  });
});

describe("x-mcp-header", () => {
  const tool = (properties: Record<string, unknown>) => ({ name: "t", inputSchema: { type: "object", properties } });
  it("maps annotated string, integer and boolean arguments, encoding unsafe values", () => {
    const headers = paramHeadersOf(tool({ region: { type: "string", "x-mcp-header": "Region" }, n: { type: "integer", "x-mcp-header": "N" }, q: { type: "string" } }))!;
    expect([...headers]).toEqual([["region", "Region"], ["n", "N"]]);
    expect(paramHeaderValues(headers, { region: "us west", n: 42, q: "x" })).toEqual({ "mcp-param-region": "us west", "mcp-param-n": "42" });
    expect(paramHeaderValues(headers, { region: " padded", n: null })).toEqual({ "mcp-param-region": `=?base64?${Buffer.from(" padded").toString("base64")}?=` });
    expect(paramHeaderValues(headers, { region: "世界" })["mcp-param-region"]).toBe(`=?base64?${Buffer.from("世界").toString("base64")}?=`);
  });
  it("rejects empty, non-token, non-primitive, number-typed and duplicate annotations", () => {
    for (const bad of [
      { v: { type: "string", "x-mcp-header": "" } },
      { v: { type: "string", "x-mcp-header": "My Region" } },
      { v: { type: "string", "x-mcp-header": "A:B" } },
      { v: { type: "string", "x-mcp-header": "Région" } },
      { v: { type: "object", "x-mcp-header": "V" } },
      { v: { type: "number", "x-mcp-header": "V" } },
      { a: { type: "string", "x-mcp-header": "Same" }, b: { type: "string", "x-mcp-header": "same" } },
    ]) {
      expect(paramHeadersOf(tool(bad)), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe("the fast path's checks", () => {
  const front = { host: { capabilities: { tools: {}, prompts: {}, resources: {} } }, schemas: new ListedSchemas() } as unknown as Front;
  const headers = (method: string) => ({ "content-type": "application/json", "mcp-protocol-version": "2026-07-28", "mcp-method": method });
  const list = (meta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta }, ...extra });
  const bodies: Array<[string, Record<string, unknown>]> = [
    ["the envelope", list(ENVELOPE)],
    ["a progress token that is not one", list({ ...ENVELOPE, progressToken: {} })],
    ["a progress token", list({ ...ENVELOPE, progressToken: 7 })],
    ["clientInfo null", list({ ...ENVELOPE, "io.modelcontextprotocol/clientInfo": null })],
    ["no clientInfo", list({ ...ENVELOPE, "io.modelcontextprotocol/clientInfo": undefined })],
    ["a log level that is not one", list({ ...ENVELOPE, "io.modelcontextprotocol/logLevel": "loud" })],
    ["a log level", list({ ...ENVELOPE, "io.modelcontextprotocol/logLevel": "info" })],
    ["capabilities not an object", list({ ...ENVELOPE, "io.modelcontextprotocol/clientCapabilities": 5 })],
    ["another reserved key", list({ ...ENVELOPE, "io.modelcontextprotocol/related-task": 5 })],
    ["a fractional id", list(ENVELOPE, { id: 1.5 })],
    ["a member JSON-RPC does not have", list(ENVELOPE, { extra: true })],
    ["jsonrpc 1.0", list(ENVELOPE, { jsonrpc: "1.0" })],
  ];
  // Twice: the second time the verdicts remembered per envelope answer, and must still agree.
  for (const round of [1, 2]) {
    for (const [label, body] of bodies) {
      it(`${label} (round ${round}): fast only when the SDK's classifier says 2026-07-28`, () => {
        const sent = JSON.parse(JSON.stringify(body));
        const route = classifyInboundRequest({ httpMethod: "POST", protocolVersionHeader: "2026-07-28", mcpMethodHeader: "tools/list", body: sent });
        const modern = route.kind === "modern" && route.messageKind === "request" && route.classification.revision === "2026-07-28";
        expect(isFastRequest(front, req("POST", headers("tools/list")), sent)).toBe(modern);
      });
    }
  }

  const request = (method: string, params: Record<string, unknown>) => ({ id: 1, method, params: { _meta: ENVELOPE, ...params } });
  it("plain params are answered directly; anything the SDK would check, strip or carry over goes its way", () => {
    expect(isPlainRequest(request("tools/call", { name: "echo", arguments: { a: 1 } }))).toBe(true);
    expect(isPlainRequest(request("tools/call", { name: "echo" }))).toBe(true);
    expect(isPlainRequest(request("prompts/get", { name: "greet", arguments: { who: "Ann" } }))).toBe(true);
    expect(isPlainRequest(request("resources/read", { uri: "fixture://x" }))).toBe(true);
    expect(isPlainRequest(request("tools/list", { cursor: "c" }))).toBe(true);
    expect(isPlainRequest(request("tools/call", { name: "echo", arguments: [] }))).toBe(false);
    expect(isPlainRequest(request("tools/call", { name: "echo", future: 1 }))).toBe(false);
    expect(isPlainRequest(request("tools/call", { name: "echo", requestState: "s" }))).toBe(false);
    expect(isPlainRequest(request("tools/call", { name: "echo", inputResponses: {} }))).toBe(false);
    expect(isPlainRequest(request("tools/call", JSON.parse('{"name":"echo","__proto__":{}}')))).toBe(false);
    expect(isPlainRequest(request("prompts/get", { name: "greet", arguments: { who: 5 } }))).toBe(false);
    expect(isPlainRequest(request("tools/list", { cursor: 5 }))).toBe(false);
    expect(isPlainRequest(request("completion/complete", { ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "" } }))).toBe(false);
  });
});

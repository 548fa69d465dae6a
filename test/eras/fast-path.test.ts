// The 2026-07-28 fast path (eras/lanes.ts) answers exactly as the v2 SDK's per-request entry does: the
// same requests, well-formed and not, go to a proxy with it and to one without it (`fastPath: false`),
// and the status, content type and body of every answer must be the same, byte for byte.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";

const VERSION = "2026-07-28";
const meta = (extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": VERSION,
  "io.modelcontextprotocol/clientInfo": { name: "fast-path-test", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {},
  ...extra,
});

interface Case {
  name: string;
  body: unknown;
  headers?: Record<string, string | undefined>;
}

/** The headers a 2026 client sends for `body`, with `overrides` (undefined removes one). */
function headersFor(body: unknown, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const message = body as { method?: string; params?: { name?: unknown; uri?: unknown } };
  const name = message.params?.name ?? message.params?.uri;
  const headers: Record<string, string | undefined> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
    "mcp-method": message.method,
    ...(typeof name === "string" && { "mcp-name": name }),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function post(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("no answer in 10 s")));
    req.on("error", reject);
    req.end(typeof body === "string" ? body : JSON.stringify(body));
  });
}

const call = (id: number | string, method: string, params: Record<string, unknown>, metaExtra?: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method,
  params: { ...params, _meta: meta(metaExtra) },
});

const CASES: Case[] = [
  { name: "tools/call", body: call(1, "tools/call", { name: "echo", arguments: { text: "hi" } }) },
  { name: "tools/call, string id", body: call("a-1", "tools/call", { name: "echo", arguments: { text: "hi" } }) },
  { name: "tools/call, isError", body: call(2, "tools/call", { name: "fail", arguments: {} }) },
  { name: "tools/call, the backend's JSON-RPC error", body: call(3, "tools/call", { name: "explode", arguments: {} }) },
  { name: "tools/call, unknown tool", body: call(4, "tools/call", { name: "nope", arguments: {} }) },
  { name: "tools/call, arguments not an object", body: call(5, "tools/call", { name: "echo", arguments: "text" }) },
  { name: "tools/call, no name", body: call(6, "tools/call", { arguments: {} }) },
  { name: "tools/call, progress (a stream)", body: call(7, "tools/call", { name: "slow", arguments: { ms: 40 } }, { progressToken: "p-1" }) },
  { name: "tools/call, unknown fields kept", body: call(8, "tools/call", { name: "echo", arguments: { text: "x" }, future: { a: 1 } }, { "example.com/x": 1 }) },
  { name: "tools/call, a requestState not the proxy's", body: call(9, "tools/call", { name: "echo", arguments: { text: "x" }, requestState: "opaque" }) },
  { name: "tools/call, a forged proxy requestState", body: call(10, "tools/call", { name: "echo", arguments: { text: "x" }, requestState: "fmp2.AAAA.BBBB.CCCC" }) },
  { name: "tools/call, inputResponses without a state", body: call(11, "tools/call", { name: "echo", arguments: { text: "x" }, inputResponses: { a: { action: "accept" } } }) },
  { name: "tools/list", body: call(12, "tools/list", {}) },
  { name: "tools/list, a cursor not minted", body: call(13, "tools/list", { cursor: "bogus" }) },
  { name: "resources/list", body: call(14, "resources/list", {}) },
  { name: "resources/templates/list", body: call(15, "resources/templates/list", {}) },
  { name: "resources/read", body: call(16, "resources/read", { uri: "fixture://static/hello" }) },
  { name: "resources/read, unknown", body: call(17, "resources/read", { uri: "fixture://nope" }) },
  { name: "prompts/list", body: call(18, "prompts/list", {}) },
  { name: "prompts/get", body: call(19, "prompts/get", { name: "greet", arguments: { who: "Ann" } }) },
  { name: "prompts/get, unknown", body: call(20, "prompts/get", { name: "nope" }) },
  { name: "completion/complete", body: call(21, "completion/complete", { ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "A" } }) },
  { name: "completion/complete, bad ref", body: call(22, "completion/complete", { ref: { type: "ref/nope" }, argument: { name: "n", value: "" } }) },
  { name: "declared capabilities not an object", body: call(23, "tools/call", { name: "echo", arguments: { text: "x" } }, { "io.modelcontextprotocol/clientCapabilities": 5 }) },
  { name: "no clientInfo", body: { jsonrpc: "2.0", id: 24, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {} } } } },
  { name: "another revision in _meta", body: call(25, "tools/list", {}, { "io.modelcontextprotocol/protocolVersion": "2027-01-01" }), headers: { "mcp-protocol-version": "2027-01-01" } },
  { name: "no _meta, modern header", body: { jsonrpc: "2.0", id: 26, method: "tools/list", params: {} } },
  { name: "Mcp-Name different from the body", body: call(27, "tools/call", { name: "echo", arguments: { text: "x" } }), headers: { "mcp-name": "fail" } },
  { name: "Mcp-Name missing", body: call(28, "tools/call", { name: "echo", arguments: { text: "x" } }), headers: { "mcp-name": undefined } },
  { name: "Mcp-Name Base64", body: call(29, "tools/call", { name: "echo", arguments: { text: "x" } }), headers: { "mcp-name": `=?base64?${Buffer.from("echo").toString("base64")}?=` } },
  { name: "Mcp-Method different", body: call(30, "tools/list", {}), headers: { "mcp-method": "prompts/list" } },
  { name: "Mcp-Method missing", body: call(31, "tools/list", {}), headers: { "mcp-method": undefined } },
  { name: "version header missing", body: call(32, "tools/list", {}), headers: { "mcp-protocol-version": undefined } },
  { name: "version header different", body: call(33, "tools/list", {}), headers: { "mcp-protocol-version": "2025-06-18" } },
  { name: "not JSON content", body: call(34, "tools/list", {}), headers: { "content-type": "text/plain" } },
  { name: "a method the backend lacks", body: call(35, "logging/setLevel", { level: "info" }) },
  { name: "an unknown method", body: call(36, "nope/nope", {}) },
  { name: "a notification", body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, _meta: meta() } } },
  { name: "null id", body: { ...call(37, "tools/list", {}), id: null } },
  { name: "server/discover", body: call(38, "server/discover", {}) },
];

describe("the 2026-07-28 fast path answers as the SDK does", () => {
  const proxies: FastMCPProxy[] = [];
  let fast: string;
  let sdk: string;
  beforeAll(async () => {
    const serve = async (fastPath: boolean) => {
      const proxy = FastMCPProxy.asProxy(createFixtureServer(), { name: "fast-path", version: "1.0.0", logLevel: "error" });
      proxies.push(proxy);
      return (await proxy.run({ transport: "http", port: 0, modern: { fastPath } })).url!;
    };
    [fast, sdk] = [await serve(true), await serve(false)];
  }, 30_000);
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });

  for (const { name, body, headers } of CASES) {
    it(name, async () => {
      const sent = headersFor(body, headers);
      const [a, b] = [await post(fast, body, sent), await post(sdk, body, sent)];
      expect(a).toEqual(b);
    }, 20_000);
  }

  it("a client that goes away mid-call is answered by neither; the proxy serves the next call", async () => {
    for (const url of [fast, sdk]) {
      const body = call(40, "tools/call", { name: "slow", arguments: { ms: 2000 } });
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, { method: "POST", headers: headersFor(body) }, () => resolve());
        req.on("error", () => resolve());
        req.end(JSON.stringify(body), () => setTimeout(() => (req.destroy(), resolve()), 100));
      });
      const next = await post(url, call(40, "tools/call", { name: "echo", arguments: { text: "after" } }), headersFor(call(40, "tools/call", { name: "echo" })));
      expect(next.text).toContain('"after"');
    }
  }, 20_000);

  it("concurrent requests with the same id are each answered", async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post(fast, call(7, "tools/call", { name: "echo", arguments: { text: `n${i}` } }), headersFor(call(7, "tools/call", { name: "echo" })))),
    );
    answers.forEach((answer, i) => expect(answer.text).toContain(`"n${i}"`));
  }, 20_000);
});

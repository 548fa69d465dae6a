// The 2026-07-28 fast path (eras/lanes.ts, eras/direct.ts) answers exactly as the v2 SDK's per-request
// entry does: the same requests, well-formed and not, go to a proxy with it and to one without it
// (`fastPath: false`), and the status, content type and body of every answer must be the same, byte
// for byte (field by field where the proxy mints a fresh requestState).
import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy, HttpError, type Middleware } from "@fastmcp-proxy/core";
import { createFixtureServer, observed } from "../fixtures/fixture-server.mjs";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { modernProxy, serveBothEras } from "./harness.js";

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

/**
 * The proxy `make` returns, served twice over HTTP for the enclosing describe block: with the fast
 * path (`fast`) and without it (`sdk`). Proxies pushed to `proxies` are closed with them.
 */
function servedBothWays(make: () => FastMCPProxy): { fast: string; sdk: string; proxies: FastMCPProxy[] } {
  const served = { fast: "", sdk: "", proxies: [] as FastMCPProxy[] };
  beforeAll(async () => {
    for (const fastPath of [true, false]) {
      const proxy = make();
      served.proxies.push(proxy);
      served[fastPath ? "fast" : "sdk"] = (await proxy.run({ transport: "http", port: 0, modern: { fastPath } })).url!;
    }
  }, 30_000);
  afterAll(async () => {
    await Promise.all(served.proxies.map((proxy) => proxy.close()));
  });
  return served;
}

describe("the 2026-07-28 fast path answers as the SDK does", () => {
  const served = servedBothWays(() => FastMCPProxy.asProxy(createFixtureServer(), { name: "fast-path", version: "1.0.0", logLevel: "error" }));

  for (const { name, body, headers } of CASES) {
    it(name, async () => {
      const sent = headersFor(body, headers);
      const [a, b] = [await post(served.fast, body, sent), await post(served.sdk, body, sent)];
      expect(a).toEqual(b);
    }, 20_000);
  }

  it("a client that goes away mid-call is answered by neither; the proxy serves the next call", async () => {
    for (const url of [served.fast, served.sdk]) {
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
      Array.from({ length: 6 }, (_, i) => post(served.fast, call(7, "tools/call", { name: "echo", arguments: { text: `n${i}` } }), headersFor(call(7, "tools/call", { name: "echo" })))),
    );
    answers.forEach((answer, i) => expect(answer.text).toContain(`"n${i}"`));
  }, 20_000);
});

/** The fixture, plus a tool that logs at four levels during the call. */
function fixtureWithLogs() {
  const server = createFixtureServer();
  const base = server.fallbackRequestHandler!;
  const LOG_TOOL = { name: "log", description: "Logs at four levels, then answers", inputSchema: { type: "object" } };
  server.fallbackRequestHandler = async (request, extra) => {
    if (request.method === "tools/list") {
      const listed = (await base(request, extra)) as { tools: unknown[] };
      return { ...listed, tools: [...listed.tools, LOG_TOOL] };
    }
    if (request.method !== "tools/call" || request.params?.name !== "log") return base(request, extra);
    for (const level of ["debug", "info", "warning", "error"]) {
      await extra.sendNotification({ method: "notifications/message", params: { level, logger: "fixture", data: `at ${level}` } });
    }
    return { content: [{ type: "text", text: "logged" }] };
  };
  return server;
}

/** Refuses a tools/call whose text argument asks for it, as an authorizer would: 401 with a challenge, or 403. */
const refuse: Middleware = async function refuse(ctx, next) {
  const text = (ctx.params as { arguments?: { text?: unknown } } | undefined)?.arguments?.text;
  if (text === "deny-401") throw new HttpError(401, "Sign in first", { "WWW-Authenticate": 'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"' });
  if (text === "deny-403") throw new HttpError(403, "Not allowed", { "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="tools:write"' });
  return next();
};

const ASKING = { sampling: {}, elicitation: { form: {} }, roots: {} };
const caps = (capabilities: unknown) => ({ "io.modelcontextprotocol/clientCapabilities": capabilities });
const logLevel = (level: string) => ({ "io.modelcontextprotocol/logLevel": level });

describe("every kind of answer the fast path makes itself is the SDK's", () => {
  const served = servedBothWays(() => FastMCPProxy.asProxy(fixtureWithLogs(), { name: "fast-path", version: "1.0.0", logLevel: "error" }).use(refuse));
  const { proxies } = served;

  const both = async (body: unknown) => {
    const sent = headersFor(body);
    return [await post(served.fast, body, sent), await post(served.sdk, body, sent)] as const;
  };

  const SAME: Case[] = [
    { name: "logs at and above the _meta level, as SSE", body: call(50, "tools/call", { name: "log", arguments: {} }, logLevel("warning")) },
    { name: "logs at every level", body: call(51, "tools/call", { name: "log", arguments: {} }, logLevel("debug")) },
    { name: "no logs without a _meta level", body: call(52, "tools/call", { name: "log", arguments: {} }) },
    { name: "logs and progress on one stream", body: call(53, "tools/call", { name: "log", arguments: {} }, { ...logLevel("info"), progressToken: 9 }) },
    { name: "a refusal: 401 with WWW-Authenticate", body: call(54, "tools/call", { name: "echo", arguments: { text: "deny-401" } }) },
    { name: "a refusal: 403 with WWW-Authenticate", body: call(55, "tools/call", { name: "echo", arguments: { text: "deny-403" } }) },
    { name: "a plain tool result (nothing for the SDK to strip)", body: call(56, "tools/call", { name: "fail", arguments: {} }) },
    { name: "a result the SDK's check trims", body: call(57, "tools/call", { name: "echo", arguments: { text: "t" } }) },
    { name: "declaring input, a call that never asks", body: call(58, "tools/call", { name: "echo", arguments: { text: "q" } }, caps(ASKING)) },
    { name: "declaring input, the backend's JSON-RPC error", body: call(59, "tools/call", { name: "explode", arguments: {} }, caps(ASKING)) },
    { name: "declaring input, progress", body: call(60, "tools/call", { name: "slow", arguments: { ms: 40 } }, { ...caps(ASKING), progressToken: "p" }) },
    { name: "declaring input, a refusal", body: call(61, "tools/call", { name: "echo", arguments: { text: "deny-401" } }, caps(ASKING)) },
    { name: "declaring input, prompts/get", body: call(62, "prompts/get", { name: "greet", arguments: { who: "Bo" } }, caps(ASKING)) },
    { name: "declaring input, resources/read not found", body: call(63, "resources/read", { uri: "fixture://nope" }, caps(ASKING)) },
    { name: "a list with its cache fields", body: call(64, "tools/list", {}, caps(ASKING)) },
    { name: "an invalid log level in _meta", body: call(65, "tools/call", { name: "log", arguments: {} }, logLevel("loud")) },
    { name: "a progress token that is not a token", body: call(66, "tools/call", { name: "echo", arguments: { text: "x" } }, { progressToken: { a: 1 } }) },
    { name: "prompts/get, an argument not a string", body: call(67, "prompts/get", { name: "greet", arguments: { who: 5 } }) },
    { name: "a cursor not a string", body: call(68, "tools/list", { cursor: 5 }) },
  ];
  for (const { name, body } of SAME) {
    it(name, async () => {
      const [a, b] = await both(body);
      expect(a).toEqual(b);
    }, 20_000);
  }

  it("an asking call: the same input_required (but its state), and each retry completes the same", async () => {
    const first = call(70, "tools/call", { name: "ask", arguments: { what: "elicitation" } }, caps(ASKING));
    const [a, b] = await both(first);
    expect(a.status).toBe(b.status);
    expect(a.type).toBe(b.type);
    const [ra, rb] = [JSON.parse(a.text), JSON.parse(b.text)];
    expect(ra.result.resultType).toBe("input_required");
    expect(typeof ra.result.requestState).toBe("string");
    const withoutState = ({ result: { requestState: _, ...rest }, ...message }: any) => ({ ...message, result: rest });
    expect(withoutState(ra)).toEqual(withoutState(rb));
    const retry = (state: string) => {
      const key = Object.keys(ra.result.inputRequests)[0]!;
      return call(71, "tools/call", { name: "ask", arguments: { what: "elicitation" }, inputResponses: { [key]: { action: "accept", content: { name: "Ann" } } }, requestState: state }, caps(ASKING));
    };
    const [da, db] = [await post(served.fast, retry(ra.result.requestState), headersFor(retry(""))), await post(served.sdk, retry(rb.result.requestState), headersFor(retry("")))];
    expect(da).toEqual(db);
    expect(da.text).toContain("Ann");
  }, 20_000);

  it("another caller's retry with a state minted on the fast path is refused, as on the SDK's", async () => {
    // Fronts that know who calls: the bearer token names the caller.
    const authenticate = (req: IncomingMessage) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
    };
    const fronts = await Promise.all(
      [true, false].map(async (fastPath) => {
        const proxy = FastMCPProxy.asProxy(fixtureWithLogs(), { name: "fast-path", version: "1.0.0", logLevel: "error" });
        proxies.push(proxy);
        return serveBothEras(proxy, { fastPath, authenticate });
      }),
    );
    try {
      const answers = [];
      for (const { url } of fronts) {
        const first = call(72, "tools/call", { name: "ask", arguments: { what: "roots" } }, caps(ASKING));
        const round = JSON.parse((await post(url, first, { ...headersFor(first), authorization: "Bearer alice" })).text);
        const key = Object.keys(round.result.inputRequests)[0]!;
        const retry = call(73, "tools/call", { name: "ask", arguments: { what: "roots" }, inputResponses: { [key]: { roots: [] } }, requestState: round.result.requestState }, caps(ASKING));
        answers.push(await post(url, retry, { ...headersFor(retry), authorization: "Bearer mallory" }));
        answers.push(await post(url, retry, headersFor(retry)));
        answers.push(await post(url, retry, { ...headersFor(retry), authorization: "Bearer alice" }));
      }
      expect(answers.slice(0, 3)).toEqual(answers.slice(3));
      expect(JSON.parse(answers[0]!.text).error.code).toBe(-32602);
      expect(JSON.parse(answers[1]!.text).error.code).toBe(-32602);
      expect(JSON.parse(answers[2]!.text).result.content[0].text).toContain("roots");
    } finally {
      await Promise.all(fronts.map((front) => front.close()));
    }
  }, 20_000);

  it("a client that goes away cancels its call at the backend, on either way", async () => {
    for (const [url, extra] of [[served.fast, {}], [served.fast, { future: 1 }], [served.sdk, {}]] as const) {
      const before = observed.cancelled.length;
      const body = call(74, "tools/call", { name: "slow", arguments: { ms: 4000 }, ...extra });
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, { method: "POST", headers: headersFor(body) }, () => resolve());
        req.on("error", () => resolve());
        req.end(JSON.stringify(body), () => setTimeout(() => (req.destroy(), resolve()), 200));
      });
      for (let i = 0; i < 100 && observed.cancelled.length === before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(observed.cancelled.length, `${url === served.fast ? "fast" : "sdk"} ${JSON.stringify(extra)}`).toBe(before + 1);
    }
  }, 20_000);
});

describe("a 2026 backend's own input_required, on the fast path as on the SDK's", () => {
  let backend: { url: string; close(): Promise<void> };
  const fronts: Array<{ url: string; close(): Promise<void> }> = [];
  const proxies: FastMCPProxy[] = [];
  beforeAll(async () => {
    backend = await startDualEraServer({ modernOnly: true });
    for (const fastPath of [true, false]) {
      const proxy = modernProxy(backend.url);
      proxies.push(proxy);
      fronts.push(await serveBothEras(proxy, { fastPath }));
    }
  }, 30_000);
  afterAll(async () => {
    await Promise.all(fronts.map((front) => front.close()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await backend?.close();
  });

  /** The answer, its requestState (the backend's sealed state, fresh each time) left out. */
  const answered = async (url: string, body: unknown) => {
    const { status, type, text } = await post(url, body, headersFor(body));
    const message = JSON.parse(text);
    if (message.result) delete message.result.requestState;
    return { status, type, message };
  };

  const CASES: Case[] = [
    { name: "asks for what was declared", body: call(80, "tools/call", { name: "test_input_required_result_elicitation", arguments: {} }, caps(ASKING)) },
    { name: "asks with a state of its own", body: call(81, "tools/call", { name: "test_input_required_result_multiple_inputs", arguments: {} }, caps(ASKING)) },
    { name: "asks only for what one request declared", body: call(82, "tools/call", { name: "test_input_required_result_capabilities", arguments: {} }, caps({ roots: {} })) },
    { name: "asks for what was not declared", body: call(83, "tools/call", { name: "test_input_required_result_elicitation", arguments: {} }, caps({ sampling: {} })) },
    { name: "declares nothing", body: call(84, "tools/call", { name: "test_input_required_result_capabilities", arguments: {} }) },
    { name: "a prompt that asks", body: call(85, "prompts/get", { name: "test_input_required_result_prompt" }, caps(ASKING)) },
  ];
  for (const { name, body } of CASES) {
    it(name, async () => {
      const [a, b] = [await answered(fronts[0]!.url, body), await answered(fronts[1]!.url, body)];
      expect(a).toEqual(b);
    }, 20_000);
  }
});

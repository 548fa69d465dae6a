// The bridge between eras, with real clients of both: a v2 client (pinned to 2026-07-28, and in auto
// mode) and a v1 (legacy) client, through the proxy's two-era front, in front of a 2026-only backend
// and of a legacy backend whose tools ask for input with server→client requests.
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { expectFixtureServed, modernProxy, modernStack, post2026, serveBothEras, type BothEras } from "./harness.js";

type Fixture = Awaited<ReturnType<typeof startDualEraServer>>;

/** A v2 SDK client that answers elicitation, sampling and roots, in the given negotiation mode. */
async function v2Client(url: string, mode: "auto" | { pin: "2026-07-28" }) {
  const client = new Client({ name: "v2-client", version: "1.0.0" }, { capabilities: { elicitation: {}, sampling: {}, roots: {} }, versionNegotiation: { mode } as never });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Alice", color: "teal", ok: true } }));
  client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "Paris" }, model: "test" }));
  client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///work", name: "work" }] }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const text = (result: any) => result.content?.map((c: any) => c.text).join(" ");

describe("2026 clients through the proxy", () => {
  let modernOnly: Fixture;
  let shim: Fixture;
  let toModern: { proxy: FastMCPProxy; front: BothEras };
  let toLegacy: { proxy: FastMCPProxy; front: BothEras };
  beforeAll(async () => {
    [modernOnly, shim] = await Promise.all([startDualEraServer({ modernOnly: true }), startDualEraServer({ legacy: "shim" })]);
    const p1 = modernProxy(modernOnly.url);
    const p2 = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
    toModern = { proxy: p1, front: await serveBothEras(p1) };
    toLegacy = { proxy: p2, front: await serveBothEras(p2) };
  }, 30_000);
  afterAll(async () => {
    for (const side of [toModern, toLegacy]) {
      await side?.front.close();
      await side?.proxy.close();
    }
    await Promise.all([modernOnly?.close(), shim?.close()]);
  });

  for (const mode of ["pinned", "auto"] as const) {
    it(`a v2 client (${mode}) → proxy → 2026-only backend: lists, calls, multi-round input`, async () => {
      const client = await v2Client(toModern.front.url, mode === "pinned" ? { pin: "2026-07-28" } : "auto");
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
        await expectFixtureServed(client);
      } finally {
        await client.close();
      }
    }, 30_000);
  }

  it("a v2 client (pinned) → proxy → legacy backend: its elicitation, sampling and roots arrive as input_required", async () => {
    const client = await v2Client(toLegacy.front.url, { pin: "2026-07-28" });
    try {
      expect(text(await client.callTool({ name: "test_input_required_result_elicitation", arguments: {} }))).toBe("Hello, Alice!");
      expect(text(await client.callTool({ name: "test_input_required_result_sampling", arguments: {} }))).toBe("Sampling said: Paris");
      expect(text(await client.callTool({ name: "test_input_required_result_list_roots", arguments: {} }))).toBe("Roots: file:///work");
      expect(text(await client.callTool({ name: "test_input_required_result_multiple_inputs", arguments: {} }))).toBe("all inputs received");
      expect(toLegacy.front.modern.held).toBe(0); // every held call was resumed and ended
    } finally {
      await client.close();
    }
  }, 30_000);

  it("2026 client → 2026 backend: input_required, inputResponses and the backend's requestState pass through untouched", async () => {
    const url = toModern.front.url;
    const call = { name: "test_input_required_result_request_state", arguments: {} };
    const first = await post2026(url, "tools/call", call);
    expect(first.message.result.resultType).toBe("input_required");
    expect(Object.keys(first.message.result.inputRequests)).toEqual(["confirm"]); // the backend's key
    const state = first.message.result.requestState as string;
    expect(state).not.toMatch(/^fmp2\./); // the backend's own state, not one the proxy minted
    expect(toModern.front.modern.held).toBe(0); // nothing is held: the proxy stays stateless
    const answer = { confirm: { action: "accept", content: { ok: true } } };
    const second = await post2026(url, "tools/call", { ...call, inputResponses: answer, requestState: state });
    expect(second.message.result.content[0].text).toBe("state-ok: confirmed");
    // The backend, not the proxy, refuses its state when it was altered.
    const forged = await post2026(url, "tools/call", { ...call, inputResponses: answer, requestState: `${state}x` });
    expect(forged.message.error?.code).toBe(-32602);
  }, 30_000);

  it("a raw 2026 call to a legacy backend's asking tool: input_required with the proxy's state, then the result", async () => {
    const url = toLegacy.front.url;
    const first = await post2026(url, "tools/call", { name: "test_input_required_result_elicitation", arguments: {} });
    expect(first.status).toBe(200);
    expect(first.message.result.resultType).toBe("input_required");
    const [key, request] = Object.entries(first.message.result.inputRequests)[0] as [string, any];
    expect(request.method).toBe("elicitation/create");
    expect(request.params.message).toBe("What is your name?");
    expect(first.message.result.requestState).toMatch(/^fmp2\./);
    const second = await post2026(url, "tools/call", {
      name: "test_input_required_result_elicitation",
      arguments: {},
      inputResponses: { [key]: { action: "accept", content: { name: "Zoe" } } },
      requestState: first.message.result.requestState,
    });
    expect(second.message.result.content[0].text).toBe("Hello, Zoe!");
  }, 30_000);
});

describe("a legacy client through the proxy → 2026-only backend", () => {
  const stack = modernStack(() => startDualEraServer({ modernOnly: true }));

  it("the backend's input_required reaches the v1 client as elicitation/create, and it sees an ordinary call", async () => {
    const client = new LegacyClient({ name: "v1-client", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { name: "Bob", color: "red" } };
    });
    await client.connect(new LegacyHttp(new URL(stack.front.url)));
    try {
      expect(client.getServerCapabilities()?.tools).toBeDefined();
      const result = await client.request({ method: "tools/call", params: { name: "test_input_required_result_multi_round", arguments: {} } }, ResultSchema.passthrough());
      expect(text(result)).toBe("Bob likes red");
      expect(asked).toEqual(["Step 1: What is your name?", "Step 2: What is your favorite color?"]);
    } finally {
      await client.close();
    }
  }, 30_000);
});

describe("the proxy's requestState", () => {
  let shim: Fixture;
  let proxy: FastMCPProxy;
  let front: BothEras;
  const ASK = { name: "test_input_required_result_elicitation", arguments: {} };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  beforeAll(async () => {
    shim = await startDualEraServer({ legacy: "shim" });
    proxy = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
    front = await serveBothEras(proxy, {
      requestState: { ttlMs: 1500 },
      held: { max: 3, maxPerCaller: 2, holdMs: 3000 },
      // A stand-in for the front's authenticate hook: the bearer token names the caller.
      authenticate: (req) => {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
      },
    });
  }, 30_000);
  afterAll(async () => {
    await front?.close();
    await proxy?.close();
    await shim?.close();
  });

  async function round1(headers: Record<string, string> = bearer("alice")) {
    const { message } = await post2026(front.url, "tools/call", ASK, headers);
    expect(message.result?.resultType, JSON.stringify(message)).toBe("input_required");
    return { key: Object.keys(message.result.inputRequests)[0]!, state: message.result.requestState as string };
  }
  const retry = (key: string, state: string, headers: Record<string, string> = bearer("alice")) =>
    post2026(front.url, "tools/call", { ...ASK, inputResponses: { [key]: { action: "accept", content: { name: "Ann" } } }, requestState: state }, headers);

  it("tampered: refused with -32602, and the held call still completes with the real state", async () => {
    const { key, state } = await round1();
    const [head, sealed] = state.split(".");
    const flipped = `${head}.${sealed!.slice(0, -2)}${sealed!.endsWith("AA") ? "BB" : "AA"}`;
    const forgedBody = `${head}.${Buffer.from(JSON.stringify({ p: { id: "x", round: 1 }, exp: Date.now() + 60_000 })).toString("base64url")}`;
    for (const bad of [`${state}-TAMPERED`, flipped, forgedBody, "not-a-state"]) {
      const { status, message } = await retry(key, bad);
      expect(message.error?.code, bad).toBe(-32602);
      expect(status).toBe(200);
    }
    expect((await retry(key, state)).message.result.content[0].text).toBe("Hello, Ann!");
  }, 30_000);

  it("replayed: the second use of a state is refused", async () => {
    const { key, state } = await round1();
    expect((await retry(key, state)).message.result.content[0].text).toBe("Hello, Ann!");
    expect((await retry(key, state)).message.error?.code).toBe(-32602);
  }, 30_000);

  it("another principal: refused, and the owner can still answer", async () => {
    const { key, state } = await round1(bearer("alice"));
    expect((await retry(key, state, bearer("mallory"))).message.error?.code).toBe(-32602);
    expect((await retry(key, state, {})).message.error?.code).toBe(-32602); // anonymous is another caller too
    expect((await retry(key, state, bearer("alice"))).message.result.content[0].text).toBe("Hello, Ann!");
  }, 30_000);

  it("expired: refused after its ttl, and the held call is abandoned after holdMs", async () => {
    const { key, state } = await round1();
    await new Promise((r) => setTimeout(r, 1700));
    expect((await retry(key, state)).message.error?.code).toBe(-32602);
    const deadline = Date.now() + 5000;
    while (front.modern.held > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(front.modern.held).toBe(0);
  }, 30_000);

  it("bounded: at most `max` calls are held, and `maxPerCaller` of one caller's; one more is refused, and none is left behind", async () => {
    const a = await round1();
    const b = await round1();
    // Alice leaves hers unanswered: her third is refused, and bob still has room.
    const { message: mine } = await post2026(front.url, "tools/call", ASK, bearer("alice"));
    expect(mine.error?.message).toMatch(/Too many of your requests are waiting for input \(at most 2\)/);
    const c = await round1(bearer("bob"));
    expect(front.modern.held).toBe(3);
    const { message } = await post2026(front.url, "tools/call", ASK, bearer("carol"));
    expect(message.error?.message).toMatch(/Too many requests are waiting for input; try again later/);
    expect(front.modern.held).toBe(3);
    await retry(a.key, a.state);
    await retry(b.key, b.state);
    await retry(c.key, c.state, bearer("bob"));
    expect(front.modern.held).toBe(0);
    // Answered, alice has her room again.
    const d = await round1();
    await retry(d.key, d.state);
  }, 30_000);

  it("an input response that is not a response object counts as missing: the client is asked again", async () => {
    const { key, state } = await round1();
    const { message } = await post2026(front.url, "tools/call", { ...ASK, inputResponses: { [key]: 12345 }, requestState: state }, bearer("alice"));
    expect(message.result?.resultType).toBe("input_required");
    expect(Object.keys(message.result.inputRequests)).toEqual([key]);
    expect(message.result.requestState).not.toBe(state); // a new round
    const done = await retry(key, message.result.requestState);
    expect(done.message.result.content[0].text).toBe("Hello, Ann!");
  }, 30_000);
});

describe("draining the HTTP front", () => {
  it("refuses new 2026 requests with 503 and still resumes a held call", async () => {
    const { createServer } = await import("node:http");
    const shim = await startDualEraServer({ legacy: "shim" });
    const proxy = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
    const handler = proxy.httpHandler();
    const http = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/mcp`;
    try {
      const call = { name: "test_input_required_result_elicitation", arguments: {} };
      const first = await post2026(url, "tools/call", call);
      const key = Object.keys(first.message.result.inputRequests)[0]!;
      handler.drain();
      const refused = await post2026(url, "tools/list");
      expect(refused.status).toBe(503);
      const resumed = await post2026(url, "tools/call", {
        ...call,
        inputResponses: { [key]: { action: "accept", content: { name: "Dee" } } },
        requestState: first.message.result.requestState,
      });
      expect(resumed.message.result.content[0].text).toBe("Hello, Dee!");
    } finally {
      await handler.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await proxy.close();
      await shim.close();
    }
  }, 30_000);
});

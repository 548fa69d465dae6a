// The stdio front for both eras, in process: the proxy's StdioFrontTransport on a pair of pipes, a v2
// client (pinned to 2026-07-28, and auto) or a v1 client on the other end, in front of a 2026-only
// backend and of a legacy backend whose tools ask for input with server→client requests.
import { PassThrough } from "node:stream";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { serveStdioFront, type StdioFront } from "../../packages/core/src/eras/index.js";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { FIXTURE, PipeTransport, until } from "../helpers.js";
import { ENVELOPE, expectFixtureServed, modernProxy } from "./harness.js";

type Fixture = Awaited<ReturnType<typeof startDualEraServer>>;

/** The stdio front of `proxy` on fresh pipes, and a transport for the client's end. */
function stdioFront(proxy: FastMCPProxy) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const front = serveStdioFront(proxy.modernFrontHost(), new StdioFrontTransport(stdin, stdout));
  return { front, pipe: new PipeTransport(stdin, stdout) };
}

/** Raw JSON-RPC on a front's pipes: what a hand-written client would send, and the answer by id. */
function rawLines(pipe: PipeTransport) {
  const seen: any[] = [];
  pipe.onmessage = (m) => seen.push(m);
  void pipe.start();
  let id = 0;
  return {
    seen,
    async request(method: string, params: Record<string, unknown> = {}) {
      const mine = ++id;
      await pipe.send({ jsonrpc: "2.0", id: mine, method, params });
      return until(() => seen.find((m) => m.id === mine), `the answer to ${method}`, 10_000);
    },
  };
}

async function v2Client(pipe: PipeTransport, mode: "auto" | { pin: "2026-07-28" }) {
  const client = new Client({ name: "v2-stdio", version: "1.0.0" }, { capabilities: { elicitation: {}, sampling: {}, roots: {} }, versionNegotiation: { mode } as never });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Alice", color: "teal", ok: true } }));
  client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "Paris" }, model: "test" }));
  client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///work", name: "work" }] }));
  await client.connect(pipe as never);
  return client;
}

const text = (result: any) => result.content?.map((c: any) => c.text).join(" ");

describe("the stdio front, both eras", () => {
  let modernOnly: Fixture;
  let shim: Fixture;
  let toModern: FastMCPProxy;
  let toLegacy: FastMCPProxy;
  const fronts: StdioFront[] = [];
  const open = (proxy: FastMCPProxy) => {
    const opened = stdioFront(proxy);
    fronts.push(opened.front);
    return opened;
  };
  beforeAll(async () => {
    [modernOnly, shim] = await Promise.all([startDualEraServer({ modernOnly: true }), startDualEraServer({ legacy: "shim" })]);
    toModern = modernProxy(modernOnly.url);
    toLegacy = FastMCPProxy.asProxy(shim.url, { logLevel: "error" });
    await Promise.all([toModern.start(), toLegacy.start()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(fronts.map((f) => f.close()));
    await Promise.all([toModern?.close(), toLegacy?.close()]);
    await Promise.all([modernOnly?.close(), shim?.close()]);
  });

  for (const mode of ["pinned", "auto"] as const) {
    it(`a v2 client (${mode}) → stdio → proxy → 2026-only backend: lists, calls, multi-round input`, async () => {
      const { front, pipe } = open(toModern);
      const client = await v2Client(pipe, mode === "pinned" ? { pin: "2026-07-28" } : "auto");
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
        expect(front.era).toBe("modern");
        await expectFixtureServed(client);
      } finally {
        await client.close();
      }
      await front.closed;
    }, 30_000);
  }

  it("a v2 client (pinned) → stdio → proxy → legacy backend: its elicitation, sampling and roots arrive as input_required", async () => {
    const { front, pipe } = open(toLegacy);
    const client = await v2Client(pipe, { pin: "2026-07-28" });
    try {
      expect(text(await client.callTool({ name: "test_input_required_result_elicitation", arguments: {} }))).toBe("Hello, Alice!");
      expect(text(await client.callTool({ name: "test_input_required_result_sampling", arguments: {} }))).toBe("Sampling said: Paris");
      expect(text(await client.callTool({ name: "test_input_required_result_list_roots", arguments: {} }))).toBe("Roots: file:///work");
      expect(front.held).toBe(0);
    } finally {
      await client.close();
    }
  }, 30_000);

  it("raw 2026 lines: server/discover, resultType and cache hints, input_required with the proxy's state, the errors", async () => {
    const { front, pipe } = open(toLegacy);
    const wire = rawLines(pipe);
    const discover = await wire.request("server/discover", { _meta: ENVELOPE });
    expect(discover.result.supportedVersions).toContain("2026-07-28");
    expect(discover.result.capabilities.tools).toBeDefined();
    const listed = await wire.request("tools/list", { _meta: ENVELOPE });
    expect(listed.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    const call = { name: "test_input_required_result_elicitation", arguments: {}, _meta: ENVELOPE };
    const first = await wire.request("tools/call", call);
    expect(first.result.resultType).toBe("input_required");
    expect(first.result.requestState).toMatch(/^fmp2\./);
    const [key] = Object.keys(first.result.inputRequests);
    const tampered = await wire.request("tools/call", { ...call, inputResponses: { [key!]: { action: "accept", content: { name: "Eve" } } }, requestState: `${first.result.requestState}x` });
    expect(tampered.error.code).toBe(-32602);
    const second = await wire.request("tools/call", { ...call, inputResponses: { [key!]: { action: "accept", content: { name: "Zoe" } } }, requestState: first.result.requestState });
    expect(second.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "Hello, Zoe!" }] });
    // The errors of the revision: removed methods, a missing _meta field, an unsupported version.
    expect((await wire.request("ping", { _meta: ENVELOPE })).error.code).toBe(-32601);
    expect((await wire.request("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } })).error).toBeDefined();
    expect((await wire.request("tools/list", {})).error.code).toBe(-32602);
    const { "io.modelcontextprotocol/clientCapabilities": _, ...noCapabilities } = ENVELOPE;
    expect((await wire.request("tools/list", { _meta: noCapabilities })).error.code).toBe(-32602);
    const unsupported = await wire.request("tools/list", { _meta: { ...ENVELOPE, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } });
    expect(unsupported.error.code).toBe(-32022);
    expect(unsupported.error.data.supported).toContain("2026-07-28");
    expect(front.era).toBe("modern");
    expect(front.held).toBe(0);
    pipe.toServer.end(); // the client hangs up: the front closes
    await front.closed;
  }, 30_000);

  it("subscriptions/listen on stdio: the acknowledgement, then the proxy's list changes tagged with the subscription id", async () => {
    const { front, pipe } = open(toModern);
    const wire = rawLines(pipe);
    await pipe.send({ jsonrpc: "2.0", id: "listen-1", method: "subscriptions/listen", params: { notifications: { toolsListChanged: true }, _meta: ENVELOPE } });
    await until(() => wire.seen.find((m) => m.method === "notifications/subscriptions/acknowledged"), "the acknowledgement", 10_000);
    // The backend's tool changes reach the proxy (its own listen stream), then this client's stream.
    const changed = await wire.request("tools/call", { name: "test_trigger_tool_change", arguments: {}, _meta: ENVELOPE });
    expect(text(changed.result)).toBe("tools changed");
    const tagged = await until(() => wire.seen.find((m) => m.method === "notifications/tools/list_changed"), "the list change", 10_000);
    expect(tagged.params._meta["io.modelcontextprotocol/subscriptionId"]).toBe("listen-1");
    await front.close();
    // The close ends the stream with its empty result.
    expect(wire.seen.find((m) => m.id === "listen-1")?.result).toBeDefined();
  }, 30_000);

  it("subscriptions/listen on stdio naming a resource: its updates reach the stream (subscribed upstream while it is open)", async () => {
    const { front, pipe } = open(toModern);
    const wire = rawLines(pipe);
    await pipe.send({ jsonrpc: "2.0", id: "listen-r", method: "subscriptions/listen", params: { notifications: { resourceSubscriptions: ["test://watched-resource"] }, _meta: ENVELOPE } });
    await until(() => wire.seen.find((m) => m.method === "notifications/subscriptions/acknowledged"), "the acknowledgement", 10_000);
    // The subscription reaches the backend asynchronously: publish until an update arrives (bounded).
    const updated = await until(async () => {
      await wire.request("tools/call", { name: "test_update_watched_resource", arguments: {}, _meta: ENVELOPE });
      return wire.seen.find((m) => m.method === "notifications/resources/updated");
    }, "the resource update", 10_000);
    expect(updated.params.uri).toBe("test://watched-resource");
    expect(updated.params._meta["io.modelcontextprotocol/subscriptionId"]).toBe("listen-r");
    await front.close();
  }, 30_000);

  it("a legacy client on stdio stays legacy: initialize, an ordinary call, server→client elicitation on its session", async () => {
    const { front, pipe } = open(toModern);
    const client = new LegacyClient({ name: "v1-stdio", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { name: "Bob", color: "red" } };
    });
    await client.connect(pipe as never);
    try {
      expect(front.era).toBe("legacy");
      expect(client.getServerCapabilities()?.tools).toBeDefined();
      const result = await client.request({ method: "tools/call", params: { name: "test_input_required_result_multi_round", arguments: {} } }, ResultSchema.passthrough());
      expect(text(result)).toBe("Bob likes red");
      expect(asked).toEqual(["Step 1: What is your name?", "Step 2: What is your favorite color?"]);
      expect(await client.ping()).toEqual({});
    } finally {
      await client.close();
    }
    await front.closed;
  }, 30_000);
});

// A stdio front has one client: its 2026 requests are one caller's, as a legacy client's are. Its
// calls that may be asked share that caller's backend session (one child of a stdio backend), and
// every ask still reaches it.
describe("the stdio front's 2026 client is one caller", () => {
  let proxy: FastMCPProxy;
  const fronts: StdioFront[] = [];
  beforeAll(async () => {
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { logLevel: "error" });
    await proxy.start();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(fronts.map((f) => f.close()));
    await proxy?.close();
  });

  it("its calls that may be asked, sent at once, run on one backend child, and each ask is answered by it", async () => {
    const { front, pipe } = stdioFront(proxy);
    fronts.push(front);
    const client = await v2Client(pipe, { pin: "2026-07-28" });
    const pids = await Promise.all(Array.from({ length: 6 }, async () => JSON.parse(text(await client.callTool({ name: "whoami", arguments: {} }))).pid as number));
    expect(new Set(pids).size).toBe(1);
    const asked = await Promise.all(["elicitation", "roots", "sampling"].map(async (what) => text(await client.callTool({ name: "ask", arguments: { what } }))));
    expect(asked[0]).toContain("Alice");
    expect(asked[1]).toContain("file:///work");
    expect(asked[2]).toContain("Paris");
  }, 30_000);
});

// Held calls across replicas: two proxies sharing a fleet key, in front of a legacy backend whose
// tools ask for input, and a v2 client whose every request goes to the other replica (round robin).
// The replica that gets a retry for a call it does not hold runs the call again, answering the
// backend's asks from the client's inputResponses and from the answers sealed in the requestState.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { post2026 } from "./harness.js";

const FLEET = "a fleet key of at least 32 bytes, shared!";
const OTHER_FLEET = "another fleet's key, also 32 bytes or more";
const LOOPBACK = ["localhost", "127.0.0.1"];

/** The bearer token names the caller. */
function authenticate(req: IncomingMessage) {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
}

interface Replica {
  url: string;
  proxy: FastMCPProxy;
  close(): Promise<void>;
}

async function replica(backendUrl: string, fleetKey: string): Promise<Replica> {
  const proxy = FastMCPProxy.asProxy(backendUrl, { logLevel: "error" });
  const handler = proxy.httpHandler({ fleetKey, allowedHosts: LOOPBACK, authenticate, modern: { held: { holdMs: 2000 } } });
  const http: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}/mcp`,
    proxy,
    async close() {
      await handler.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await proxy.close();
    },
  };
}

/** A v2 client (2026-07-28) of user `token` whose requests go to each replica in turn. */
async function roundRobinClient(replicas: Replica[], token: string) {
  let next = 0;
  const fetchRoundRobin = (_url: string | URL, init?: RequestInit) => {
    const target = replicas[next++ % replicas.length]!.url;
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(target, { ...init, headers });
  };
  const client = new Client({ name: "round-robin", version: "1.0.0" }, { capabilities: { elicitation: {}, sampling: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } as never });
  client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "Paris" }, model: "test" }));
  client.setRequestHandler("elicitation/create", async (request) => {
    const content: Record<string, string> = String(request.params.message).includes("color") ? { color: "teal" } : { name: "Alice" };
    return { action: "accept", content };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(replicas[0]!.url), { fetch: fetchRoundRobin as never }));
  return client;
}

const text = (result: any) => result.content?.map((c: any) => c.text).join(" ");
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const SAMPLING = { name: "test_input_required_result_sampling", arguments: {} };
const PARIS = { role: "assistant", content: { type: "text", text: "Paris" }, model: "test" };

describe("held calls on any replica of a fleet", () => {
  let shim: Awaited<ReturnType<typeof startDualEraServer>>;
  let a: Replica;
  let b: Replica;
  let stranger: Replica;
  beforeAll(async () => {
    shim = await startDualEraServer({ legacy: "shim" });
    [a, b, stranger] = await Promise.all([replica(shim.url, FLEET), replica(shim.url, FLEET), replica(shim.url, OTHER_FLEET)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), stranger?.close()]);
    await shim?.close();
  });

  it("a sampling call whose retry reaches the other replica completes there", async () => {
    const client = await roundRobinClient([a, b], "alice");
    try {
      expect(text(await client.callTool(SAMPLING))).toBe("Sampling said: Paris");
      expect(text(await client.callTool(SAMPLING))).toBe("Sampling said: Paris");
    } finally {
      await client.close();
    }
  }, 30_000);

  it("a call that asks twice completes when its rounds alternate replicas: earlier answers travel sealed in the state", async () => {
    const client = await roundRobinClient([a, b], "alice");
    try {
      expect(text(await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} }))).toBe("Alice likes teal");
    } finally {
      await client.close();
    }
  }, 30_000);

  it("the state shows no one the asks or the answers it carries", async () => {
    const call = { name: "test_input_required_result_multi_round", arguments: {} };
    const keyOf = (message: any) => Object.keys(message.result.inputRequests)[0]!;
    const first = await post2026(a.url, "tools/call", call, bearer("alice"));
    const answer = { [keyOf(first.message)]: { action: "accept", content: { name: "Zebedee" } } };
    const second = await post2026(b.url, "tools/call", { ...call, inputResponses: answer, requestState: first.message.result.requestState }, bearer("alice"));
    expect(second.message.result?.inputRequests?.[keyOf(second.message)]?.params?.message, JSON.stringify(second.message)).toMatch(/Step 2/);
    const state = second.message.result.requestState as string;
    const readable = state.split(".").map((part) => Buffer.from(part, "base64url").toString("latin1")).join(" ");
    expect(readable).not.toMatch(/Zebedee|Step|name/);
    const colour = { [keyOf(second.message)]: { action: "accept", content: { color: "red" } } };
    const third = await post2026(a.url, "tools/call", { ...call, inputResponses: colour, requestState: state }, bearer("alice"));
    expect(third.message.result?.content?.[0]?.text, JSON.stringify(third.message)).toBe("Zebedee likes red");
  }, 30_000);

  it("another caller replaying the state is refused on either replica; its owner's retry completes on the other", async () => {
    const first = await post2026(a.url, "tools/call", SAMPLING, bearer("alice"));
    const [key] = Object.keys(first.message.result.inputRequests);
    const retry = { ...SAMPLING, inputResponses: { [key!]: PARIS }, requestState: first.message.result.requestState };
    for (const replica of [a, b]) {
      expect((await post2026(replica.url, "tools/call", retry, bearer("mallory"))).message.error?.code).toBe(-32602);
      expect((await post2026(replica.url, "tools/call", retry)).message.error?.code).toBe(-32602); // anonymous
    }
    const done = await post2026(b.url, "tools/call", retry, bearer("alice"));
    expect(done.message.result?.content?.[0]?.text, JSON.stringify(done.message)).toBe("Sampling said: Paris");
  }, 30_000);

  it("a state sealed under another fleet key is refused; under the same key it is honoured", async () => {
    const first = await post2026(a.url, "tools/call", SAMPLING, bearer("alice"));
    const [key] = Object.keys(first.message.result.inputRequests);
    const retry = { ...SAMPLING, inputResponses: { [key!]: PARIS }, requestState: first.message.result.requestState };
    const refused = await post2026(stranger.url, "tools/call", retry, bearer("alice"));
    expect(refused.message.error?.code).toBe(-32602);
    expect((await post2026(b.url, "tools/call", retry, bearer("alice"))).message.result?.content?.[0]?.text).toBe("Sampling said: Paris");
  }, 30_000);
});

// Session isolation through one proxy: server→client traffic reaches only the client it belongs to,
// concurrent calls with colliding request ids all reach their callers, and cancellation leaves
// nothing behind. Everything listens on 127.0.0.1; backend children are ended by proxy.close().
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import type { FrontSession } from "@fastmcp-proxy/core/advanced";
import { createFixtureServer, observed } from "../fixtures/fixture-server.mjs";
import { FIXTURE, connectSession, raw, rejection, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});


interface Seen {
  requests: string[];
  notifications: string[];
  errors: Error[];
}

/** A client over streamable HTTP that answers sampling, elicitation and roots as `name`, and records what it is sent. */
async function clientNamed(url: string, name: string): Promise<{ client: Client; seen: Seen }> {
  const seen: Seen = { requests: [], notifications: [], errors: [] };
  const client = new Client({ name, version: "1" }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    seen.requests.push("sampling");
    return { model: `model-${name}`, role: "assistant", content: { type: "text", text: `sampled by ${name}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => {
    seen.requests.push("elicitation");
    return { action: "accept", content: { name } };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    seen.requests.push("roots");
    return { roots: [{ uri: `file:///roots/${name}`, name }] };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.notifications.push(`log:${String(n.params.data)}`));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void seen.notifications.push(`updated:${n.params.uri}`));
  client.onerror = (error) => void seen.errors.push(error);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return { client, seen };
}

const ask = async (client: Client, what: "sampling" | "elicitation" | "roots") =>
  JSON.parse((await raw(client, "tools/call", { name: "ask", arguments: { what } })).content[0].text);

describe("server→client traffic goes only to the client that owns it", () => {
  it("two clients at once (HTTP front, stdio backend): each gets only its own requests and notifications", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const [a, b] = [await clientNamed(url!, "A"), await clientNamed(url!, "B")];

    // All six at once: three kinds for each client, interleaved.
    const kinds = ["sampling", "elicitation", "roots"] as const;
    const answers = await Promise.all(kinds.flatMap((kind) => [ask(a.client, kind), ask(b.client, kind)]));
    const [sampledA, sampledB, elicitedA, elicitedB, rootsA, rootsB] = answers;
    expect(sampledA).toMatchObject({ model: "model-A", content: { text: "sampled by A" } });
    expect(sampledB).toMatchObject({ model: "model-B", content: { text: "sampled by B" } });
    expect(elicitedA).toEqual({ action: "accept", content: { name: "A" } });
    expect(elicitedB).toEqual({ action: "accept", content: { name: "B" } });
    expect(rootsA).toEqual({ roots: [{ uri: "file:///roots/A", name: "A" }] });
    expect(rootsB).toEqual({ roots: [{ uri: "file:///roots/B", name: "B" }] });
    expect(a.seen.requests.sort()).toEqual(["elicitation", "roots", "sampling"]);
    expect(b.seen.requests.sort()).toEqual(["elicitation", "roots", "sampling"]);

    // Notifications: each backend session logs the level its own client set, and tells it of its own subscription.
    await Promise.all([
      raw(a.client, "logging/setLevel", { level: "debug" }),
      raw(b.client, "logging/setLevel", { level: "info" }),
      raw(a.client, "resources/subscribe", { uri: "fixture://static/hello" }),
    ]);
    await until(() => a.seen.notifications.includes("updated:fixture://static/hello"), "A's resources/updated");
    await new Promise((resolve) => setTimeout(resolve, 100)); // room for anything misrouted to arrive
    expect(a.seen.notifications.sort()).toEqual(["log:level set to debug", "updated:fixture://static/hello"]);
    expect(b.seen.notifications).toEqual(["log:level set to info"]);
    expect([...a.seen.errors, ...b.seen.errors]).toEqual([]);
  });

  it("a shared backend session routes to the one client waiting on it, and refuses rather than broadcasts", async () => {
    // An in-process server holds one session: every front session shares it.
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const [a, b] = [await clientNamed(url!, "A"), await clientNamed(url!, "B")];

    // One call waiting on the shared session: its client gets the request, on that call's stream.
    expect(await ask(a.client, "sampling")).toMatchObject({ model: "model-A" });
    expect(await ask(b.client, "elicitation")).toEqual({ action: "accept", content: { name: "B" } });
    expect(a.seen.requests).toEqual(["sampling"]);
    expect(b.seen.requests).toEqual(["elicitation"]);

    // Calls of two clients waiting at once: the backend's request cannot be attributed, so it is refused.
    const calls = observed.calls;
    const busy = raw(a.client, "tools/call", { name: "slow", arguments: { ms: 1500 } });
    await until(() => observed.calls === calls + 1, "A's call to reach the backend");
    const refused = await rejection(ask(b.client, "roots"));
    expect(String(refused.message)).toMatch(/cannot be routed/);
    expect((await busy).content[0].text).toBe("slept 1500");
    expect(a.seen.requests).toEqual(["sampling"]);
    expect(b.seen.requests).toEqual(["elicitation"]);
  });
});

describe("concurrency", () => {
  it("10 clients × 100 concurrent calls with the same request ids: every answer reaches its caller, once", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
    // Which request ids each front session saw, and how many calls were forwarded.
    const idsBySession = new Map<string | undefined, RequestId[]>();
    let forwarded = 0;
    proxy.use("tools/call", async function record(ctx, next) {
      const ids = idsBySession.get(ctx.sessionId) ?? [];
      ids.push(ctx.requestId);
      idsBySession.set(ctx.sessionId, ids);
      forwarded++;
      return next();
    });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const all = await Promise.all(Array.from({ length: 10 }, (_, c) => clientNamed(url!, `c${c}`)));

    const completed: string[] = [];
    const results = await Promise.all(
      all.flatMap(({ client }, c) =>
        Array.from({ length: 100 }, async (_, i) => {
          const text = `client ${c} call ${i}`;
          // Later calls answer sooner, so the backend answers out of order.
          const result = await raw(client, "tools/call", { name: "echo", arguments: { text, delayMs: ((99 - i) % 10) * 5 } });
          completed.push(text);
          return { sent: text, got: result.content[0].text, structured: result.structuredContent?.echoed };
        }),
      ),
    );

    expect(results).toHaveLength(1000);
    for (const { sent, got, structured } of results) {
      expect(got).toBe(sent);
      expect(structured).toBe(sent);
    }
    expect(new Set(completed).size).toBe(1000);
    expect(completed.slice(0, 100)).not.toEqual(Array.from({ length: 100 }, (_, i) => `client 0 call ${i}`));
    expect(forwarded).toBe(1000);
    // Every client used the very same request ids.
    const idSets = [...idsBySession.values()].map((ids) => JSON.stringify([...ids].sort((x, y) => Number(x) - Number(y))));
    expect(idSets).toHaveLength(10);
    expect(new Set(idSets).size).toBe(1);
    // No stray or duplicate responses (the SDK reports those through onerror), nothing left pending.
    expect(all.flatMap(({ seen }) => seen.errors)).toEqual([]);
    expect(proxy.inFlight).toBe(0);
  }, 60_000);
});

describe("cancellation and timeout", () => {
  async function inMemoryClient(p: FastMCPProxy): Promise<{ client: Client; session: FrontSession }> {
    const connected = await connectSession(p);
    clients.push(connected.client);
    return connected;
  }

  it("a client that aborts a call: the backend sees the cancellation, the client an error, nothing stays pending", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    const { client, session } = await inMemoryClient(proxy);
    const before = observed.cancelled.length;
    const controller = new AbortController();
    const call = client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 2000 } } }, CallResult, { signal: controller.signal });
    await until(() => session.pending === 1, "the call to reach the proxy");
    const started = Date.now();
    controller.abort("user cancelled");
    const error = await rejection(call);
    expect(String(error)).toContain("user cancelled");
    await until(() => observed.cancelled.length === before + 1, "the backend to observe the cancellation");
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => session.pending === 0, "the proxy to forget the call");
    // The session still works.
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "still here" } })).content[0].text).toBe("still here");
    expect(session.pending).toBe(0);
  });

  it("a client that aborts a call over HTTP", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error" });
    const session = { get pending() { return proxy!.inFlight; } };
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const { client } = await clientNamed(url!, "http-canceller");
    const before = observed.cancelled.length;
    const controller = new AbortController();
    const call = client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 2000 } } }, CallResult, { signal: controller.signal });
    await until(() => session?.pending === 1, "the call to reach the proxy");
    controller.abort("user cancelled");
    expect(String(await rejection(call))).toContain("user cancelled");
    await until(() => observed.cancelled.length === before + 1, "the backend to observe the cancellation");
    await until(() => session!.pending === 0, "the proxy to forget the call");
  });

  it("a call that times out: the backend is cancelled, the client gets a Timeout error, nothing stays pending", async () => {
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "error", timeoutMs: 300 });
    const { client, session } = await inMemoryClient(proxy);
    const before = observed.cancelled.length;
    const started = Date.now();
    const error = await rejection(raw(client, "tools/call", { name: "slow", arguments: { ms: 2000 } }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error.code).toBe(ProxyErrorCode.Timeout);
    expect(error.message).toMatch(/did not answer tools\/call in time/);
    await until(() => observed.cancelled.length === before + 1, "the backend to observe the cancellation");
    expect(session.pending).toBe(0);
  });
});

/** A result schema that keeps everything (the tests read raw results). */
const CallResult = { safeParse: (data: unknown) => ({ success: true as const, data }) } as never;

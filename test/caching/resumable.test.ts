// Resumable streamable HTTP with the Redis event store: a client resuming with Last-Event-ID gets
// its missed events from Redis; another session's store replays none of them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { HttpHandler } from "@fastmcp-proxy/core/advanced";
import { RedisEventStores } from "@fastmcp-proxy/caching";
import { countingBackend } from "./fixtures.js";
import { redisAvailable, testRedis, type RedisServer } from "./redis-server.js";

let redis: RedisServer | undefined;
let proxy: FastMCPProxy | undefined;
let handler: HttpHandler | undefined;
let server: Server | undefined;
const families: RedisEventStores[] = [];
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await handler?.close();
  await proxy?.close();
  for (const f of families) await f.close();
  await redis?.stop();
});

describe.runIf(redisAvailable)("resumable sessions on Redis", () => {
  it("replays a stream's events after Last-Event-ID from Redis", async () => {
    redis = await testRedis();
    const prefix = `resume:${Date.now()}:`;
    const events = new RedisEventStores({ url: redis.url, prefix });
    const otherReplica = new RedisEventStores({ url: redis.url, prefix });
    families.push(events, otherReplica);
    await Promise.all([events.ready(), otherReplica.ready()]);
    proxy = FastMCPProxy.asProxy(countingBackend().server);
    handler = proxy.httpHandler({ eventStore: () => events.create() });
    server = createServer((req, res) => void handler!(req, res));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;

    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    const init = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "r", version: "1" } } }),
    });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    await fetch(url, { method: "POST", headers: { ...headers, "mcp-session-id": session }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    const call = await fetch(url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "lookup", arguments: { q: "resumed" } } }),
    });
    const stream = await call.text();
    const ids = [...stream.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(0);

    // The events are in Redis, but only this session's store replays them.
    const replayed: unknown[] = [];
    expect(await otherReplica.create().replayEventsAfter(ids[0]!, { send: async (_id, message) => void replayed.push(message) })).toBe("");
    expect(replayed).toEqual([]);

    const resumed = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25", "last-event-id": ids[0]! } });
    const reader = resumed.body!.getReader();
    let text = "";
    const deadline = Date.now() + 3000;
    while (!text.includes("resumed/1") && Date.now() < deadline) {
      const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), 500))]);
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain("resumed/1");
  });
});

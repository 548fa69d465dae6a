// A stream resumed on another replica: with the Redis event store shared by the fleet, the replica
// that takes the session up replays what the client missed, even when the first one is gone.
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { RedisEventStores } from "@fastmcp-proxy/caching";
import { FIXTURE } from "../helpers.js";
import { redisAvailable, testRedis, type RedisServer } from "../caching/redis-server.js";

let redis: RedisServer | undefined;
const proxies: FastMCPProxy[] = [];
const families: RedisEventStores[] = [];
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  for (const family of families) await family.close();
  await redis?.stop();
});

const FLEET_KEY = "the fleet key the replicas share, 32+ bytes";
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };

/** A replica as its own process would be: its own Redis client, the fleet's key and Redis prefix. */
async function replica(prefix: string): Promise<{ proxy: FastMCPProxy; url: string }> {
  const events = new RedisEventStores({ url: redis!.url, prefix });
  families.push(events);
  await events.ready();
  const proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0, sessions: "shared" });
  proxies.push(proxy);
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, fleetKey: FLEET_KEY, eventStore: (session) => events.create(session.key) });
  return { proxy, url: url! };
}

const post = (url: string, body: object, sessionId?: string) =>
  fetch(url, { method: "POST", headers: { ...HEADERS, ...(sessionId && { "mcp-session-id": sessionId }) }, body: JSON.stringify(body) });

/** Reads an SSE response to its end (the replayed stream of a finished POST ends after its events). */
async function readAll(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  let text = "";
  for (let chunks = 0; chunks < 100; chunks++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return text;
}

describe.runIf(redisAvailable)("resuming on another replica", () => {
  it("replays the stream from the shared Redis event store after the first replica is gone", async () => {
    redis = await testRedis();
    const prefix = `fleet-resume:${Date.now()}:`;
    const [a, b] = [await replica(prefix), await replica(prefix)];

    const init = await post(a.url, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "r", version: "1" } } });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    await post(a.url, { jsonrpc: "2.0", method: "notifications/initialized" }, session);
    const call = await post(a.url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "missed on A" } } }, session);
    const stream = await call.text();
    expect(stream).toContain("missed on A");
    // The priming event's id: the client saw that much before it lost the connection.
    const primed = /^id: (.+)$/m.exec(stream)![1]!;

    await a.proxy.close();
    const resumed = await fetch(b.url, { headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25", "last-event-id": primed } });
    expect(resumed.status).toBe(200);
    const replayed = await readAll(resumed);
    expect(replayed).toContain("missed on A");
    expect(replayed).toContain('"id":2');

    // The session goes on on B.
    const next = await post(b.url, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "on B" } } }, session);
    expect(await next.text()).toContain("on B");
  });
});

// The Redis event store behaves as core's MemoryEventStore does, and replays across replicas.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "@fastmcp-proxy/core";
import { MemoryEventStore } from "@fastmcp-proxy/core/advanced";
import { redisAvailable, testRedis, type RedisServer } from "../../../test/caching/redis-server.js";
import { RedisEventStores } from "./event-store.js";

let redis: RedisServer | undefined;
const families: RedisEventStores[] = [];
beforeAll(async () => {
  if (redisAvailable) redis = await testRedis();
});
afterAll(async () => {
  for (const f of families) await f.close();
  await redis?.stop();
});

const message = (id: number) => ({ jsonrpc: "2.0" as const, method: "notifications/message", params: { n: id } });

async function replay(store: EventStore, after: string) {
  const got: [string, unknown][] = [];
  const streamId = await store.replayEventsAfter(after, { send: async (id, m) => void got.push([id, m]) });
  return { streamId, got };
}

const redisFamily = () => {
  const family = new RedisEventStores({ url: redis!.url, prefix: `test:${Math.random()}:` });
  families.push(family);
  return family;
};

describe.each([
  ["memory (core)", () => new MemoryEventStore()],
  ["redis", async () => {
    const family = redisFamily();
    await family.ready();
    return family.create();
  }],
] as const)("%s event store", (kind, make) => {
  it.runIf(kind !== "redis" || redisAvailable)("replays the events of the same stream after the given one, in order", async () => {
    const store = await make();
    const ids = [];
    for (let i = 1; i <= 5; i++) ids.push(await store.storeEvent(i % 2 ? "post-1" : "_GET_stream", message(i)));
    expect(new Set(ids).size).toBe(5);
    expect(await store.getStreamIdForEventId?.(ids[0]!)).toBe("post-1");
    const { streamId, got } = await replay(store, ids[0]!);
    expect(streamId).toBe("post-1");
    expect(got.map(([, m]) => m)).toEqual([message(3), message(5)]);
    expect(got.map(([id]) => id)).toEqual([ids[2], ids[4]]);
    expect((await replay(store, ids[1]!)).got.map(([, m]) => m)).toEqual([message(4)]);
    expect(await replay(store, "unknown-event")).toEqual({ streamId: "", got: [] });
  });
});

describe("redis event store across sessions", () => {
  it.runIf(redisAvailable)("an event id replays only through the store (session) that issued it", async () => {
    const prefix = `test:${Math.random()}:`;
    const one = new RedisEventStores({ url: redis!.url, prefix });
    const two = new RedisEventStores({ url: redis!.url, prefix });
    families.push(one, two);
    await Promise.all([one.ready(), two.ready()]);
    const writer = one.create();
    const first = await writer.storeEvent("s", message(1));
    await writer.storeEvent("s", message(2));
    expect((await replay(writer, first)).got.map(([, m]) => m)).toEqual([message(2)]);
    for (const reader of [one.create(), two.create()]) {
      expect(await reader.getStreamIdForEventId?.(first)).toBeUndefined();
      expect(await replay(reader, first)).toEqual({ streamId: "", got: [] });
    }
  });
});

describe("redis event store: one session's bytes", () => {
  it.runIf(redisAvailable)("past its budget a session's events are sent unstored, and another session on the same Redis still stores", async () => {
    const family = new RedisEventStores({ url: redis!.url, prefix: `test:${Math.random()}:`, maxBytes: 10_000 });
    families.push(family);
    await family.ready();
    const big = (n: number) => ({ jsonrpc: "2.0" as const, id: n, result: { content: [{ type: "text", text: "x".repeat(3000) }] } });
    const greedy = family.create();
    const ids = [];
    for (let i = 1; i <= 4; i++) ids.push(await greedy.storeEvent("s", big(i)));
    expect(ids.map((id) => id.includes(".unstored-"))).toEqual([false, false, false, true]);
    expect(family.unstored).toBe(1);
    expect((await replay(greedy, ids[0]!)).got.map(([, m]) => (m as { id: number }).id)).toEqual([2, 3]);
    // Another session has its own budget.
    const other = family.create();
    const first = await other.storeEvent("s", big(1));
    await other.storeEvent("s", big(2));
    expect((await replay(other, first)).got).toHaveLength(1);
  });
});

describe("redis event store of one session on two replicas", () => {
  it.runIf(redisAvailable)("stores made with the same session key replay each other's events; a bad key is refused", async () => {
    const prefix = `test:${Math.random()}:`;
    const one = new RedisEventStores({ url: redis!.url, prefix });
    const two = new RedisEventStores({ url: redis!.url, prefix });
    families.push(one, two);
    await Promise.all([one.ready(), two.ready()]);
    const key = "c2Vzc2lvbi1rZXktb25l";
    const writer = one.create(key);
    const first = await writer.storeEvent("s", message(1));
    await writer.storeEvent("s", message(2));
    const reader = two.create(key);
    expect(await reader.getStreamIdForEventId?.(first)).toBe("s");
    expect((await replay(reader, first)).got.map(([, m]) => m)).toEqual([message(2)]);
    expect(await replay(two.create("another-session-key"), first)).toEqual({ streamId: "", got: [] });
    expect(() => one.create("a.b:c")).toThrow(/session key/);
  });
});

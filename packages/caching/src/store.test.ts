// One contract, every store: memory, and Redis on a real redis-server.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisAvailable, testRedis, type RedisServer } from "../../../test/caching/redis-server.js";
import { memoryStore } from "./memory-store.js";
import { redisStore } from "./redis-store.js";
import type { CacheStore } from "./store.js";

let redis: RedisServer | undefined;
beforeAll(async () => {
  if (redisAvailable) redis = await testRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const stores: [string, () => Promise<CacheStore>][] = [
  ["memory", async () => memoryStore()],
  ["redis", async () => {
    const store = redisStore({ url: redis!.url, prefix: `test:${randomUUID()}:` });
    await store.ready!();
    return store;
  }],
];

describe.each(stores)("%s store contract", (kind, make) => {
  const enabled = kind === "memory" || redisAvailable;
  let store: CacheStore;
  beforeAll(async () => {
    if (enabled) store = await make();
  });
  afterAll(async () => {
    await store?.close();
  });

  it.runIf(enabled)("gets what was set, undefined for what was not, in key order", async () => {
    await store.set("a", "1", 10_000);
    await store.set("b", "two\nlines é", 10_000);
    expect(await store.get(["b", "missing", "a"])).toEqual(["two\nlines é", undefined, "1"]);
    expect(await store.get([])).toEqual([]);
  });

  it.runIf(enabled)("replaces a value and forgets it after its TTL", async () => {
    await store.set("ttl", "old", 10_000);
    await store.set("ttl", "new", 60);
    expect(await store.get(["ttl"])).toEqual(["new"]);
    await new Promise((r) => setTimeout(r, 150));
    expect(await store.get(["ttl"])).toEqual([undefined]);
  });

  it.runIf(enabled)("add sets only absent keys and returns what each key holds", async () => {
    await store.set("held", "first", 10_000);
    expect(await store.add([["held", "second"], ["fresh", "mine"]], 10_000)).toEqual(["first", "mine"]);
    expect(await store.get(["held", "fresh"])).toEqual(["first", "mine"]);
    // Racing adders agree on one winner.
    const answers = await Promise.all([store.add([["race", "x"]], 10_000), store.add([["race", "y"]], 10_000)]);
    expect(answers[0]).toEqual(answers[1]);
  });

  it.runIf(enabled)("touch gives keys that exist a new TTL, and creates none", async () => {
    await store.set("t1", "kept", 100);
    await store.touch!(["t1", "t-never"], 10_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(await store.get(["t1", "t-never"])).toEqual(["kept", undefined]);
    await store.touch!([], 10_000);
  });

  it.runIf(enabled)("deletes keys", async () => {
    await store.set("d1", "1", 10_000);
    await store.set("d2", "2", 10_000);
    await store.delete(["d1", "d2", "never"]);
    await store.delete([]);
    expect(await store.get(["d1", "d2"])).toEqual([undefined, undefined]);
  });
});

describe("memory store bounds", () => {
  it("evicts the least recently used entry past maxEntries and counts it", async () => {
    const store = memoryStore({ maxEntries: 2 });
    await store.set("e:a", "1", 10_000);
    await store.set("e:b", "2", 10_000);
    await store.get(["e:a"]);
    await store.set("e:c", "3", 10_000);
    expect(await store.get(["e:a", "e:b", "e:c"])).toEqual(["1", undefined, "3"]);
    expect(store.stats!()).toMatchObject({ entries: 2, evictions: 1 });
    // A generation stamp takes room, but is no entry.
    await store.set("g:*", "stamp", 10_000);
    expect(store.stats!()).toMatchObject({ entries: 1, evictions: 2 });
  });

  it("stays within maxBytes and does not store a value larger than it", async () => {
    const store = memoryStore({ maxBytes: 100 });
    await store.set("big", "x".repeat(200), 10_000);
    expect(await store.get(["big"])).toEqual([undefined]);
    for (let i = 0; i < 10; i++) await store.set(`k${i}`, "y".repeat(30), 10_000);
    expect(store.stats!().bytes).toBeLessThanOrEqual(100);
  });

  it("refuses nonsense bounds with a clear error", () => {
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(/maxEntries must be a positive integer/);
  });
});

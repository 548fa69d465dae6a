// The leak matrix (issue 19): two deployments whose same-named servers differ only in credentials
// (an HTTP server's headers, a stdio server's env) share one real Redis; three callers (two
// principals and one anonymous) ask every cached method on each. Every caller reads back its own
// entry, and nobody ever reads another caller's or another deployment's.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { caching, redisStore, type CachingMiddleware } from "@fastmcp-proxy/caching";
import { client, countingBackend, serveHttp, text } from "./fixtures.js";
import { redisAvailable, testRedis, type RedisServer } from "./redis-server.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/fixture-server.mjs", import.meta.url));
const DEPLOYMENTS = ["one", "two"] as const;
const CALLERS = {
  alice: { token: "alice-token", clientId: "test", scopes: [], extra: { identity: "https://idp.test alice" } },
  bob: { token: "bob-token", clientId: "test", scopes: [], extra: { identity: "https://idp.test bob" } },
  anonymous: undefined,
};
type Ask = (c: Awaited<ReturnType<typeof client>>) => Promise<unknown>;
const METHODS: Record<string, Ask> = {
  "resources/read (resource)": (c) => c.readResource({ uri: "data://data/doc" }),
  "resources/read (template)": (c) => c.readResource({ uri: "data://data/items/7" }),
  "prompts/get": (c) => c.getPrompt({ name: "data_greet", arguments: { name: "ann" } }),
  "tools/call (HTTP, headers)": (c) => c.callTool({ name: "data_lookup", arguments: { q: "matrix" } }),
  "tools/call (stdio, env)": (c) => c.callTool({ name: "local_whoami", arguments: {} }),
};

let redis: RedisServer | undefined;
let http: Awaited<ReturnType<typeof serveHttp>> | undefined;
const proxies: FastMCPProxy[] = [];
const caches: CachingMiddleware[] = [];
beforeAll(async () => {
  if (!redisAvailable) return;
  redis = await testRedis();
  http = await serveHttp(countingBackend());
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const c of caches) await c.close();
  await http?.close();
  await redis?.stop();
});

/** One deployment: the same server names, URL and command as the other, its own credentials. */
async function deployment(name: string, prefix: string): Promise<{ proxy: FastMCPProxy; cache: CachingMiddleware }> {
  const proxy = FastMCPProxy.asProxy({
    mcpServers: {
      data: { url: http!.url, headers: { "x-deployment": name } },
      local: { command: process.execPath, args: [FIXTURE, "stdio"], env: { FIXTURE_GREETING: name } },
    },
  });
  // A store slower than storeTimeoutMs counts as a miss (fail open): on a loaded CI machine 100 ms was
  // sometimes too short for Redis, and a missed write read as a leak-matrix failure.
  const cache = caching({ store: redisStore({ url: redis!.url, prefix }), storeTimeoutMs: 5_000, tools: { data_lookup: true, local_whoami: { force: true } } });
  await cache.install(proxy);
  proxies.push(proxy);
  caches.push(cache);
  return { proxy, cache };
}

describe.runIf(redisAvailable)("leak matrix: 2 deployments × 3 callers × every cached method on one Redis", () => {
  it("every caller reads back its own entries and nobody else's", async () => {
    const prefix = `matrix:${Math.random()}:`;
    const firsts = new Map<string, string>();
    for (const name of DEPLOYMENTS) {
      const { proxy, cache } = await deployment(name, prefix);
      for (const [who, auth] of Object.entries(CALLERS)) {
        const c = await client(proxy, auth);
        for (const [method, ask] of Object.entries(METHODS)) {
          const cell = `${name} ${who} ${method}`;
          const first = text(await ask(c));
          // The answer is this deployment's (its headers or env reached the backend), and new.
          expect(first, cell).toMatch(name === "one" ? /@one|\\"env\\":\\"one\\"/ : /@two|\\"env\\":\\"two\\"/);
          expect([...firsts.entries()].find(([, seen]) => seen === first)?.[0], cell).toBeUndefined();
          firsts.set(cell, first);
          expect(text(await ask(c)), `${cell}, asked again`).toBe(first);
        }
      }
      const cells = Object.keys(CALLERS).length * Object.keys(METHODS).length;
      expect(cache.stats().outcomes).toEqual({ miss: cells, hit: cells });
    }
  });
});

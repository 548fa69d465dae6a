// The smaller HAProxy variant of the fleet test: three CLI replicas behind HAProxy with the config
// docs/deployment.md shows (round robin, /readyz checks on the ops port). Skipped only where HAProxy
// is not installed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, testRedis, type RedisServer } from "../caching/redis-server.js";
import { stopAll } from "../cli/process.js";
import { findBinary, startHttpFixture, startHaproxy, startReplicas, type Balancer, type Exchange, type Replica } from "./balancer.js";
import { CALL_TIMEOUT_MS, callRepeatedly, legacyClient, modernClient, text, times } from "./clients.js";

const HAPROXY = findBinary("haproxy");

describe.skipIf(!HAPROXY)(`3 replicas behind HAProxy, round robin${HAPROXY ? "" : " (skipped: HAProxy is not installed; apt-get install -y haproxy)"}`, () => {
  let redis: RedisServer;
  let replicas: Replica[];
  let haproxy: Balancer;
  let backend: { url: string; stop(): Promise<void> };

  beforeAll(async () => {
    redis = await testRedis();
    backend = await startHttpFixture();
    replicas = await startReplicas(3, { redisUrl: redis.url, backend: [backend.url] });
    haproxy = await startHaproxy(HAPROXY!, replicas, await freePort());
  }, 30_000);

  afterAll(async () => {
    await haproxy?.stop();
    await stopAll();
    await backend?.stop();
    await redis?.stop();
  });

  it("sessions of both eras connect and every call succeeds; a bridged sampling call completes across replicas", async () => {
    const log: Exchange[] = [];
    const clients = await Promise.all([...times(4, () => legacyClient(haproxy.url, log)), ...times(2, () => modernClient(haproxy.url, log))]);
    try {
      const outcomes = await Promise.all(clients.map((client, i) => callRepeatedly(client, `client ${i}`, 4)));
      expect(outcomes.flatMap((o) => o.failures), haproxy.log()).toEqual([]);
      expect(new Set(log.map((e) => e.servedBy)).size).toBe(3); // round robin spread them

      const asker = await modernClient(haproxy.url, log);
      try {
        const before = log.length;
        for (let i = 0; i < 2; i++) {
          const result = await asker.callTool({ name: "ask", arguments: { what: "sampling" } }, { timeout: CALL_TIMEOUT_MS });
          expect(JSON.parse(text(result))).toMatchObject({ content: { text: "sampled" } });
        }
        expect(new Set(log.slice(before).map((e) => e.servedBy)).size).toBeGreaterThan(1);
      } finally {
        await asker.close();
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 45_000);
});

// The smaller HAProxy variant of the fleet test: three CLI replicas behind HAProxy with the config
// docs/deployment.md shows (round robin, /readyz checks on the ops port). Skipped only where HAProxy
// is not installed.
import { describe, expect, it } from "vitest";
import { findBinary, startHaproxy, fleetBehind, type Exchange } from "./balancer.js";
import { CALL_TIMEOUT_MS, callRepeatedly, legacyClient, modernClient, text, times } from "./clients.js";

const HAPROXY = findBinary("haproxy");

describe.skipIf(!HAPROXY)(`3 replicas behind HAProxy, round robin${HAPROXY ? "" : " (skipped: HAProxy is not installed; apt-get install -y haproxy)"}`, () => {
  const fleet = fleetBehind((replicas, port) => startHaproxy(HAPROXY!, replicas, port));

  it("sessions of both eras connect and every call succeeds; a bridged sampling call completes across replicas", async () => {
    const log: Exchange[] = [];
    const clients = await Promise.all([...times(4, () => legacyClient(fleet.balancer.url, log)), ...times(2, () => modernClient(fleet.balancer.url, log))]);
    try {
      const outcomes = await Promise.all(clients.map((client, i) => callRepeatedly(client, `client ${i}`, 4)));
      expect(outcomes.flatMap((o) => o.failures), fleet.balancer.log()).toEqual([]);
      expect(new Set(log.map((e) => e.servedBy)).size).toBe(3); // round robin spread them

      const asker = await modernClient(fleet.balancer.url, log);
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

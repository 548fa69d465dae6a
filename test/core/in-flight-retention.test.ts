// A call's objects die with the call. V8 links each hash table a Map or Set outgrows to the next; once
// one of them is in the old generation, a table of requests in flight that fills and empties keeps
// every later call alive through the scavenges, until the next full GC (docs/performance.md, "Round 3,
// sixth session"). Measured here after a full GC: what many forwarded calls leave behind once the
// young generation has been collected twice.
import { setFlagsFromString, getHeapSpaceStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { InFlightMap } from "../../packages/core/src/in-flight.js";
import { FIXTURE } from "../helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
const spaceUsed = (name: string) => getHeapSpaceStatistics().find((space) => space.space_name === name)!.space_used_size;

/** Bytes that `churn` leaves alive past two scavenges, counted from a full GC. */
async function retainedBy(churn: () => Promise<void> | void): Promise<number> {
  gc();
  const oldBefore = spaceUsed("old_space");
  await churn();
  gc({ type: "minor" });
  gc({ type: "minor" });
  return spaceUsed("old_space") - oldBefore + spaceUsed("new_space");
}

describe("what a finished call leaves alive", () => {
  it("a Map that fills and empties keeps its old entries through scavenges; an InFlightMap does not", async () => {
    const churn = (table: { set(id: number, value: unknown): unknown; delete(id: number): unknown }) => () => {
      for (let id = 0; id < 60_000; id++) {
        table.set(id, new Array(24).fill(id));
        table.delete(id - 16);
      }
    };
    const map = new Map<number, unknown>();
    churn(map)(); // its table now grown to its working size
    expect(await retainedBy(churn(map))).toBeGreaterThan(5_000_000); // the V8 behaviour the class works around (about 10 MB)
    const table = new InFlightMap<number, unknown>();
    churn(table)();
    expect(await retainedBy(churn(table))).toBeLessThan(2_000_000);
  });

  describe("through the proxy (memory front, stdio backend)", () => {
    let proxy: FastMCPProxy | undefined;
    afterAll(async () => {
      await proxy?.close();
    });

    it("keeps no finished call alive through the scavenges", { timeout: 60_000 }, async () => {
      proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await proxy.connect(serverSide);
      // A raw client, its requests by id in an array: an SDK Client (or a Map) here would chain tables of its own.
      const waiting: Array<(() => void) | undefined> = [];
      clientSide.onmessage = (message: JSONRPCMessage) => {
        if ("id" in message && !("method" in message)) waiting[message.id as number]?.();
      };
      let nextId = 0;
      const request = (method: string, params: Record<string, unknown>) =>
        new Promise<void>((resolve) => {
          const id = ++nextId;
          waiting[id] = () => {
            waiting[id] = undefined;
            resolve();
          };
          void clientSide.send({ jsonrpc: "2.0", id, method, params });
        });
      await clientSide.start();
      await request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } });
      await clientSide.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      const calls = (count: number) => async () => {
        let left = count;
        const worker = async () => {
          while (left-- > 0) await request("tools/call", { name: "echo", arguments: { text: "x".repeat(200) } });
        };
        await Promise.all(Array.from({ length: 16 }, worker));
      };
      await calls(2_000)(); // every table at its working size
      const retained = await retainedBy(calls(6_000));
      // Before: every call since the full GC (about 3 KB each); now what 16 calls in flight and the
      // proxy's own caches hold.
      expect(retained).toBeLessThan(6_000 * 1_000);
      await clientSide.close();
    });
  });
});

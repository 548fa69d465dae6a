import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fleetSubkey } from "./fleet-key.js";
import { SessionIds, boundTo, newSessionKey } from "./session-ids.js";

const fleet = "a fleet key of at least thirty-two bytes";
const initialize = { protocolVersion: "2025-11-25", capabilities: { sampling: {}, roots: { listChanged: true } }, clientInfo: { name: "client", version: "1.0" } };

describe("sealed session ids", () => {
  it("open on every replica holding the fleet key, with what the session needs", () => {
    const key = newSessionKey();
    const id = new SessionIds(fleetSubkey(fleet, "session-id")).issue({ initialize, identity: "alice", key });
    const claims = new SessionIds(fleetSubkey(fleet, "session-id")).open(id)!;
    expect(claims.initialize).toEqual(initialize);
    expect(claims.key).toBe(key);
    expect(boundTo(claims, "alice")).toBe(true);
    expect(boundTo(claims, "bob")).toBe(false);
    expect(boundTo(claims, undefined)).toBe(false);
    expect(id).not.toContain("alice");
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("do not open with another key, tampered with, or made up", () => {
    const ids = new SessionIds(fleetSubkey(fleet, "session-id"));
    const id = ids.issue({ initialize, identity: undefined, key: newSessionKey() });
    expect(boundTo(ids.open(id)!, undefined)).toBe(true);
    expect(new SessionIds(fleetSubkey(`${fleet}!`, "session-id")).open(id)).toBeUndefined();
    expect(new SessionIds(fleetSubkey(fleet, "request-state")).open(id)).toBeUndefined();
    const flipped = Buffer.from(id, "base64url");
    flipped[flipped.length - 1]! ^= 1;
    expect(ids.open(flipped.toString("base64url"))).toBeUndefined();
    for (const garbage of ["", "x", "not an id!", crypto.randomUUID(), "A".repeat(5000), randomBytes(64).toString("base64url")]) {
      expect(ids.open(garbage)).toBeUndefined();
    }
  });

  it("stay under 1 KB, however large the client's declaration", () => {
    const huge = {
      protocolVersion: "x".repeat(10_000),
      capabilities: { sampling: { context: {}, tools: {} }, elicitation: { form: {}, url: {} }, roots: { listChanged: true }, experimental: { big: { blob: "y".repeat(10_000) } } },
      clientInfo: { name: "名".repeat(10_000), version: "v".repeat(10_000), icons: [{ src: "z".repeat(10_000) }] },
    };
    const ids = new SessionIds(randomBytes(32));
    const id = ids.issue({ initialize: huge, identity: "i".repeat(10_000), key: newSessionKey() });
    expect(id.length).toBeLessThan(1024);
    // What is dropped is what the proxy does not relay.
    expect(ids.open(id)!.initialize.capabilities).toEqual({ sampling: { context: {}, tools: {} }, elicitation: { form: {}, url: {} }, roots: { listChanged: true } });
  });
});

import { describe, expect, it } from "vitest";
import { fleetSubkey } from "./fleet-key.js";

describe("fleetSubkey", () => {
  const key = "a fleet key of at least thirty-two bytes";

  it("gives each purpose its own 32-byte subkey, the same on every replica", () => {
    const sessions = fleetSubkey(key, "session-id");
    expect(sessions).toHaveLength(32);
    expect(fleetSubkey(Buffer.from(key), "session-id").equals(sessions)).toBe(true);
    expect(fleetSubkey(key, "request-state").equals(sessions)).toBe(false);
    expect(fleetSubkey(`${key}!`, "session-id").equals(sessions)).toBe(false);
  });

  it("refuses a short key with the way to make one", () => {
    expect(() => fleetSubkey("short", "session-id")).toThrow(/at least 32 bytes.*openssl rand -base64 32/);
  });
});

import { describe, expect, it } from "vitest";
import { Breaker, StoreUnavailable } from "./breaker.js";

const cooldown = () => new Promise((resolve) => setTimeout(resolve, 80));

describe("store breaker", () => {
  it("times a call out, opens after N failures, probes once after the cooldown, and closes on success", async () => {
    const states: string[] = [];
    const breaker = new Breaker(30, { failures: 2, cooldownMs: 50 }, (s) => states.push(s));
    const hang = () => new Promise<never>(() => {});
    const started = performance.now();
    await expect(breaker.run(hang)).rejects.toMatchObject({ reason: "timeout" });
    expect(performance.now() - started).toBeLessThan(500);
    await expect(breaker.run(() => Promise.reject(new Error("ECONNREFUSED")))).rejects.toMatchObject({ reason: "error" });
    expect(breaker.state).toBe("open");
    let asked = 0;
    await expect(breaker.run(async () => ++asked)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(asked).toBe(0);
    await cooldown();
    // A failing probe opens it again for another cooldown.
    await expect(breaker.run(() => Promise.reject(new Error("still down")))).rejects.toMatchObject({ reason: "error" });
    expect(breaker.state).toBe("open");
    await cooldown();
    expect(await breaker.run(async () => "back")).toBe("back");
    expect(breaker.state).toBe("closed");
    expect(states).toEqual(["open", "half-open", "open", "half-open", "closed"]);
    expect(breaker.opened).toBe(2);
  });
});

// What each client leaves on a backend session several clients share: its subscriptions and its log level.
import { describe, expect, it } from "vitest";
import type { Channel } from "../tenant.js";
import { LogLevels } from "./log-levels.js";
import { Subscriptions } from "./subscriptions.js";

const client = (): Channel => ({ capabilities: undefined, notify: async () => {} });

describe("Subscriptions", () => {
  it("ends the backend's subscription only when its last subscriber lets go", () => {
    const [a, b, c] = [client(), client(), client()];
    const table = new Subscriptions();
    expect([table.add("u", a), table.add("u", b), table.add("u", a)]).toEqual([true, true, false]);
    expect(table.of("u")).toEqual([a, b]);
    expect(table.remove("u", c)).toBe(false); // c never subscribed: a and b still want it
    expect(table.remove("u", a)).toBe(false);
    expect(table.remove("u", b)).toBe(true);
    expect([table.size, table.of("u"), table.remove("nobody's", a)]).toEqual([0, [], true]);
  });

  it("forgets a client everywhere, naming the URIs nobody else wants", () => {
    const [a, b] = [client(), client()];
    const table = new Subscriptions();
    table.add("mine", a);
    table.add("ours", a);
    table.add("ours", b);
    expect(table.forget(a)).toEqual(["mine"]);
    expect([table.of("ours"), table.of(42)]).toEqual([[b], []]);
  });
});

describe("LogLevels", () => {
  it("sets the backend to the most verbose level asked for, and sends each client what its own level allows", () => {
    const [a, b, quiet] = [client(), client(), client()];
    const levels = new LogLevels();
    expect(levels.set(a, "warning")).toBe("warning");
    expect(levels.set(b, "debug")).toBe("debug");
    expect([levels.wants(a, "info"), levels.wants(a, "error"), levels.wants(b, "debug")]).toEqual([false, true, true]);
    expect([levels.wants(quiet, "debug"), levels.wants(a, "not a level")]).toEqual([true, false]);
    expect(levels.forget(b)).toBe("warning");
    expect(levels.forget(a)).toBeUndefined();
  });
});

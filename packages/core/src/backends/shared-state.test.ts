// What each client leaves on a backend session several clients share: its subscriptions and its log level.
import { describe, expect, it } from "vitest";
import type { Channel } from "../tenant.js";
import { LogLevels } from "./log-levels.js";
import { MAX_SUBSCRIBED_URI_CHARS, MAX_SUBSCRIPTIONS, Subscriptions } from "./subscriptions.js";

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

  it("bounds what one client holds, and only that client's", () => {
    const [a, b] = [client(), client()];
    const table = new Subscriptions();
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) table.add(`u${i}`, a);
    expect(() => table.add("one more", a)).toThrow(/Too many subscriptions/);
    expect(table.add("u0", a)).toBe(false); // one it holds already is no more
    expect(table.add("one more", b)).toBe(true);
    table.remove("u0", a);
    expect(table.add("one more", a)).toBe(true);
    // Its URIs' characters too.
    expect(() => table.add("x".repeat(MAX_SUBSCRIBED_URI_CHARS + 1), b)).toThrow(/Too many subscriptions/);
    expect(table.forget(a)).toHaveLength(MAX_SUBSCRIPTIONS - 1); // "one more" is b's too
    expect(table.add("x".repeat(MAX_SUBSCRIBED_URI_CHARS - 8), a)).toBe(true);
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

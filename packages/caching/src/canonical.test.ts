import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonical } from "./canonical.js";
import { entryKey } from "./keys.js";

/** The same object with its keys (at every depth) in another order. */
function shuffled(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffled(v, seed + i));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const order = entries.map((e, i) => [((i + 1) * (seed + 7919)) % 104729, e] as const).sort((a, b) => a[0] - b[0]);
  return Object.fromEntries(order.map(([, [k, v]]) => [k, shuffled(v, seed + 1)]));
}

const target = { method: "tools/call", backend: "b", name: "t" } as const;

describe("canonical keys", () => {
  it("key order at any depth does not change the key (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        expect(canonical(shuffled(value, seed))).toBe(canonical(value));
      }),
      { numRuns: 300 },
    );
  });

  it("different arguments give different canonical text (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        fc.pre(JSON.stringify(canonical(a)) !== JSON.stringify(canonical(b)));
        expect(entryKey(target, "p", canonical(a)!)).not.toBe(entryKey(target, "p", canonical(b)!));
      }),
      { numRuns: 200 },
    );
  });

  it("a different principal never shares a key (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.jsonValue(), (p1, p2, args) => {
        fc.pre(p1 !== p2);
        const text = canonical(args)!;
        expect(entryKey(target, `id:${p1}`, text)).not.toBe(entryKey(target, `id:${p2}`, text));
      }),
      { numRuns: 200 },
    );
  });

  it("is JSON.stringify with sorted keys, undefined members left out", () => {
    expect(canonical({ b: 1, a: [3, { d: null, c: "x" }], u: undefined })).toBe('{"a":[3,{"c":"x","d":null}],"b":1}');
    expect(JSON.parse(canonical({ z: 1, y: { x: [1, 2] } })!)).toEqual({ z: 1, y: { x: [1, 2] } });
  });

  it("refuses values too deep, too long, or not JSON", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(canonical(deep)).toBeUndefined();
    expect(canonical({ s: "x".repeat(70_000) })).toBeUndefined();
    expect(canonical({ n: 1n })).toBeUndefined();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(canonical(cycle)).toBeUndefined();
    expect(canonical({ s: "ok" }, { maxDepth: 32, maxBytes: 8 })).toBeUndefined();
  });
});

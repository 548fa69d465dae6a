import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, boundedCopy, boundedString, jsonSize } from "./bounded.js";
import { REDACTED, Redaction } from "./redact.js";

const scrubber = () => new Redaction().scrubber();

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) value = { child: value };
  return value;
}

describe("boundedCopy", () => {
  it("copies ordinary payloads unchanged", () => {
    const value = { name: "echo", arguments: { text: "hi", n: 3, on: true, none: null, list: [1, "two", { three: 3 }] } };
    expect(boundedCopy(value, ["params"], scrubber())).toEqual(value);
  });

  it("survives nesting that makes JSON.stringify throw a RangeError", () => {
    const value = deep(200_000);
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const copy = boundedCopy(value, ["params"], scrubber()) as Record<string, unknown>;
    const text = JSON.stringify(copy);
    expect(text).toContain("[Object]");
    expect(text.length).toBeLessThan(200);
  });

  it("marks cycles instead of following them, and keeps shared (non-cyclic) objects", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    const shared = { x: 1 };
    const copy = boundedCopy({ a, left: shared, right: shared, list: [a] }, ["result"], scrubber()) as any;
    expect(copy.a.self).toBe("[Circular]");
    expect(copy.list[0].self).toBe("[Circular]");
    expect(copy.left).toEqual({ x: 1 });
    expect(copy.right).toEqual({ x: 1 });
  });

  it("bounds huge strings, wide objects and long arrays, saying how much was left out", () => {
    const huge = "x".repeat(20 * 1024 * 1024);
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    const copy = boundedCopy({ huge, wide, long: Array.from({ length: 1_000_000 }, (_, i) => i) }, ["params"], scrubber()) as any;
    expect(copy.huge.length).toBeLessThan(DEFAULT_LIMITS.maxStringLength + 40);
    expect(copy.huge).toMatch(/…\[\+\d+ chars\]$/);
    expect(Object.keys(copy.wide)).toHaveLength(DEFAULT_LIMITS.maxItems + 1);
    expect(copy.wide["…"]).toBe(`[+${10_000 - DEFAULT_LIMITS.maxItems} more keys]`);
    expect(copy.long).toHaveLength(DEFAULT_LIMITS.maxItems + 1);
    expect(copy.long.at(-1)).toBe(`[+${1_000_000 - DEFAULT_LIMITS.maxItems} more]`);
    expect(JSON.stringify(copy).length).toBeLessThan(DEFAULT_LIMITS.maxBytes * 2);
  });

  it("keeps the whole copy within the byte budget", () => {
    const many = Array.from({ length: 50 }, () => ({ text: "y".repeat(900), more: Array.from({ length: 50 }, () => "z".repeat(900)) }));
    const copy = boundedCopy(many, ["result"], scrubber(), { ...DEFAULT_LIMITS, maxBytes: 8192 });
    expect(JSON.stringify(copy).length).toBeLessThan(8192 + 2048);
  });

  it("never throws on hostile values: throwing getters, revoked proxies, odd types", () => {
    const getter = Object.defineProperty({}, "boom", { enumerable: true, get: () => { throw new Error("no"); } });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const trap = new Proxy({}, { ownKeys: () => { throw new Error("trap"); } });
    const value = { getter, proxy, trap, big: 10n, fn: () => 1, sym: Symbol("s"), date: new Date(0), bad: new Date(NaN), bytes: new Uint8Array(12), map: new Map([[1, 2]]), nan: NaN, error: new TypeError("bad") };
    const copy = boundedCopy(value, ["params"], scrubber()) as any;
    expect(copy.getter).toEqual({ boom: "[Unreadable]" });
    expect(copy.proxy).toBe("[Unreadable]");
    expect(copy.trap).toBe("[Unreadable]");
    expect(copy).toMatchObject({ big: "10", fn: "[Function]", sym: "[Symbol]", date: "1970-01-01T00:00:00.000Z", bad: "[Invalid Date]", bytes: "[Uint8Array 12 bytes]", map: "[Map(1)]", nan: "NaN", error: { name: "TypeError", message: "bad" } });
    expect(() => JSON.stringify(copy)).not.toThrow();
  });

  it("redacts sensitive keys at any depth, named paths, and scrubs credentials from strings", () => {
    const rules = new Redaction({ paths: ["arguments.profile.ssn", "arguments.users.*.pin", "result.structuredContent.note"] });
    const params = {
      name: "t",
      arguments: { password: "hunter22", profile: { ssn: "123-45-6789", city: "Oslo" }, users: [{ pin: "9999", name: "bo" }], headers: { Authorization: "Bearer abc.def.ghi" } },
      _meta: { progressToken: 7, "example.com/token": "tok-123456", note: "call with Bearer zzzzzz" },
    };
    const s = rules.scrubber();
    s.collect(params, ["params"]);
    const copy = boundedCopy(params, ["params"], s) as any;
    expect(copy.arguments.password).toBe(REDACTED);
    expect(copy.arguments.profile).toEqual({ ssn: REDACTED, city: "Oslo" });
    expect(copy.arguments.users[0]).toEqual({ pin: REDACTED, name: "bo" });
    expect(copy.arguments.headers.Authorization).toBe(REDACTED);
    expect(copy._meta.progressToken).toBe(7);
    expect(copy._meta["example.com/token"]).toBe(REDACTED);
    expect(copy._meta.note).toBe(`call with Bearer ${REDACTED}`);
    // the values learnt from params are scrubbed from anything else of the same entry
    expect(boundedCopy({ text: "your ssn is 123-45-6789 and pw hunter22", note: "n" }, ["result"], s)).toEqual({ text: `your ssn is ${REDACTED} and pw ${REDACTED}`, note: "n" });
    expect(boundedCopy({ structuredContent: { note: "x" } }, ["result"], s)).toEqual({ structuredContent: { note: REDACTED } });
  });

  it("scrubs a secret that straddles a truncation point", () => {
    const s = new Redaction().scrubber();
    const secret = "S3CRET-VALUE-THAT-IS-LONG";
    s.addSecret(secret);
    const text = `${"a".repeat(990)}${secret}${"b".repeat(5000)}`;
    const out = boundedString(text, s, 1000);
    expect(out).not.toContain("S3CRET");
    expect(out).not.toContain(secret.slice(0, 10));
  });
});

describe("jsonSize", () => {
  it("matches JSON.stringify's length for ordinary payloads", () => {
    const value = { content: [{ type: "text", text: "héllo wörld" }], structuredContent: { a: [1, 2.5, -3], b: null, c: true, d: false }, n: 1e21 };
    expect(jsonSize(value)).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it("measures what JSON.stringify cannot: deep nesting and cycles", () => {
    const value = deep(300_000);
    expect(jsonSize(value)).toBeGreaterThan(300_000 * 10);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(jsonSize(cyclic)).toBeGreaterThan(0);
  });

  it("stops at the node budget (a lower bound) instead of walking forever", () => {
    const big = Array.from({ length: 100_000 }, (_, i) => i);
    expect(jsonSize(big, 1000)).toBeLessThan(jsonSize(big));
  });
});

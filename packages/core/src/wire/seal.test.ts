import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seal, unseal } from "./seal.js";

describe("seal", () => {
  const key = randomBytes(32);

  it("opens only with its key and context, and never when altered", () => {
    const sealed = seal(key, "alice's state", "purpose\0alice");
    expect(sealed.toString("utf8")).not.toContain("alice's state");
    expect(unseal(key, sealed, "purpose\0alice")).toBe("alice's state");
    expect(unseal(key, sealed, "purpose\0bob")).toBeUndefined();
    expect(unseal(randomBytes(32), sealed, "purpose\0alice")).toBeUndefined();
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    expect(unseal(key, altered, "purpose\0alice")).toBeUndefined();
    expect(unseal(key, Buffer.alloc(10), "purpose\0alice")).toBeUndefined();
  });

  it("gives a fresh value each time (a fresh IV)", () => {
    expect(seal(key, "same", "c").equals(seal(key, "same", "c"))).toBe(false);
  });
});

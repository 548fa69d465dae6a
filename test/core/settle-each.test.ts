// settleEach (packages/core/src/backends/settle-each.ts): start-up's bounded parallel connect.
import { describe, expect, it } from "vitest";
import { settleEach } from "../../packages/core/src/backends/settle-each.js";

describe("settleEach", () => {
  it("runs at most `limit` at once, keeps the order of results, and settles failures like allSettled", async () => {
    let running = 0;
    let most = 0;
    const results = await settleEach([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 10 * (n % 3)));
      running--;
      if (n === 4) throw new Error("four");
      return n * 10;
    });
    expect(most).toBe(3);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([10, 20, 30, "four", 50, 60, 70]);
  });

  it("an empty list settles at once; a limit of 0 still runs one at a time", async () => {
    expect(await settleEach([], 4, async () => 1)).toEqual([]);
    expect(await settleEach(["a", "b"], 0, async (s) => s)).toEqual([
      { status: "fulfilled", value: "a" },
      { status: "fulfilled", value: "b" },
    ]);
  });
});

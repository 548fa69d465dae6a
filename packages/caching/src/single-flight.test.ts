import { describe, expect, it } from "vitest";
import { ProxyErrorCode } from "@fastmcp-proxy/core";
import { SingleFlight } from "./single-flight.js";

const never = new AbortController().signal;

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("single flight", () => {
  it("runs one call for concurrent identical keys, and forgets it once settled", async () => {
    const flights = new SingleFlight();
    let calls = 0;
    const gate = deferred<string>();
    const runs = Array.from({ length: 20 }, () => flights.run("k", () => (calls++, gate.promise), { signal: never, timeoutMs: 5000 }));
    expect(runs.filter((r) => r.leader)).toHaveLength(1);
    gate.resolve("v");
    expect(await Promise.all(runs.map((r) => r.promise))).toEqual(Array(20).fill("v"));
    expect(calls).toBe(1);
    expect(flights.size).toBe(0);
    await flights.run("k", async () => (calls++, "again"), { signal: never, timeoutMs: 5000 }).promise;
    expect(calls).toBe(2);
  });

  it("a waiter that cancels leaves; the call goes on for the others and is aborted only when all have gone", async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    let shared: AbortSignal | undefined;
    const first = new AbortController();
    const second = new AbortController();
    const a = flights.run("k", (signal) => ((shared = signal), gate.promise), { signal: first.signal, timeoutMs: 5000 });
    const b = flights.run("k", () => gate.promise, { signal: second.signal, timeoutMs: 5000 });
    const c = flights.run("k", () => gate.promise, { signal: never, timeoutMs: 5000 });
    first.abort(new Error("first cancelled"));
    await expect(a.promise).rejects.toThrow("first cancelled");
    expect(shared!.aborted).toBe(false);
    gate.resolve("v");
    expect(await b.promise).toBe("v");
    expect(await c.promise).toBe("v");

    const gate2 = deferred<string>();
    const x = new AbortController();
    const y = new AbortController();
    const p = flights.run("k2", (signal) => ((shared = signal), gate2.promise), { signal: x.signal, timeoutMs: 5000 });
    const q = flights.run("k2", () => gate2.promise, { signal: y.signal, timeoutMs: 5000 });
    x.abort();
    expect(shared!.aborted).toBe(false);
    y.abort();
    expect(shared!.aborted).toBe(true);
    await expect(p.promise).rejects.toBeDefined();
    await expect(q.promise).rejects.toBeDefined();
    // A new caller after everyone left starts a new call.
    expect(flights.run("k2", async () => "fresh", { signal: never, timeoutMs: 5000 }).leader).toBe(true);
  });

  it("each waiter keeps its own timeout", async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    const patient = flights.run("k", () => gate.promise, { signal: never, timeoutMs: 5000 });
    const hasty = flights.run("k", () => gate.promise, { signal: never, timeoutMs: 30 });
    const error = await hasty.promise.catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(ProxyErrorCode.Timeout);
    gate.resolve("late");
    expect(await patient.promise).toBe("late");
  });

  it("an error reaches every waiter and is not remembered", async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    const runs = [0, 1, 2].map(() => flights.run("k", () => gate.promise, { signal: never, timeoutMs: 5000 }));
    gate.reject(new Error("backend down"));
    for (const run of runs) await expect(run.promise).rejects.toThrow("backend down");
    expect(flights.size).toBe(0);
    const sync = flights.run("s", () => { throw new Error("sync throw"); }, { signal: never, timeoutMs: 5000 });
    await expect(sync.promise).rejects.toThrow("sync throw");
  });
});

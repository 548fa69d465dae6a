// Backend faults through the whole proxy (issue 12, defect 5 and scenario A6): a stdio backend
// that closes its stdout but stays alive is the backend's end. Real child processes; every wait bounded.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { alive, connectClient, raw, rejection, until } from "../helpers.js";

const HANGUP = fileURLToPath(new URL("./fixtures/hangup-server.mjs", import.meta.url));

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("a stdio backend that closes stdout and stays alive", () => {
  it.each(["isolated", "shared"] as const)("%s session: the call fails at once (not at the timeout), the child is ended, the next call is served", async (sessions) => {
    proxy = FastMCPProxy.asProxy([process.execPath, HANGUP], { logLevel: "silent", sessions, timeoutMs: 30_000, restart: { baseDelayMs: 50 } });
    const client = await connectClient(proxy);
    const first = await raw(client, "tools/call", { name: "echo", arguments: { text: "one" } });
    const pid = first.structuredContent.pid as number;
    const started = performance.now();
    const error = await rejection(raw(client, "tools/call", { name: "hangup", arguments: {} }));
    expect(performance.now() - started).toBeLessThan(2000); // not the 30 s timeout
    expect(error.code).toBe(-32010); // BackendUnavailable
    await until(() => !alive(pid), "the child's end", 3000);
    const next = await until(() => raw(client, "tools/call", { name: "echo", arguments: { text: "two" } }), "a call served again", 8000);
    expect(next).toMatchObject({ content: [{ text: "two" }] });
    expect(next.structuredContent.pid).not.toBe(pid);
  });
});

describe("requests in flight to one backend", () => {
  it("past one caller's share of the cap (256 of 1024) a call fails at once with BackendUnavailable instead of queueing; the rest are answered", async () => {
    const { createFixtureServer } = await import("../fixtures/fixture-server.mjs");
    proxy = FastMCPProxy.asProxy(createFixtureServer(), { logLevel: "silent" });
    const client = await connectClient(proxy);
    const calls = Array.from({ length: 1100 }, () =>
      raw(client, "tools/call", { name: "slow", arguments: { ms: 400 } }).then(
        () => "ok",
        (error: { code: number; message: string }) => `${error.code} ${error.message}`,
      ),
    );
    const outcomes = await Promise.all(calls);
    const refused = outcomes.filter((o) => o !== "ok");
    expect(refused.length).toBe(1100 - 256);
    expect(refused[0]).toMatch(/^-32010 .*Too many of your requests in flight to backend "backend" \(256, at most 256 of one caller's\)/);
    expect(await raw(client, "tools/call", { name: "echo", arguments: { text: "after" } })).toMatchObject({ content: [{ text: "after" }] });
  });
});

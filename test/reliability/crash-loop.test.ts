// Children of one backend that keep crashing, or stop answering. Every client's own child feeds one
// watcher per backend: past five crashes, calls fail fast saying the backend is down (no more spawns),
// and health reports it. A child that is alive but answers nothing is replaced after three timeouts
// in a row.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE, connectClient, raw, rejection } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const pidOf = async (client: Awaited<ReturnType<typeof connectClient>>) => JSON.parse((await raw(client, "tools/call", { name: "whoami", arguments: {} })).content[0].text).pid as number;

describe("a crash loop of per-client children", () => {
  it("past five crashes, calls fail fast with 'is down' and health says so; nothing more is spawned", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0, restart: false });
    const clients = await Promise.all([1, 2, 3].map(() => connectClient(proxy!)));
    // Each call ends its client's own child; the next call of that client opens a new one.
    for (let round = 0; round < 2; round++) {
      for (const client of clients) await rejection(raw(client, "tools/call", { name: "crash", arguments: {} }));
    }
    const error = await rejection(raw(clients[0]!, "tools/call", { name: "whoami", arguments: {} }));
    expect(error.message).toMatch(/Backend "backend" .* is down: its sessions crashed \d+ times/);
    const health = await proxy.health();
    expect(health.backends[0]).toMatchObject({ status: "down", error: expect.stringMatching(/crashed/) });
  }, 30_000);
});

describe("children slow to start", () => {
  it("are not a crash loop: five slow starts in a row, calls still try, and health does not say down", async () => {
    const slow = join(mkdtempSync(join(tmpdir(), "fmp-slow-")), "slow");
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"], env: { FIXTURE_SLOW_IF_EXISTS: slow } }, { logLevel: "error", spareSessions: 0, restart: false, connectTimeoutMs: 3000 });
    const client = await connectClient(proxy);
    writeFileSync(slow, "");
    // Each call's new child answers too late; its session is given up and the next call opens another.
    for (let i = 0; i < 5; i++) expect((await rejection(raw(client, "tools/call", { name: "whoami", arguments: {} }))).message).toMatch(/no answer to initialize/);
    expect((await proxy.health()).backends[0]?.status).not.toBe("down");
    rmSync(slow);
    expect(await pidOf(client)).toBeGreaterThan(0);
  }, 60_000);
});

describe("a child that stopped answering", () => {
  it("is replaced after three calls in a row time out", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0, timeoutMs: 200 });
    const client = await connectClient(proxy);
    const before = await pidOf(client);
    // `slow` for 2 s reports its first progress after 500 ms: each call times out first.
    for (let i = 0; i < 3; i++) await rejection(raw(client, "tools/call", { name: "slow", arguments: { ms: 2000 } }));
    const after = await pidOf(client);
    expect(after).not.toBe(before);
  }, 30_000);

  it("is kept while calls between the timeouts succeed", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0, timeoutMs: 200 });
    const client = await connectClient(proxy);
    const before = await pidOf(client);
    for (let i = 0; i < 4; i++) {
      await rejection(raw(client, "tools/call", { name: "slow", arguments: { ms: 2000 } }));
      expect(await pidOf(client)).toBe(before);
    }
  }, 30_000);
});

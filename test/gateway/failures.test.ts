import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { FIXTURE, alive, connectClient, raw, rejection, until } from "../helpers.js";

const NOISY = fileURLToPath(new URL("../fixtures/noisy-server.mjs", import.meta.url));

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const stdio = (env: Record<string, string> = {}) => ({ command: process.execPath, args: [FIXTURE, "stdio"], env });
const toolNames = async (client: Client) => (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name);
const pidOf = async (client: Client, tool: string) => JSON.parse((await raw(client, "tools/call", { name: tool, arguments: {} })).content[0].text).pid;


function listChangedCounter(client: Client) {
  const seen = { tools: 0 };
  client.fallbackNotificationHandler = async (n) => {
    if (n.method === "notifications/tools/list_changed") seen.tools++;
  };
  return seen;
}

describe("a backend that dies", () => {
  it("leaves the others answering, is restarted, and its tools come back with list_changed", async () => {
    proxy = FastMCPProxy.asProxy({ mcpServers: { a: stdio(), b: stdio() } }, { sessions: "shared", restart: { baseDelayMs: 1000 }, logLevel: "silent" });
    const client = await connectClient(proxy);
    const seen = listChangedCounter(client);
    const pid = await pidOf(client, "a_whoami");
    process.kill(pid, "SIGKILL");
    // Its tools leave the list (fail-open) and clients are told; the other backend keeps answering.
    await until(async () => !(await toolNames(client)).includes("a_echo"), "a's tools to leave the list", 400);
    expect(seen.tools).toBeGreaterThanOrEqual(1);
    expect((await raw(client, "tools/call", { name: "b_echo", arguments: { text: "still here" } })).content[0].text).toBe("still here");
    // The supervisor restarts it: its tools come back, clients are told again, and a new process answers.
    await until(async () => (await toolNames(client)).includes("a_echo"));
    expect(seen.tools).toBeGreaterThanOrEqual(2);
    expect(await pidOf(client, "a_whoami")).not.toBe(pid);
  });

  it("a crash loop opens the breaker: calls fail fast naming the backend, until it recovers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fmp-crash-"));
    const flag = join(dir, "crash");
    proxy = FastMCPProxy.asProxy(
      { mcpServers: { a: stdio({ FIXTURE_FAIL_IF_EXISTS: flag }), b: stdio() } },
      { sessions: "shared", restart: { baseDelayMs: 20, maxDelayMs: 200, breakerThreshold: 2 }, logLevel: "silent" },
    );
    const client = await connectClient(proxy);
    const pid = await pidOf(client, "a_whoami");
    writeFileSync(flag, "");
    process.kill(pid, "SIGKILL");
    const error = await until(async () => {
      const e = await rejection(raw(client, "tools/call", { name: "a_echo", arguments: { text: "x" } }));
      return String(e.message).includes("restarts failed") ? e : undefined;
    });
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain('"a"');
    const started = Date.now();
    await rejection(raw(client, "tools/call", { name: "a_echo", arguments: { text: "x" } }));
    expect(Date.now() - started).toBeLessThan(500);
    expect((await raw(client, "tools/call", { name: "b_echo", arguments: { text: "fine" } })).content[0].text).toBe("fine");
    rmSync(dir, { recursive: true, force: true });
    await until(async () => (await raw(client, "tools/call", { name: "a_echo", arguments: { text: "ok" } })).content[0].text === "ok");
  });

  it("fail-closed: lists fail while a backend is down, naming it", async () => {
    proxy = FastMCPProxy.asProxy({ mcpServers: { a: stdio(), b: stdio() } }, { sessions: "shared", failMode: "closed", restart: { baseDelayMs: 5000 }, logLevel: "silent" });
    const client = await connectClient(proxy);
    process.kill(await pidOf(client, "a_whoami"), "SIGKILL");
    const error = await until(() => rejection(raw(client, "tools/list")).catch(() => undefined));
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain('"a"');
  });

  it("a backend that fails to start is left out, then joins when it can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fmp-late-"));
    const flag = join(dir, "not-yet");
    writeFileSync(flag, "");
    proxy = FastMCPProxy.asProxy({ mcpServers: { late: stdio({ FIXTURE_FAIL_IF_EXISTS: flag }), b: stdio() } }, { sessions: "shared", restart: { baseDelayMs: 50, maxDelayMs: 200 }, logLevel: "silent" });
    const client = await connectClient(proxy);
    expect((await toolNames(client)).some((n: string) => n.startsWith("late_"))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
    await until(async () => (await toolNames(client)).includes("late_echo"));
    expect((await raw(client, "tools/call", { name: "late_echo", arguments: { text: "joined" } })).content[0].text).toBe("joined");
  });
});

describe("stdio children", () => {
  it("a backend flooding stderr never blocks", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, NOISY], { logLevel: "silent" });
    const client = await connectClient(proxy);
    for (let i = 0; i < 20; i++) {
      expect((await raw(client, "tools/call", { name: "echo", arguments: { text: `n${i}` } })).content[0].text).toBe(`n${i}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe("process trees", () => {
  it("closing the proxy ends a backend's own children too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fmp-tree-"));
    const pidFile = join(dir, "grandchild.pid");
    const PARENT = fileURLToPath(new URL("../fixtures/parent-server.mjs", import.meta.url));
    proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [PARENT], env: { GRANDCHILD_PID_FILE: pidFile } }, { logLevel: "silent" });
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "up" } })).content[0].text).toBe("up");
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    expect(alive(grandchild)).toBe(true);
    await proxy.close();
    proxy = undefined;
    await until(() => !alive(grandchild), "the grandchild to exit");
    rmSync(dir, { recursive: true, force: true });
  });
});

// proxy.reload(config) (issue 12, hot reload): real stdio children from the fixture server, real
// SDK clients. Each child carries a marker in its environment, so a test can count every process of a
// server (shared, isolated, spare) by reading /proc. Every wait is bounded.
import { readFileSync, readdirSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode, type Logger, type MCPConfig, type ProxyOptions } from "@fastmcp-proxy/core";
import { FIXTURE, connectClient, raw, rejection, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const RUN = `${process.pid}-${Date.now()}`;
/** A fixture server whose processes carry `marker` (its whoami says it back). */
const server = (marker: string, extra: Record<string, unknown> = {}) => ({
  command: process.execPath,
  args: [FIXTURE, "stdio"],
  env: { FIXTURE_GREETING: `${RUN}-${marker}` },
  ...extra,
});

/** Processes alive now whose environment carries this server marker. */
function processesOf(marker: string): number[] {
  const wanted = `FIXTURE_GREETING=${RUN}-${marker}\0`;
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return `${readFileSync(`/proc/${entry}/environ`, "latin1")}\0`.includes(wanted) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

const names = async (client: Client): Promise<string[]> => (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name).sort();
const whoami = async (client: Client, tool: string) => JSON.parse((await raw(client, "tools/call", { name: tool, arguments: {} })).content[0].text) as { pid: number; env: string };

/** Counts list_changed notifications per kind. */
function listChanges(client: Client) {
  const seen = { tools: 0, resources: 0, prompts: 0 };
  client.fallbackNotificationHandler = async (n) => {
    const kind = /^notifications\/(tools|resources|prompts)\/list_changed$/.exec(n.method)?.[1] as keyof typeof seen | undefined;
    if (kind) seen[kind]++;
  };
  return seen;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
}

const make = (config: MCPConfig, options: ProxyOptions = {}) =>
  (proxy = FastMCPProxy.asProxy(config, { logLevel: "silent", spareSessions: 0, restart: { baseDelayMs: 100 }, ...options }));

describe("proxy.reload(config)", () => {
  it("removes, adds and keeps servers by name: the kept one's session and call in flight go on, the removed one's processes end, clients are told once", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { spareSessions: 1 });
    const client = await connectClient(proxy!);
    const seen = listChanges(client);
    const a = await whoami(client, "a_whoami");
    await whoami(client, "b_whoami");
    await until(() => processesOf("b").length >= 3, "b's shared, isolated and spare processes", 10_000);
    const inFlight = raw(client, "tools/call", { name: "a_slow", arguments: { ms: 1200 } });
    const observed: string[] = [];
    proxy!.on("listChanged", ({ backend, kind }) => observed.push(`${backend.name} ${kind}`));

    const result = await proxy!.reload({ mcpServers: { a: server("a"), c: server("c") } });

    expect(result).toEqual({ added: ["c"], removed: ["b"], changed: [], unreachable: [] });
    expect((await inFlight).content[0].text).toBe("slept 1200");
    expect((await whoami(client, "a_whoami")).pid).toBe(a.pid); // the same isolated session
    expect(await names(client)).toEqual(["a_ask", "a_crash", "a_echo", "a_explode", "a_fail", "a_slow", "a_whoami", "c_ask", "c_crash", "c_echo", "c_explode", "c_fail", "c_slow", "c_whoami"]);
    expect((await whoami(client, "c_whoami")).env).toBe(`${RUN}-c`);
    const unknown = await rejection(raw(client, "tools/call", { name: "b_echo", arguments: { text: "x" } }));
    expect(unknown.code).toBe(-32602);
    expect(processesOf("b")).toEqual([]); // shared, isolated and spare sessions all closed
    await until(() => seen.tools >= 1 && seen.resources >= 1 && seen.prompts >= 1, "list_changed of each kind", 5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual({ tools: 1, resources: 1, prompts: 1 });
    expect(proxy!.backends.map((b) => b.name)).toEqual(["a", "c"]);
    expect(observed.sort()).toEqual(["b prompts", "b resources", "b tools", "c prompts", "c resources", "c tools"]);
  });

  it("a call in flight on a removed server fails at once with BackendUnavailable, not when it would have ended", async () => {
    make({ mcpServers: { a: server("a"), b: server("b"), c: server("c") } }, { sessions: "shared", timeoutMs: 30_000 });
    const client = await connectClient(proxy!);
    let running!: () => void;
    const reached = new Promise<void>((resolve) => (running = resolve));
    // 6 s, with a progress notification every 1.5 s: the first says the call is running at b.
    const call = rejection(client.request({ method: "tools/call", params: { name: "b_slow", arguments: { ms: 6000 } } }, ResultSchema.passthrough(), { onprogress: () => running() }));
    await reached;
    const started = performance.now();
    await proxy!.reload({ mcpServers: { a: server("a"), c: server("c") } });
    const error = await call;
    // b's child is ended before reload() resolves (stdin EOF, SIGTERM 0.5 s later).
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain('"b"');
    expect(error.message).toContain("was removed from the config");
  });

  it("a client's first call, its view of the servers still being listed when a reload takes one out, is served", async () => {
    make({ mcpServers: { a: server("a"), b: server("b"), c: server("c") } }, { sessions: "shared" });
    await proxy!.start();
    const client = await connectClient(proxy!); // its profile's view is listed on its first request
    const first = raw(client, "tools/call", { name: "a_echo", arguments: { text: "first" } });
    await new Promise((resolve) => setTimeout(resolve, 20)); // listing has begun (its children are starting)
    await proxy!.reload({ mcpServers: { a: server("a"), c: server("c") } });
    expect((await first).content[0].text).toBe("first");
  });

  it("a changed server (any field) is replaced: a new process with the new settings, under the same names", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    const client = await connectClient(proxy!);
    const before = await whoami(client, "b_whoami");
    const result = await proxy!.reload({ mcpServers: { a: server("a"), b: server("b2") } });
    expect(result).toEqual({ added: [], removed: [], changed: ["b"], unreachable: [] });
    const after = await whoami(client, "b_whoami");
    expect(after.env).toBe(`${RUN}-b2`);
    expect(after.pid).not.toBe(before.pid);
    expect(processesOf("b")).toEqual([]);
  });

  it("field order is no change, and a server's filters apply to what clients see after the reload", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    const client = await connectClient(proxy!);
    const { command, args, env } = server("a");
    const same = await proxy!.reload({ mcpServers: { a: { env, args, command }, b: server("b", { include: ["echo"], tools: { echo: { name: "say" } } }) } });
    expect(same).toEqual({ added: [], removed: [], changed: ["b"], unreachable: [] });
    expect((await names(client)).filter((n) => n.startsWith("b_"))).toEqual(["b_say"]);
    expect((await raw(client, "tools/call", { name: "b_say", arguments: { text: "hi" } })).content[0].text).toBe("hi");
  });

  it("an invalid config rejects with the reason, is logged, and changes nothing", async () => {
    const logger = recordingLogger();
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared", logger, logLevel: undefined });
    const client = await connectClient(proxy!);
    const pid = (await whoami(client, "a_whoami")).pid;
    const before = await names(client);
    for (const bad of [{ mcpServers: { a: { url: "ftp://x" } } }, { mcpServers: {} }, { nothing: true }] as unknown as MCPConfig[]) {
      const error = await rejection(proxy!.reload(bad));
      expect(error.code).toBe(ProxyErrorCode.InvalidConfig);
    }
    const missing = await rejection(proxy!.reload(join(tmpdir(), `no-such-${RUN}.json`)));
    expect(missing.message).toMatch(/cannot read/);
    expect(logger.warnings.filter((w) => w.startsWith("config not reloaded, the old one is kept: "))).toHaveLength(4);
    expect(logger.warnings[0]).toMatch(/server "a", field "url": must be an http/);
    expect(await names(client)).toEqual(before);
    expect((await whoami(client, "a_whoami")).pid).toBe(pid);
  });

  it("a name collision with a kept server rejects the whole reload: the new server's process is closed, nothing changed", async () => {
    // a renames echo to x_echo (a_x_echo); a server named a_x would bring a_x_echo too.
    make({ mcpServers: { a: server("a", { tools: { echo: { name: "x_echo" } } }), b: server("b") } }, { sessions: "shared" });
    const client = await connectClient(proxy!);
    const before = await names(client);
    const bProcesses = processesOf("b");
    const seen = listChanges(client);
    const error = await rejection(proxy!.reload({ mcpServers: { a: server("a", { tools: { echo: { name: "x_echo" } } }), a_x: server("ax") } }));
    expect(error.code).toBe(ProxyErrorCode.InvalidConfig);
    expect(error.message).toMatch(/Name collision: tool "a_x_echo" from backends "a" and "a_x"/);
    expect(await names(client)).toEqual(before);
    expect(proxy!.backends.map((b) => b.name)).toEqual(["a", "b"]);
    expect(processesOf("ax")).toEqual([]);
    expect(processesOf("b")).toEqual(bProcesses); // b, which that reload would have removed, is untouched
    expect(seen.tools).toBe(0);
  });

  it("an added server that cannot be reached is left out and retried, as at start (fail-open); fail-closed lists refuse while it is down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fmp-reload-"));
    const flag = join(dir, "down");
    writeFileSync(flag, "");
    try {
      make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared", failMode: "closed" });
      const client = await connectClient(proxy!);
      const result = await proxy!.reload({ mcpServers: { a: server("a"), b: server("b"), d: server("d", { env: { FIXTURE_GREETING: `${RUN}-d`, FIXTURE_FAIL_IF_EXISTS: flag } }) } });
      expect(result).toEqual({ added: ["d"], removed: [], changed: [], unreachable: ["d"] });
      expect((await proxy!.health({ ping: false })).backends.map((b) => `${b.name} ${b.status}`)).toEqual(["a up", "b up", "d down"]);
      expect((await rejection(raw(client, "tools/list"))).message).toContain('"d"');
      rmSync(flag);
      await until(async () => (await names(client)).includes("d_echo"), "d to join once it can start", 8000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("when no server of the new config can be reached, it is refused and the old one kept", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    const client = await connectClient(proxy!);
    const broken = { command: process.execPath, args: ["-e", "process.exit(1)"] };
    const error = await rejection(proxy!.reload({ mcpServers: { x: broken, y: broken } }));
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toMatch(/No backend could be reached/);
    expect((await raw(client, "tools/call", { name: "a_echo", arguments: { text: "still" } })).content[0].text).toBe("still");
  });

  it("reloads run one at a time, in order; none after close()", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    await proxy!.start();
    const first = proxy!.reload({ mcpServers: { a: server("a"), c: server("c") } });
    const second = proxy!.reload({ mcpServers: { a: server("a"), c: server("c"), d: server("d") } });
    expect(await first).toEqual({ added: ["c"], removed: ["b"], changed: [], unreachable: [] });
    expect(await second).toEqual({ added: ["d"], removed: [], changed: [], unreachable: [] });
    expect(proxy!.backends.map((b) => b.name)).toEqual(["a", "c", "d"]);
    await proxy!.close();
    const closed = await rejection(proxy!.reload({ mcpServers: { a: server("a") } }));
    expect(closed.code).toBe(ProxyErrorCode.ServiceUnavailable);
    proxy = undefined;
  });

  it("before start(), only the configured servers are replaced; start connects the new ones", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    expect(await proxy!.reload({ mcpServers: { a: server("a"), c: server("c") } })).toEqual({ added: ["c"], removed: ["b"], changed: [], unreachable: [] });
    const client = await connectClient(proxy!);
    expect((await names(client)).some((n) => n.startsWith("b_"))).toBe(false);
    expect((await whoami(client, "c_whoami")).env).toBe(`${RUN}-c`);
    expect(processesOf("b")).toEqual([]);
  });

  it("a server may not take the name of a backend mounted in code, which a reload never touches", async () => {
    make({ mcpServers: { a: server("a"), b: server("b") } }, { sessions: "shared" });
    const { createFixtureServer } = await import("../fixtures/fixture-server.mjs");
    proxy!.mount(createFixtureServer(), { namespace: "inner" });
    await proxy!.start();
    const error = await rejection(proxy!.reload({ mcpServers: { a: server("a"), inner: server("i") } }));
    expect(error.message).toMatch(/server "inner": the name is taken by a mounted backend/);
    expect(await proxy!.reload({ mcpServers: { a: server("a") } })).toEqual({ added: [], removed: ["b"], changed: ["a"], unreachable: [] });
    expect(proxy!.backends.map((b) => b.name)).toEqual(["inner", "a"]);
  });

  it("HTTP servers too: a removed one's call in flight fails at once, an added one serves", async () => {
    const { createFixtureServer } = await import("../fixtures/fixture-server.mjs");
    const { serveHttp } = await import("../fixtures/serve.mjs");
    const [h1, h2, h3] = await Promise.all([serveHttp(createFixtureServer), serveHttp(createFixtureServer), serveHttp(createFixtureServer)]);
    try {
      make({ mcpServers: { h1: { url: h1.url }, h2: { url: h2.url } } });
      const client = await connectClient(proxy!);
      let running!: () => void;
      const reached = new Promise<void>((resolve) => (running = resolve));
      const call = rejection(client.request({ method: "tools/call", params: { name: "h2_slow", arguments: { ms: 6000 } } }, ResultSchema.passthrough(), { onprogress: () => running() }));
      await reached;
      const started = performance.now();
      expect(await proxy!.reload({ mcpServers: { h1: { url: h1.url }, h3: { url: h3.url } } })).toEqual({ added: ["h3"], removed: ["h2"], changed: [], unreachable: [] });
      const error = await call;
      expect(performance.now() - started).toBeLessThan(3000);
      expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
      expect(error.message).toContain("was removed from the config");
      expect((await raw(client, "tools/call", { name: "h3_echo", arguments: { text: "h3" } })).content[0].text).toBe("h3");
      expect((await raw(client, "tools/call", { name: "h1_echo", arguments: { text: "h1" } })).content[0].text).toBe("h1");
    } finally {
      await proxy?.close();
      proxy = undefined;
      await Promise.all([h1.close(), h2.close(), h3.close()]);
    }
  });

  it("a proxy not made from a config has nothing to reload", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "silent" });
    const error = await rejection(proxy.reload({ mcpServers: { a: server("a") } }));
    expect(error.code).toBe(ProxyErrorCode.InvalidConfig);
    expect(error.message).toMatch(/not made from a config/);
  });
});

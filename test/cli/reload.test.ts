// The built CLI reloading its config file (issue 12): on SIGHUP, and with --watch when the file
// changes, also when an editor replaces it by a rename. Real child processes, every wait bounded.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError, parseCliArgs } from "../../packages/cli/src/args.js";
import { FIXTURE, SERVING_STDIO, killTagged, marker, noneLeft, startCli, stopAll, withTimeout } from "./process.js";

let dir: string;
let tag: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fmp-cli-reload-"));
  tag = marker();
});
afterEach(async () => {
  await stopAll();
  killTagged(tag);
  rmSync(dir, { recursive: true, force: true });
});

/** A config of fixture servers by name; each child carries the test's tag among its arguments. */
const config = (...names: string[]) => JSON.stringify({ mcpServers: Object.fromEntries(names.map((n) => [n, { command: process.execPath, args: [FIXTURE, "stdio", tag] }])) });
const tools = async (client: Client) => (await withTimeout(client.listTools(), 10_000, "tools/list")).tools.map((t) => t.name).filter((n) => n.endsWith("_echo")).sort();

describe("the CLI reloads its config file", () => {
  it("on SIGHUP: applies what changed and says so; a broken file keeps the old config and says why; the client is told", async () => {
    const path = join(dir, "servers.json");
    writeFileSync(path, config("a", "b"));
    const cli = startCli([path]);
    await cli.waitForStderr(SERVING_STDIO);
    const client = await cli.connectStdio();
    let changes = 0;
    client.setNotificationHandler((await import("@modelcontextprotocol/sdk/types.js")).ToolListChangedNotificationSchema, () => void changes++);
    expect(await tools(client)).toEqual(["a_echo", "b_echo"]);

    writeFileSync(path, config("a", "c"));
    cli.child.kill("SIGHUP");
    await cli.waitForStderr(/config reloaded: added c; removed b/);
    expect(await tools(client)).toEqual(["a_echo", "c_echo"]);
    expect(changes).toBe(1);

    writeFileSync(path, "{ not json");
    cli.child.kill("SIGHUP");
    await cli.waitForStderr(/config not reloaded, the old one is kept: .*is not valid JSON/);
    expect(await tools(client)).toEqual(["a_echo", "c_echo"]);
    expect((await withTimeout(client.callTool({ name: "c_echo", arguments: { text: "still" } }), 10_000, "c_echo")).content).toMatchObject([{ text: "still" }]);

    cli.child.stdin.end();
    expect((await cli.exited()).code, cli.stderr()).toBe(0);
    expect(await noneLeft(tag)).toEqual([]);
  });

  it("with --watch: a change is applied once it settles, also when the file is replaced by a rename", async () => {
    const path = join(dir, "servers.json");
    writeFileSync(path, config("a"));
    const cli = startCli([path, "--watch"]);
    await cli.waitForStderr(SERVING_STDIO);
    const client = await cli.connectStdio();

    writeFileSync(path, config("a", "b"));
    await cli.waitForStderr(/config reloaded: added b/);
    // One tool first, prefixed once there are two servers: a was replaced (changed), b added.
    expect(cli.stderr()).toMatch(/config reloaded: added b; changed a/);
    expect(await tools(client)).toEqual(["a_echo", "b_echo"]);

    // An editor's save: a new file written beside it, then renamed over it.
    const next = join(dir, ".servers.json.swp");
    writeFileSync(next, config("a", "c"));
    renameSync(next, path);
    await cli.waitForStderr(/config reloaded: added c; removed b/);
    expect(await tools(client)).toEqual(["a_echo", "c_echo"]);
    // Saved again with the same content: no reload.
    writeFileSync(path, config("a", "c"));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(cli.stderr().match(/config reloaded/g)).toHaveLength(2);

    cli.child.stdin.end();
    expect((await cli.exited()).code, cli.stderr()).toBe(0);
    expect(await noneLeft(tag)).toEqual([]);
  });
});

describe("parseCliArgs: reload and the per-backend cap", () => {
  it("--watch needs a config file; --max-in-flight-per-backend takes a whole number from 1", () => {
    const run = (...argv: string[]) => parseCliArgs(argv);
    expect(run("servers.json", "--watch")).toMatchObject({ action: "run", options: { watch: true } });
    expect(() => run("https://example.com/mcp", "--watch")).toThrow(UsageError);
    expect(() => run("--watch", "--", "node", "server.js")).toThrow(/--watch reloads a config file/);
    expect(run("servers.json", "--max-in-flight-per-backend", "8")).toMatchObject({ options: { limits: { maxInFlightPerBackend: 8 } } });
    expect(() => run("servers.json", "--max-in-flight-per-backend", "0")).toThrow(/--max-in-flight-per-backend must be a whole number from 1, got "0"/);
    expect(run("servers.json", "--max-in-flight-per-caller", "3")).toMatchObject({ options: { limits: { maxInFlightPerCaller: 3 } } });
    expect(() => run("servers.json", "--max-in-flight-per-caller", "x")).toThrow(/--max-in-flight-per-caller must be a whole number from 1, got "x"/);
  });
});

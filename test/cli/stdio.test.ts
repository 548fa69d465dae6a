// The built CLI with a stdio front: an MCP client on its stdin/stdout, a stdio backend behind it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { rejection } from "../helpers.js";
import { FIXTURE, FIXTURE_STDIO, SERVING_STDIO, alive, gone, marker, killTagged, noneLeft, startCli, stopAll, withTimeout, type CliProcess } from "./process.js";

afterEach(stopAll);

async function backendPid(client: Client): Promise<number> {
  const result = await withTimeout(client.callTool({ name: "whoami", arguments: {} }), 10_000, "whoami");
  const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
  return (JSON.parse(text) as { pid: number }).pid;
}

/** Every line the CLI wrote to stdout must be a JSON-RPC message: stdout is the protocol. */
function expectOnlyProtocolOnStdout(cli: CliProcess): void {
  const messages = cli.messages();
  expect(messages.length).toBeGreaterThan(0);
  for (const message of messages) expect(message).toMatchObject({ jsonrpc: "2.0" });
}

describe("fastmcp-proxy -- <command> on stdio", () => {
  it("lists and calls the backend's tools through the proxy", async () => {
    const cli = startCli(["--name", "cli-stdio-proxy", "--", ...FIXTURE_STDIO]);
    const client = await cli.connectStdio();
    expect(client.getServerVersion()).toMatchObject({ name: "cli-stdio-proxy", version: "0.1.0" });
    expect(client.getInstructions()).toBe("Fixture instructions.");

    const { tools } = await withTimeout(client.listTools(), 10_000, "tools/list");
    expect(tools.map((t) => t.name)).toEqual(["echo", "fail", "explode", "slow", "crash", "whoami", "ask"]);
    expect(tools[0]).toMatchObject({ name: "echo", title: "Echo", annotations: { readOnlyHint: true }, _meta: { "example.com/owner": "tests" } });

    const echoed = await withTimeout(client.callTool({ name: "echo", arguments: { text: "through the CLI" } }), 10_000, "tools/call");
    expect(echoed).toMatchObject({
      content: [{ type: "text", text: "through the CLI" }],
      structuredContent: { echoed: "through the CLI" },
    });
    expect(await withTimeout(client.callTool({ name: "fail", arguments: {} }), 10_000, "tools/call fail")).toEqual({
      content: [{ type: "text", text: "it failed" }],
      isError: true,
    });
    const read = await withTimeout(client.readResource({ uri: "fixture://static/hello" }), 10_000, "resources/read");
    expect(read.contents).toEqual([{ uri: "fixture://static/hello", mimeType: "text/plain", text: "hello", _meta: { m: 1 } }]);

    const [ready] = await cli.waitForStderr(/^fastmcp-proxy: serving stdio, .*\n/m);
    expect(ready).toMatch(SERVING_STDIO);
    expect(ready).toContain(': 7 tools, 2 resources, 1 prompt');
    expectOnlyProtocolOnStdout(cli);
    await client.close();
  });

  it("--always-ask-progress: a backend's progress keeps a call alive past --timeout though the client gave no token", async () => {
    const slow = (client: Client) => withTimeout(client.callTool({ name: "slow", arguments: { ms: 800 } }), 10_000, "tools/call slow");
    const asking = startCli(["--timeout", "300", "--always-ask-progress", "--", ...FIXTURE_STDIO]);
    expect(await slow(await asking.connectStdio())).toMatchObject({ content: [{ type: "text", text: "slept 800" }] });
    // Without the flag the backend is asked for no progress, and the call times out.
    const plain = startCli(["--timeout", "300", "--", ...FIXTURE_STDIO]);
    expect((await rejection(slow(await plain.connectStdio()))).message).toMatch(/timed out|Timeout/i);
  });

  it("exits 0 when stdin ends, answering requests already in flight, and ends its backend", async () => {
    const cli = startCli(["--", ...FIXTURE_STDIO]);
    const client = await cli.connectStdio();
    const backend = await backendPid(client);
    expect(backend).not.toBe(cli.pid);
    expect(alive(backend)).toBe(true);

    // A slow call is in flight when the client closes stdin: the answer still arrives.
    const slow = client.callTool({ name: "slow", arguments: { ms: 400 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    cli.child.stdin.end();
    expect(await withTimeout(slow, 10_000, "slow call")).toEqual({ content: [{ type: "text", text: "slept 400" }] });

    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(await gone(backend)).toBe(true);
    expect(cli.stderr()).toContain("shutting down (stdin closed)");
    expectOnlyProtocolOnStdout(cli);
  });

  it("writes every request line, in order, before it exits (stderr is written in batches)", async () => {
    const requestLines = (stderr: string) => stderr.split("\n").filter((line) => /^\[fastmcp-proxy\] info: tools\/call echo ← backend ok /.test(line));
    // More lines than one batch holds, then stdin closed at once.
    const many = startCli(["--", ...FIXTURE_STDIO]);
    const client = await many.connectStdio();
    await withTimeout(Promise.all(Array.from({ length: 200 }, (_, i) => client.callTool({ name: "echo", arguments: { text: `call ${i}` } }))), 20_000, "200 calls");
    many.child.stdin.end();
    expect(await many.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(requestLines(many.stderr())).toHaveLength(200);
    expect(many.stderr().lastIndexOf("tools/call echo")).toBeLessThan(many.stderr().indexOf("shutting down (stdin closed)"));

    // A few lines still waiting for their batch when SIGTERM comes.
    const few = startCli(["--", ...FIXTURE_STDIO]);
    const other = await few.connectStdio();
    for (let i = 0; i < 3; i++) await withTimeout(other.callTool({ name: "echo", arguments: { text: `call ${i}` } }), 10_000, "echo");
    few.child.kill("SIGTERM");
    expect(await few.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(requestLines(few.stderr())).toHaveLength(3);
  });

  it("quotes a failing backend's own error and exits 1", async () => {
    const cli = startCli(["--", process.execPath, "-e", "console.error('Error: no database configured'); process.exit(4)"]);
    cli.child.stdin.end();
    expect(await cli.exited()).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toMatch(
      /^fastmcp-proxy: Backend "backend" \(stdio ".*node -e .*"\) is unavailable: Connection closed \(the server said: Error: no database configured\): check the command; --log-level debug shows the server's stderr\n$/,
    );
    expect(cli.stdout()).toBe("");
  });
});

describe("fastmcp-proxy config.json", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fastmcp-proxy-cli-config-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("mounts each server under its name, expanding ${VAR} from the environment", async () => {
    const path = join(dir, "servers.json");
    const fixture = { command: process.execPath, args: [FIXTURE, "stdio"] };
    writeFileSync(
      path,
      JSON.stringify({
        mcpServers: {
          weather: fixture,
          calendar: { ...fixture, env: { FIXTURE_GREETING: "${CLI_TEST_GREETING}" } },
        },
      }),
    );
    const cli = startCli([path], { env: { ...process.env, CLI_TEST_GREETING: "hello from the environment" } });
    const client = await cli.connectStdio();
    const names = (await withTimeout(client.listTools(), 10_000, "tools/list")).tools.map((t) => t.name);
    expect(names).toContain("weather_echo");
    expect(names).toContain("calendar_whoami");
    expect(names).toHaveLength(14);
    const whoami = await withTimeout(client.callTool({ name: "calendar_whoami", arguments: {} }), 10_000, "tools/call");
    const said = JSON.parse((whoami.content as Array<{ text: string }>)[0]!.text) as { pid: number; env: string };
    expect(said.env).toBe("hello from the environment");
    await cli.waitForStderr(/proxying weather \(stdio ".*"\), calendar \(stdio ".*"\): 14 tools, 4 resources, 2 prompts/);

    cli.child.stdin.end();
    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(await gone(said.pid)).toBe(true);
  });
});

describe("signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} closes the proxy, ends the stdio backend and exits 0`, async () => {
      const cli = startCli(["--", ...FIXTURE_STDIO]);
      const client = await cli.connectStdio();
      const backend = await backendPid(client);
      expect(alive(backend)).toBe(true);

      expect(cli.child.kill(signal)).toBe(true);
      expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
      expect(await gone(backend, 5_000)).toBe(true);
      expect(cli.stderr()).toContain(`shutting down (${signal})`);
    });
  }

  it("SIGTERM during start-up (backend still connecting) exits 0 and leaves no backend behind", async () => {
    // A backend that writes its pid and then never answers initialize.
    const script = "process.stderr.write('PID ' + process.pid + '\\n'); setInterval(() => {}, 1000)";
    const tag = marker();
    try {
      const cli = startCli(["--log-level", "debug", "--", process.execPath, "-e", script, tag]);
      const [, pid] = await cli.waitForStderr(/stderr: PID (\d+)/);
      const backend = Number(pid);
      expect(alive(backend)).toBe(true);
      cli.child.kill("SIGTERM");
      expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
      expect(await gone(backend, 5_000)).toBe(true);
      expect(await noneLeft(tag)).toEqual([]);
    } finally {
      killTagged(tag);
    }
  });
});

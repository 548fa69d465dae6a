// How the CLI on a stdio front ends: closed the way the SDK (and so Claude Desktop and the
// Inspector) closes a stdio server, and with a second signal. No backend may outlive it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, FIXTURE, FIXTURE_STDIO, SERVING_STDIO, alive, gone, startCli, stopAll, withTimeout } from "./process.js";

afterEach(stopAll);

const pidOf = async (client: Client) =>
  (JSON.parse((((await withTimeout(client.callTool({ name: "whoami", arguments: {} }), 10_000, "whoami")).content as Array<{ text: string }>)[0]!).text) as { pid: number }).pid;

describe("shutting down a stdio front", () => {
  it("closed as the SDK closes it (stdin end, SIGTERM at 2 s), it exits well inside 2 s and leaves no backend", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "--log-level", "silent", "--", ...FIXTURE_STDIO], stderr: "ignore" });
    const client = new Client({ name: "sdk-close", version: "1" });
    await client.connect(transport);
    const backend = await pidOf(client);
    const proxy = transport.pid!;
    const began = Date.now();
    await client.close();
    expect(Date.now() - began).toBeLessThan(1900);
    expect(alive(proxy)).toBe(false);
    expect(await gone(backend, 2000)).toBe(true);
  });

  it("a second signal still ends a backend that ignores stdin's end and SIGTERM, before the proxy exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fmp-stubborn-"));
    try {
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ mcpServers: { stubborn: { command: process.execPath, args: [FIXTURE, "stdio"], env: { FIXTURE_STUBBORN: "1" } } } }));
      const cli = startCli([config, "--log-level", "debug"]);
      await cli.waitForStderr(SERVING_STDIO);
      const client = await cli.connectStdio();
      const backend = await pidOf(client);
      cli.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 100));
      cli.child.kill("SIGTERM");
      const exit = await cli.exited(5000);
      expect(exit.code, cli.stderr()).toBe(1);
      // Killed before the proxy exits; a zombie until init reaps it, hence the wait.
      expect(await gone(backend, 3000)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

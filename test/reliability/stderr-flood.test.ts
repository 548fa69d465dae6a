// A stdio backend that floods stderr (issue 22, A8): its stderr is logged at debug level within
// bounds (lines cut, bytes a second capped, the rest counted), and its calls keep working.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, type Logger } from "@fastmcp-proxy/core";
import { connectClient, raw } from "../helpers.js";

const MIB = 1024 * 1024;

/** 16 MiB of stderr (lines of 1 KiB, then lines of 1 MiB) before the fixture server starts. */
const FLOOD = `
const { serveFromArgv } = await import(${JSON.stringify(new URL("../fixtures/serve.mjs", import.meta.url).href)});
const { createFixtureServer } = await import(${JSON.stringify(new URL("../fixtures/fixture-server.mjs", import.meta.url).href)});
const line = "x".repeat(1023) + "\\n";
const long = "y".repeat(${MIB}) + "\\n";
for (let i = 0; i < 8 * 1024; i++) process.stderr.write(line);
for (let i = 0; i < 8; i++) process.stderr.write(long);
serveFromArgv(createFixtureServer, ["stdio"]);
`;

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("a child flooding stderr", () => {
  it("costs a bounded amount of debug log, and its calls are served", async () => {
    const logged: string[] = [];
    const logger: Logger = { debug: (message) => void logged.push(message), info: () => {}, warn: () => {}, error: () => {} };
    proxy = FastMCPProxy.asProxy({ mcpServers: { flood: { command: process.execPath, args: ["--input-type=module", "-e", FLOOD] } } }, { logger });
    const client = await connectClient(proxy);
    const answer = await raw(client, "tools/call", { name: "echo", arguments: { text: "still here" } });
    expect(JSON.stringify(answer)).toContain("still here");
    const stderr = logged.filter((line) => line.includes(" stderr: "));
    const bytes = stderr.reduce((sum, line) => sum + line.length, 0);
    expect(stderr.length).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(4 * MIB);
    expect(Math.max(...stderr.map((line) => line.length))).toBeLessThan(3_000);
  }, 60_000);
});

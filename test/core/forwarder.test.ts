// Forwarded requests go past the SDK Protocol, through each backend session's forwarder: one table of
// requests in flight, one deadline sweep for all of them, the hard maximum applied with or without
// progress, and the session's own traffic (ping, lists) still the SDK Client's.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { FIXTURE, connectClient, raw, rejection, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const CALLS = 20;

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("the forwarder", () => {
  it("keeps one timer for every call in flight on a backend session, not one each", async () => {
    let waiting = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = new McpServer({ name: "held", version: "1" });
    server.registerTool("hold", { inputSchema: { n: z.number() } }, async ({ n }) => {
      waiting++;
      await released;
      return { content: [{ type: "text", text: String(n) }] };
    });
    proxy = FastMCPProxy.asProxy(server, { logLevel: "error" });
    const client = await connectClient(proxy);
    const before = timers();
    const calls = Array.from({ length: CALLS }, (_, n) => raw(client, "tools/call", { name: "hold", arguments: { n } }));
    await until(() => waiting === CALLS, "every call to reach the backend");
    // The test's own SDK client keeps a timer per call; the proxy adds at most its sweep.
    const held = timers() - before;
    release();
    const results = await Promise.all(calls);
    expect(results.map((r) => r.content[0].text)).toEqual(Array.from({ length: CALLS }, (_, n) => String(n)));
    expect(held).toBeLessThanOrEqual(CALLS + 1);
  });

  it("fails a call at the hard maximum even when no progress comes", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", timeoutMs: 5_000, maxTimeoutMs: 200 });
    const client = await connectClient(proxy);
    const error = await rejection(raw(client, "tools/call", { name: "echo", arguments: { text: "late", delayMs: 3_000 } }));
    expect(error.code).toBe(ProxyErrorCode.Timeout);
    expect(error.message).toMatch(/did not answer tools\/call in time: Maximum total timeout exceeded/);
  });

  it("leaves ping and the lists to the SDK client of the same session", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
    const client = await connectClient(proxy);
    const [echoed, pinged, listed] = await Promise.all([
      raw(client, "tools/call", { name: "echo", arguments: { text: "a", delayMs: 50 } }),
      client.ping(),
      client.listTools(),
    ]);
    expect(echoed.structuredContent).toEqual({ echoed: "a" });
    expect(pinged).toEqual({});
    expect(listed.tools.map((t) => t.name)).toContain("echo");
  });
});

// Graceful drain (issue 12, H1): the built CLI with an HTTP front in front of a stdio backend, as
// a load balancer sees it. On SIGTERM /readyz fails at once, new sessions are refused, calls in
// flight finish within the drain timeout, the children get stdin EOF (then SIGTERM, SIGKILL), and
// the process exits 0 leaving no orphan. Only processes started here are signalled, by PID.
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { FIXTURE_STDIO, SERVING_HTTP, gone, startCli, stopAll, withTimeout } from "../cli/process.js";

afterEach(stopAll);

const INITIALIZE = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("SIGTERM with calls in flight", () => {
  it("drains: readiness fails at once, new sessions get 503, the 20 calls in flight finish, exit 0, no orphans", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const origin = new URL(url!).origin;
    const client = new Client({ name: "drain-test", version: "1" });
    await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url!))), 15_000, "initialize");
    const who = await client.callTool({ name: "whoami", arguments: {} });
    const childPid = (JSON.parse((who.content as Array<{ text: string }>)[0]!.text) as { pid: number }).pid;
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);

    // 20 calls that need 700 ms; SIGTERM 200 ms in, when they need 0.5 s more.
    const calls = Array.from({ length: 20 }, () =>
      client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 700 } } }, CallToolResultSchema, { timeout: 20_000 }).then(
        (result) => ({ ok: true as const, result }),
        (error: Error) => ({ ok: false as const, error: error.message }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalled = performance.now();
    cli.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(503);
    const fresh = await fetch(url!, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(fresh.status).toBe(503);
    expect(performance.now() - signalled).toBeLessThan(400);

    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    for (const outcome of outcomes) expect(outcome.ok && (outcome.result.content as Array<{ text: string }>)[0]!.text).toBe("slept 700");

    expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
    expect(await gone(childPid, 5000)).toBe(true);
    await client.close().catch(() => {});
  }, 40_000);

  it("a call still running at the drain timeout gets a JSON-RPC error, not a reset; exit 0", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--drain-timeout", "500", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const client = new Client({ name: "drain-test", version: "1" });
    await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url!))), 15_000, "initialize");
    const long = client.request({ method: "tools/call", params: { name: "slow", arguments: { ms: 5000 } } }, CallToolResultSchema, { timeout: 20_000 }).then(
      () => "answered",
      (error: Error & { code?: number }) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalled = performance.now();
    cli.child.kill("SIGTERM");
    const error = await long;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error & { code?: number }).code).toBeTypeOf("number"); // a JSON-RPC error, with a code
    expect(performance.now() - signalled).toBeLessThan(3000);
    expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
  }, 40_000);
});

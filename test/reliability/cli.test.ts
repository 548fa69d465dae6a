// The built `fastmcp-proxy` command as a real process under hostile input and broken pipes
// (issue 12, defects 2 and 3, C1-C3 on stdio). Only processes started here are signalled, by PID.
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, startCli, stopAll } from "../cli/process.js";
import { until } from "../helpers.js";

afterEach(stopAll);

/** The CLI on stdio in front of the fixture, with a raw line client on its stdin/stdout. */
async function stdioCli() {
  const cli = startCli(["--", ...FIXTURE_STDIO]);
  await cli.waitForStderr(/serving stdio/);
  const answers = () => cli.messages();
  const send = (text: string | Buffer) => cli.child.stdin.write(text);
  send(`${JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`);
  await until(() => answers().length === 1, "initialize");
  send(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  return { cli, answers, send };
}

const call = (id: number, text: string) => `${JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text } } })}\n`;

describe("the stdio front of the CLI", () => {
  it("answers a line over 10 MiB with -32600, keeps serving, and exits 0 when stdin ends", async () => {
    const { cli, answers, send } = await stdioCli();
    const huge = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"${"x".repeat(11 * 1024 * 1024)}"}}}\n`;
    send(huge);
    send(call(2, "after the huge line"));
    await until(() => answers().length === 3, "two more answers", 15_000);
    expect(answers()[1]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(answers()[2]).toMatchObject({ id: 2, result: { content: [{ text: "after the huge line" }] } });
    cli.child.stdin.end();
    expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
  }, 40_000);

  it("answers every malformed line, invalid UTF-8 included, and the valid one after them", async () => {
    const { cli, answers, send } = await stdioCli();
    send("garbage\n42\n{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"tools/list\"}\n[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}]\n");
    send(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}}\n')]));
    send(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":${"[".repeat(100_000)}${"]".repeat(100_000)}}}}\n`);
    send(call(8, "fine"));
    await until(() => answers().length === 8, "seven more answers", 15_000);
    expect(answers().slice(1).map((a) => [a.id, a.error?.code ?? "ok"])).toEqual([
      [null, -32700],
      [null, -32600],
      [null, -32600],
      [null, -32600],
      [null, -32700],
      [null, -32600],
      [8, "ok"],
    ]);
    cli.child.stdin.end();
    expect(await cli.exited(15_000)).toEqual({ code: 0, signal: null });
  }, 40_000);
});

describe("the HTTP front's limits on the command line", () => {
  it("--max-clients caps client sessions (503), --max-in-flight the calls of one (429); a bad value is a usage error", async () => {
    const { SERVING_HTTP } = await import("../cli/process.js");
    const cli = startCli(["--transport", "http", "--port", "0", "--max-clients", "1", "--max-in-flight", "1", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
    const init = JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    const first = await fetch(url!, { method: "POST", headers, body: init });
    await first.text();
    const session = { ...headers, "mcp-session-id": first.headers.get("mcp-session-id")! };
    const full = await fetch(url!, { method: "POST", headers, body: init });
    expect(full.status).toBe(503);
    // A load balancer or client is told when to try again.
    expect(full.headers.get("retry-after")).toBe("1");
    await (await fetch(url!, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();
    const slow = fetch(url!, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "slow", arguments: { ms: 600 } } }) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await fetch(url!, { method: "POST", headers: session, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }) });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await slow).status).toBe(200);
    const bad = startCli(["--transport", "http", "--max-clients", "none", "--", ...FIXTURE_STDIO]);
    expect((await bad.exited(15_000)).code).toBe(2);
    expect(bad.stderr()).toContain('--max-clients must be a whole number from 1, got "none"');
  }, 40_000);
});

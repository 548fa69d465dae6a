// Defect 1 of issue 12: a tools/call whose arguments nest 100,000 levels deep kept ~5.4 MB of heap
// per request (the SDK kept the pending entry of a request whose send threw a RangeError) and
// blocked the event loop for seconds. Now the fronts refuse it before any work, and a backend leg
// whose send fails releases the entry. Real stdio backend (the fixture as a child process).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { StdioFrontTransport } from "../../packages/core/src/serve/stdio.js";
import { FIXTURE, connectClient, raw, rejection, until } from "../helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

function nested(levels: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("deeply nested arguments", () => {
  it("through a front that does not check (in memory): the backend leg fails the call at once and keeps nothing", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "silent" });
    const client = await connectClient(proxy);
    const deep = nested(100_000);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "warm-up" } });
    const before = heapAfterGc();
    const started = performance.now();
    for (let i = 0; i < 10; i++) {
      const error = await rejection(raw(client, "tools/call", { name: "echo", arguments: { text: deep } }));
      expect(error.code).toBe(-32603);
      expect(error.message).toContain("Could not send tools/call");
    }
    const perCall = (performance.now() - started) / 10;
    const grown = heapAfterGc() - before;
    expect(grown).toBeLessThan(5 * 1024 * 1024); // was ~54 MB for 10 such calls
    expect(perCall).toBeLessThan(1000);
    expect(await raw(client, "tools/call", { name: "echo", arguments: { text: "after" } })).toMatchObject({ content: [{ text: "after" }] });
  });

  it("through the stdio front: refused with an error before any work, in milliseconds, nothing kept", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "silent" });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    await proxy.connect(new StdioFrontTransport(stdin, stdout));
    const answers = new Map<unknown, Record<string, any>>();
    let refused = 0;
    let pending = "";
    stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      let i;
      while ((i = pending.indexOf("\n")) !== -1) {
        const m = JSON.parse(pending.slice(0, i));
        pending = pending.slice(i + 1);
        answers.set(m.id, m);
        if (m.id === null) refused++;
      }
    });
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`);
    await until(() => answers.get("init"), "initialize");
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "echo", arguments: { text: "warm-up" } } })}\n`);
    await until(() => answers.get(6), "the warm-up call"); // its backend session (a child) is open now
    const line = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":${"[".repeat(100_000)}${"]".repeat(100_000)}}}}\n`;
    const before = heapAfterGc();
    const started = performance.now();
    for (let i = 0; i < 10; i++) stdin.write(line);
    await until(() => refused === 10, "ten refusals");
    expect(performance.now() - started).toBeLessThan(1000); // each took 1.8–3.6 s before the depth check
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "echo", arguments: { text: "after" } } })}\n`);
    await until(() => answers.get(8), "the call after");
    expect(answers.get(null)).toMatchObject({ error: { code: -32600, message: "Invalid Request: the message nests deeper than 64 levels" } });
    expect(answers.get(8)).toMatchObject({ result: { content: [{ text: "after" }] } });
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024);
  });
});

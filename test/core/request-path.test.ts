// docs/architecture.md promises that one tools/call, from the HTTP front to a stdio backend, can be
// followed through a few core files. The stack the backend transport's send() sees names them: the
// files a reader walks through, awaiting call by awaiting call.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { LineWriter } from "../../packages/core/src/wire/lines.js";
import { FIXTURE } from "../helpers.js";

describe("the path of one tools/call", () => {
  let proxy: FastMCPProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
  });

  it("reaches a stdio backend's transport through at most 7 core files", async () => {
    const stacks: string[] = [];
    // The line writer under the backend transport: its caller, the transport's send(), is on the stack.
    const send = LineWriter.prototype.send;
    LineWriter.prototype.send = function (this: LineWriter, message) {
      if ("method" in message && message.method === "tools/call") {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 100;
        stacks.push(new Error().stack ?? "");
        Error.stackTraceLimit = limit;
      }
      return send.call(this, message);
    };
    try {
      proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error" });
      proxy.use(async function passOn(_ctx, next) {
        return next();
      });
      const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
      const client = new Client({ name: "path", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
      await client.callTool({ name: "echo", arguments: { text: "hi" } });
      await client.close();
    } finally {
      LineWriter.prototype.send = send;
    }
    expect(stacks).toHaveLength(1);
    const files = [...new Set([...stacks[0]!.matchAll(/packages\/core\/src\/([\w/.-]+\.ts)/g)].map((m) => m[1]!).reverse())];
    // What the architecture document names, in the order the request travels (the stack lists it backwards).
    expect(files).toEqual([
      "serve/front-session.ts",
      "pipeline/dispatch.ts",
      "middleware/compose.ts",
      "components/proxy-tool.ts",
      "backends/router.ts",
      "backends/forwarder.ts",
      "backends/stdio-transport.ts",
    ]);
    expect(files.length).toBeLessThanOrEqual(7);
  });
});

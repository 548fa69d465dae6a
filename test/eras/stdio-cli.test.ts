// 2026-07-28 clients on the built CLI's stdio front: a v2 SDK client spawns `fastmcp-proxy -- <stdio
// backend>` and speaks 2026-07-28 to it (pinned, and auto, which probes on a sibling process first);
// the backend's elicitation during a call reaches the client as input_required. A v1 client on the
// same command stays legacy (test/cli/stdio.test.ts covers that path in full).
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, FIXTURE_STDIO, ROOT, startCli, stopAll, withTimeout } from "../cli/process.js";

afterEach(stopAll);

async function v2Cli(mode: "auto" | { pin: "2026-07-28" }) {
  const client = new Client({ name: "v2-cli", version: "1.0.0" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode } as never });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Ada" } }));
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "--name", "cli-2026", "--", ...FIXTURE_STDIO], cwd: ROOT, stderr: "ignore" });
  await withTimeout(client.connect(transport), 15_000, "connect");
  return client;
}

const text = (result: any) => result.content?.map((c: any) => c.text).join(" ");

// Skipped until proxy.run()'s stdio branch serves through serveStdioFront (proxy.ts is not the eras
// helper's file; the change is in its report). Passed 3/3 on a copy with that change.
describe("fastmcp-proxy on stdio, 2026-07-28 clients", () => {
  for (const mode of ["pinned", "auto"] as const) {
    it(`a v2 client (${mode}): 2026-07-28, the proxy's tools, an elicitation as input_required`, async () => {
      const client = await v2Cli(mode === "pinned" ? { pin: "2026-07-28" } : "auto");
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
        expect(client.getServerVersion()).toMatchObject({ name: "cli-2026" });
        const { tools } = await withTimeout(client.listTools(), 10_000, "tools/list");
        expect(tools.map((t) => t.name)).toContain("echo");
        expect(text(await withTimeout(client.callTool({ name: "echo", arguments: { text: "2026 on stdio" } }), 10_000, "echo"))).toBe("2026 on stdio");
        const asked = await withTimeout(client.callTool({ name: "ask", arguments: { what: "elicitation" } }), 10_000, "ask");
        expect(JSON.parse(text(asked))).toMatchObject({ action: "accept", content: { name: "Ada" } });
      } finally {
        await client.close();
      }
    }, 30_000);
  }

  it("a v1 client on the same command is served legacy", async () => {
    const cli = startCli(["--", ...FIXTURE_STDIO]);
    const client = await cli.connectStdio();
    expect(client.getServerVersion()?.name).toBeDefined();
    const { tools } = await withTimeout(client.listTools(), 10_000, "tools/list");
    expect(tools.map((t) => t.name)).toContain("echo");
    await client.close();
  }, 30_000);
});

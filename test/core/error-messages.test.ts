// An error reaches the client with the SDK's "MCP error <code>: " prefix once (issue 22): the proxy
// sends its errors' messages without it, and strips the ones the SDKs on the way added.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyError, ProxyErrorCode, type AnyProxyContext, plainMessage } from "@fastmcp-proxy/core";
import { fileURLToPath } from "node:url";
import { connectClient, rejection } from "../helpers.js";
import { serveHttp } from "../fixtures/serve.mjs";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

function backend(): McpServer {
  const server = new McpServer({ name: "backend", version: "1.0.0" });
  server.registerPrompt("boom", {}, async () => {
    throw new McpError(-32050, "kaboom");
  });
  server.registerPrompt("refused", {}, async () => ({ messages: [] }));
  server.registerPrompt("plain", {}, async () => ({ messages: [] }));
  return server;
}

class RefusingProxy extends FastMCPProxy {
  protected override beforeForward(ctx: AnyProxyContext): void {
    if (ctx.method !== "prompts/get") return;
    if (ctx.params.name === "refused") throw new ProxyError(ProxyErrorCode.Forbidden, "not for you");
    if (ctx.params.name === "plain") throw new Error("MCP error -32603: a plain failure");
  }
}

const prefixes = (message: string) => message.match(/MCP error -?\d+: /g)?.length ?? 0;

describe("error messages", () => {
  it("carry the SDK's prefix once, whoever raised the error", async () => {
    proxy = RefusingProxy.asProxy(backend());
    const client = await connectClient(proxy);
    const cases = [
      ["boom", -32050, "MCP error -32050: kaboom"], // the backend's, forwarded
      ["refused", ProxyErrorCode.Forbidden, "MCP error -32012: not for you"], // a ProxyError
      ["plain", -32603, "MCP error -32603: a plain failure"], // anything else thrown
      ["missing", -32602, "MCP error -32602: Unknown prompt"], // the proxy's own refusal
    ] as const;
    for (const [name, code, message] of cases) {
      const error = await rejection(client.getPrompt({ name }));
      expect(error.code, name).toBe(code);
      expect(error.message, name).toContain(message);
      expect(prefixes(error.message), `${name}: ${error.message}`).toBe(1);
    }
  });

  it("plainMessage strips every prefix, however many SDKs added one", () => {
    expect(plainMessage(new Error("MCP error -32050: MCP error -32050: kaboom"))).toBe("kaboom");
    expect(plainMessage(new Error("Backend x failed: MCP error -1: y"))).toBe("Backend x failed: MCP error -1: y");
  });
});

describe("error messages name no operator secret", () => {
  const HANGUP = fileURLToPath(new URL("../reliability/fixtures/hangup-server.mjs", import.meta.url));

  it("a backend's command line and URL in an error reach the client without their credentials", async () => {
    process.env.FASTMCP_TEST_API_KEY = "k3y-from-the-environment";
    const remote = await serveHttp(() => {
      const server = new McpServer({ name: "remote", version: "1.0.0" });
      server.registerTool("slow", {}, async () => new Promise(() => {}));
      return server;
    });
    try {
      proxy = FastMCPProxy.asProxy(
        {
          mcpServers: {
            local: { command: process.execPath, args: [HANGUP, "--token=s3cr3t-on-the-command-line", "--api-key", "s3cr3t-after-a-flag", "${FASTMCP_TEST_API_KEY}"] },
            remote: { url: `${remote.url}?api_key=s3cr3t-in-the-url` },
          },
        },
        { timeoutMs: 300 },
      );
      const client = await connectClient(proxy);
      const messages = [
        (await rejection(client.callTool({ name: "local_hangup" }))).message as string,
        (await rejection(client.callTool({ name: "remote_slow" }))).message as string,
      ];
      expect(messages[0]).toMatch(/Backend "local" \(stdio .*hangup-server\.mjs.*\) closed the connection during tools\/call/);
      expect(messages[1]).toMatch(/Backend "remote" \(http:\/\/127\.0\.0\.1:\d+\/mcp.*\) did not answer tools\/call in time/);
      for (const message of messages) {
        expect(message).not.toContain("s3cr3t");
        expect(message).not.toContain("k3y-from-the-environment");
      }
    } finally {
      delete process.env.FASTMCP_TEST_API_KEY;
      await remote.close();
    }
  });
});

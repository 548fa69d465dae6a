// An error reaches the client with the SDK's "MCP error <code>: " prefix once (issue 22): the proxy
// sends its errors' messages without it, and strips the ones the SDKs on the way added.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyError, ProxyErrorCode, type AnyProxyContext, plainMessage } from "@fastmcp-proxy/core";
import { connectClient, rejection } from "../helpers.js";

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

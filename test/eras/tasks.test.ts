// The 2026-07-28 tasks extension (SEP-2663, `io.modelcontextprotocol/tasks` under
// capabilities.extensions) is not bridged: the proxy never declares it to a 2026 backend, so the
// backend runs every forwarded call synchronously (the extension's rule for a client that did not
// declare it), the proxy's front does not advertise it, and tasks/get answers -32601 at once.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { ENVELOPE, modernStack, post2026 } from "./harness.js";

const TASKS = "io.modelcontextprotocol/tasks";
const SERVER_INFO = { "io.modelcontextprotocol/serverInfo": { name: "tasks-backend", version: "1.0.0" } };

/**
 * A 2026-only backend with the tasks extension: `slow_compute` becomes a task (resultType "task")
 * when the request declares the extension, and runs synchronously otherwise. It records what each
 * tools/call declared.
 */
async function tasksBackend() {
  const declared: unknown[] = [];
  const http: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    const answer = (result: Record<string, unknown>) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: body.id, result: { resultType: "complete", ...result, _meta: SERVER_INFO } }));
    const caps = body.params?._meta?.["io.modelcontextprotocol/clientCapabilities"] ?? {};
    switch (body.method) {
      case "server/discover":
        return answer({ supportedVersions: ["2026-07-28"], capabilities: { tools: {}, extensions: { [TASKS]: {} } } });
      case "tools/list":
        return answer({ tools: [{ name: "slow_compute", inputSchema: { type: "object", properties: {} } }], ttlMs: 0, cacheScope: "public" });
      case "tools/call":
        declared.push(caps);
        if (caps.extensions?.[TASKS]) {
          const now = new Date().toISOString();
          return answer({ resultType: "task", taskId: "t-1", status: "working", createdAt: now, lastUpdatedAt: now, ttlMs: 60_000 });
        }
        return answer({ content: [{ type: "text", text: "computed" }] });
      default:
        return res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: body.id, error: { code: -32601, message: "Method not found" } }));
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    declared,
    close: () => new Promise<void>((resolve) => (http.closeAllConnections(), http.close(() => resolve()))),
  };
}

describe("the 2026 tasks extension across the proxy", () => {
  const stack = modernStack(tasksBackend);

  it("a 2026 client that declares the extension gets a synchronous result: the backend is never told of it", async () => {
    const withTasks = { ...ENVELOPE, "io.modelcontextprotocol/clientCapabilities": { ...ENVELOPE["io.modelcontextprotocol/clientCapabilities"], extensions: { [TASKS]: {} } } };
    const called = await post2026(stack.front.url, "tools/call", { name: "slow_compute", arguments: {}, _meta: withTasks });
    expect(called.message.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "computed" }] });
    expect(called.message.result.taskId).toBeUndefined();
    expect(stack.backend.declared.length).toBeGreaterThan(0);
    for (const caps of stack.backend.declared) expect((caps as { extensions?: object }).extensions ?? {}).not.toHaveProperty(TASKS);
  }, 30_000);

  it("the front does not advertise the extension, and tasks/get is -32601 at once", async () => {
    const discover = await post2026(stack.front.url, "server/discover");
    expect(discover.message.result.capabilities.tools).toBeDefined();
    expect(discover.message.result.capabilities.extensions?.[TASKS]).toBeUndefined();
    expect(discover.message.result.capabilities.tasks).toBeUndefined();
    const started = Date.now();
    const get = await post2026(stack.front.url, "tasks/get", { taskId: "t-1" }, { "mcp-name": "t-1" });
    expect(get.status).toBe(404);
    expect(get.message.error?.code).toBe(-32601);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it("a v2 client declaring the extension calls the tool as an ordinary call", async () => {
    const client = new Client({ name: "v2-tasks", version: "1.0.0" }, { capabilities: { extensions: { [TASKS]: {} } } as never, versionNegotiation: { mode: { pin: "2026-07-28" } } as never });
    await client.connect(new (await import("@modelcontextprotocol/client")).StreamableHTTPClientTransport(new URL(stack.front.url)));
    try {
      const result = await client.callTool({ name: "slow_compute", arguments: {} });
      expect(result.content).toEqual([{ type: "text", text: "computed" }]);
    } finally {
      await client.close();
    }
  }, 30_000);
});

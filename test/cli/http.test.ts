// The built CLI with an HTTP front (streamable HTTP, SSE), and the built-in demo.
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { FIXTURE_STDIO, SERVING_HTTP, SERVING_SSE, STACK_FRAME, alive, gone, startCli, stopAll, withTimeout } from "./process.js";

afterEach(stopAll);

async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: "cli-http-test", version: "1.0.0" });
  await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url))), 15_000, "initialize over HTTP");
  return client;
}

function text(result: object): string {
  return ((result as { content: Array<{ type: string; text: string }> }).content)[0]!.text;
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } },
};
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("--transport http", () => {
  it("serves a stdio backend over streamable HTTP on the port it prints, and nothing on stdout", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--name", "cli-http-proxy", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(new URL(url!).port).not.toBe("0");

    const client = await connectHttp(url!);
    expect(client.getServerVersion()).toMatchObject({ name: "cli-http-proxy" });
    const { tools } = await withTimeout(client.listTools(), 10_000, "tools/list");
    expect(tools.map((t) => t.name)).toEqual(["echo", "fail", "explode", "slow", "crash", "whoami", "ask"]);
    const echoed = await withTimeout(client.callTool({ name: "echo", arguments: { text: "over HTTP" } }), 10_000, "tools/call");
    expect(echoed).toMatchObject({ content: [{ type: "text", text: "over HTTP" }], structuredContent: { echoed: "over HTTP" } });
    const { messages } = await withTimeout(client.getPrompt({ name: "greet", arguments: { who: "Ada" } }), 10_000, "prompts/get");
    expect(messages).toEqual([{ role: "user", content: { type: "text", text: "Hello, Ada!" } }]);

    await client.close();
    await cli.waitForStderr(/: 7 tools, 2 resources, 1 prompt\n/);
    expect(cli.stdout()).toBe("");
  });

  it("honours --path and --host, and refuses another Host header (DNS rebinding)", async () => {
    const cli = startCli(["--transport", "http", "--host", "127.0.0.1", "--port", "0", "--path", "/api/mcp", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/mcp$/);
    const client = await connectHttp(url!);
    expect((await withTimeout(client.listTools(), 10_000, "tools/list")).tools).toHaveLength(7);
    await client.close();

    const wrongPath = await fetch(url!.replace("/api/mcp", "/mcp"), { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(wrongPath.status).toBe(404);
    const rebinding = await fetch(url!, { method: "POST", headers: { ...MCP_HEADERS, origin: "http://evil.example" }, body: JSON.stringify(INITIALIZE) });
    expect(rebinding.status).toBe(403);
  });

  it("--stateless answers without a session id", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--stateless", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(/^fastmcp-proxy: serving streamable HTTP on (\S+) \(stateless\)$/m);
    const response = await withTimeout(
      fetch(url!, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) }),
      10_000,
      "initialize",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toBeNull();
    expect(await response.text()).toContain('"serverInfo":{"name":"fastmcp-proxy"');
    const client = await connectHttp(url!);
    expect(text(await withTimeout(client.callTool({ name: "echo", arguments: { text: "stateless" } }), 10_000, "tools/call"))).toBe("stateless");
    await client.close();
  });

  it("SIGTERM closes every backend child (one per HTTP session) and exits 0", async () => {
    const cli = startCli(["--transport", "http", "--port", "0", "--", ...FIXTURE_STDIO]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    const client = await connectHttp(url!);
    const { pid } = JSON.parse(text(await withTimeout(client.callTool({ name: "whoami", arguments: {} }), 10_000, "whoami"))) as { pid: number };
    expect(pid).not.toBe(cli.pid);
    expect(alive(pid)).toBe(true);

    cli.child.kill("SIGTERM");
    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(await gone(pid, 5_000)).toBe(true);
    expect(cli.stderr()).toContain("shutting down (SIGTERM)");
    expect(cli.stderr()).not.toMatch(STACK_FRAME);
  });
});

describe("--transport sse", () => {
  it("serves the legacy SSE transport, and streamable HTTP beside it", async () => {
    const cli = startCli(["--transport", "sse", "--port", "0", "--", ...FIXTURE_STDIO]);
    const [, sseUrl, streamableUrl] = await cli.waitForStderr(SERVING_SSE);
    expect(sseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sse$/);
    expect(streamableUrl).toBe(sseUrl!.replace(/\/sse$/, "/mcp"));

    const client = new Client({ name: "cli-sse-test", version: "1.0.0" });
    await withTimeout(client.connect(new SSEClientTransport(new URL(sseUrl!))), 15_000, "initialize over SSE");
    expect(text(await withTimeout(client.callTool({ name: "echo", arguments: { text: "over SSE" } }), 10_000, "tools/call"))).toBe("over SSE");
    await client.close();

    const streamable = await connectHttp(streamableUrl!);
    expect((await withTimeout(streamable.listTools(), 10_000, "tools/list")).tools).toHaveLength(7);
    await streamable.close();
  });
});

describe("--demo", () => {
  it("serves the built-in demo server over streamable HTTP, with how to connect", async () => {
    const cli = startCli(["--demo", "--transport", "http", "--port", "0"]);
    const [, url] = await cli.waitForStderr(SERVING_HTTP);
    await cli.waitForStderr(/Press Ctrl\+C to stop\.\n/);
    const stderr = cli.stderr();
    expect(stderr).toContain("proxying the built-in demo server (a stdio child): 3 tools, 1 resource, 1 prompt");
    expect(stderr).toContain(`npx @modelcontextprotocol/inspector --cli ${url} --transport http --method tools/list`);
    expect(stderr).toContain(`curl -si ${url} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'`);
    expect(stderr).toContain("Press Ctrl+C to stop.");

    const client = await connectHttp(url!);
    expect(client.getInstructions()).toMatch(/demo server behind fastmcp-proxy/);
    const { tools } = await withTimeout(client.listTools(), 10_000, "tools/list");
    expect(tools.map((t) => t.name).sort()).toEqual(["add", "current_time", "echo"]);
    expect(tools.find((t) => t.name === "add")?.inputSchema).toMatchObject({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } } });

    expect(text(await client.callTool({ name: "echo", arguments: { text: "hello demo" } }))).toBe("hello demo");
    expect(await client.callTool({ name: "add", arguments: { a: 2, b: 40 } })).toMatchObject({
      content: [{ type: "text", text: "42" }],
      structuredContent: { sum: 42 },
    });
    const time = await client.callTool({ name: "current_time", arguments: { timezone: "UTC" } });
    expect(time.structuredContent).toMatchObject({ timezone: "UTC", iso: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(await client.callTool({ name: "current_time", arguments: { timezone: "Mars/Olympus" } })).toMatchObject({ isError: true });
    const invalid = await client.callTool({ name: "add", arguments: { a: "two", b: 1 } });
    expect(invalid).toMatchObject({ isError: true });

    const readme = await client.readResource({ uri: "demo://readme" });
    expect(readme.contents[0]).toMatchObject({ uri: "demo://readme", mimeType: "text/markdown", text: expect.stringContaining("# fastmcp-proxy demo") });
    const prompt = await client.getPrompt({ name: "greeting", arguments: { name: "Ada" } });
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "Please write a short, friendly greeting for Ada." } }]);

    // The demo's own curl example works as printed.
    const curlBody = /-d '(\{.*\})'/.exec(stderr)![1]!;
    const response = await fetch(url!, { method: "POST", headers: MCP_HEADERS, body: curlBody });
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toMatch(/^[A-Za-z0-9_-]{40,}$/); // sealed: any replica of a fleet takes the session up from it
    expect(await response.text()).toContain('"protocolVersion":"2025-06-18"');

    await client.close();
    cli.child.kill("SIGINT");
    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toBe("");
  });

  it("on stdio, speaks MCP on stdout and explains itself on stderr", async () => {
    const cli = startCli(["--demo"]);
    const client = await cli.connectStdio();
    expect(text(await withTimeout(client.callTool({ name: "add", arguments: { a: 1, b: 2 } }), 10_000, "tools/call"))).toBe("3");
    await cli.waitForStderr(/\{ "mcpServers": \{ "demo": \{ "command": "fastmcp-proxy", "args": \["--demo"\] \} \} \}/);
    cli.child.stdin.end();
    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });
  });
});

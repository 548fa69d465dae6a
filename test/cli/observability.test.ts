// The built CLI's logs, metrics and health endpoints: --log-format, --log-level, --metrics,
// /healthz and /readyz, and no credentials on stderr.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { serveHttp } from "../fixtures/serve.mjs";
import { FIXTURE, FIXTURE_STDIO, SERVING_HTTP, SERVING_SSE, STACK_FRAME, runCli, startCli, stopAll, withTimeout, type CliProcess } from "./process.js";

afterEach(stopAll);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fastmcp-proxy-cli-obs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config mounting the stdio fixture as one server named `weather` (so metrics say backend="weather"). */
function weatherConfig(): string {
  const path = join(dir, `weather-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ mcpServers: { weather: { command: process.execPath, args: [FIXTURE, "stdio"] } } }));
  return path;
}

async function connectHttp(url: string, headers?: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "cli-observability-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined);
  await withTimeout(client.connect(transport), 15_000, "initialize over HTTP");
  return client;
}

/** GET with a bounded wait. */
async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

async function startHttp(args: string[]): Promise<{ cli: CliProcess; url: string; origin: string }> {
  const cli = startCli(["--transport", "http", "--port", "0", ...args]);
  const [, url] = await cli.waitForStderr(args.includes("json") ? /"msg":"serving streamable HTTP on (http:\/\/[^"\s]+)"/ : SERVING_HTTP);
  return { cli, url: url!, origin: new URL(url!).origin };
}

/** The JSON lines of stderr (every line, in the json format). */
function jsonLines(stderr: string): Record<string, any>[] {
  return stderr.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
}

describe("--metrics", () => {
  it("serves Prometheus text at /metrics, counting tools/call by backend, component and outcome", async () => {
    const { cli, url, origin } = await startHttp(["--metrics", weatherConfig()]);
    await cli.waitForStderr(/^fastmcp-proxy: health on http:\S+\/healthz and http:\S+\/readyz, metrics on (http:\S+\/metrics)$/m);
    const client = await connectHttp(url);
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "counted" } }), 10_000, "tools/call echo");
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "twice" } }), 10_000, "tools/call echo");
    await withTimeout(client.callTool({ name: "fail", arguments: {} }), 10_000, "tools/call fail");
    await client.close();

    const metrics = await get(`${origin}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain("# TYPE mcp_proxy_requests_total counter");
    expect(metrics.body).toContain('mcp_proxy_requests_total{method="tools/call",backend="weather",component="echo",outcome="ok"} 2\n');
    expect(metrics.body).toContain('mcp_proxy_requests_total{method="tools/call",backend="weather",component="fail",outcome="isError"} 1\n');
    expect(metrics.body).toContain('mcp_proxy_errors_total{method="tools/call",backend="weather",component="fail",code="isError"} 1\n');
    expect(metrics.body).toMatch(/^mcp_proxy_request_duration_seconds_count\{method="tools\/call",backend="weather",component="echo"\} 2$/m);
    // process metrics too
    expect(metrics.body).toMatch(/^mcp_proxy_process_cpu_user_seconds_total \d/m);
  });

  it("on an SSE front too", async () => {
    const cli = startCli(["--transport", "sse", "--port", "0", "--metrics", "--", ...FIXTURE_STDIO]);
    const [, sseUrl] = await cli.waitForStderr(SERVING_SSE);
    const origin = new URL(sseUrl!).origin;
    const metrics = await get(`${origin}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("# TYPE mcp_proxy_requests_total counter");
    expect((await get(`${origin}/healthz`)).status).toBe(200);
  });

  it("is off by default: /metrics is not found, /healthz and /readyz are still served", async () => {
    const { origin } = await startHttp(["--", ...FIXTURE_STDIO]);
    expect((await get(`${origin}/metrics`)).status).toBe(404);
    expect((await get(`${origin}/healthz`)).status).toBe(200);
  });

  it("with a stdio front is a usage error (exit 2)", async () => {
    const result = await runCli(["--metrics", "--", ...FIXTURE_STDIO]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("fastmcp-proxy: --metrics applies only to an HTTP front: add --transport http (or sse)\n");
  });

  it("refuses an MCP --path that a built-in endpoint takes (exit 2)", async () => {
    const result = await runCli(["--transport", "http", "--metrics", "--path", "/metrics", "--", ...FIXTURE_STDIO]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("fastmcp-proxy: --path /metrics is taken by the metrics endpoint: choose another, e.g. --path /mcp\n");
  });
});

describe("/healthz and /readyz", () => {
  it("/healthz answers 200 JSON; /readyz 200 JSON naming the backend when it is up", async () => {
    const { origin } = await startHttp([weatherConfig()]);
    const health = await get(`${origin}/healthz`);
    expect(health.status).toBe(200);
    expect(health.type).toBe("application/json");
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok", uptimeSeconds: expect.any(Number) });

    const ready = await get(`${origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.type).toBe("application/json");
    expect(JSON.parse(ready.body)).toMatchObject({ status: "ready", started: true, backends: [{ name: "weather", status: "up", latencyMs: expect.any(Number) }] });
  });

  it("/readyz turns 503 when the backend stops answering, while /healthz stays 200", async () => {
    const backend = await serveHttp(createFixtureServer, { mode: "http" });
    let closed = false;
    try {
      const { origin } = await startHttp([backend.url]);
      expect((await get(`${origin}/readyz`)).status).toBe(200);
      await backend.close();
      closed = true;
      // Reports are cached for a second; poll, bounded.
      const deadline = Date.now() + 10_000;
      let ready = await get(`${origin}/readyz`);
      while (ready.status !== 503 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        ready = await get(`${origin}/readyz`);
      }
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ status: "not_ready", backends: [{ name: "backend", status: "down" }] });
      expect((await get(`${origin}/healthz`)).status).toBe(200);
    } finally {
      if (!closed) await backend.close();
    }
  });
});

describe("--ready-when", () => {
  /** One backend that serves and one that cannot be reached: the replica can still serve. */
  function halfDownConfig(): string {
    const path = join(dir, `half-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify({ mcpServers: { weather: { command: process.execPath, args: [FIXTURE, "stdio"] }, gone: { url: "http://127.0.0.1:1/mcp" } } }));
    return path;
  }

  it("any (the default): /readyz is 200 while one backend serves, and its body names the one that is down", async () => {
    const { origin } = await startHttp([halfDownConfig()]);
    const ready = await get(`${origin}/readyz`);
    expect(ready.status).toBe(200);
    const body = JSON.parse(ready.body) as { backends: Array<{ name: string; status: string }> };
    expect(body.backends.map((b) => `${b.name}:${b.status}`).sort()).toEqual(["gone:down", "weather:up"]);
  });

  it("all: /readyz is 503 while any backend is down", async () => {
    const { origin } = await startHttp(["--ready-when", "all", halfDownConfig()]);
    expect((await get(`${origin}/readyz`)).status).toBe(503);
  });

  it("refuses another value, naming the two", async () => {
    const result = await runCli(["--transport", "http", "--ready-when", "most", weatherConfig()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--ready-when must be any or all, got "most"/);
  });
});

describe("request logs", () => {
  it("--log-format json: every stderr line is JSON, one per request with method, component, backend and outcome", async () => {
    const { cli, url } = await startHttp(["--log-format", "json", weatherConfig()]);
    const client = await connectHttp(url);
    await withTimeout(client.listTools(), 10_000, "tools/list");
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "logged" } }), 10_000, "tools/call echo");
    await withTimeout(client.callTool({ name: "fail", arguments: {} }), 10_000, "tools/call fail");
    await expect(withTimeout(client.callTool({ name: "explode", arguments: {} }), 10_000, "tools/call explode")).rejects.toThrow(/exploded on purpose/);
    await cli.waitForStderr(/"component":"explode".*"outcome":"error"/);
    await client.close();
    cli.child.kill("SIGTERM");
    expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });

    const lines = jsonLines(cli.stderr()); // throws if any line is not JSON
    expect(lines[0]).toMatchObject({ level: 30, name: "fastmcp-proxy", msg: `serving streamable HTTP on ${url}`, transport: "http", url });
    const requests = lines.filter((line) => "outcome" in line);
    expect(requests).toHaveLength(4);
    expect(requests).toMatchObject([
      { level: 30, method: "tools/list", outcome: "ok", durationMs: expect.any(Number) },
      { level: 30, method: "tools/call", kind: "tool", component: "echo", backend: "weather", outcome: "ok", sessionId: expect.any(String), requestBytes: expect.any(Number), responseBytes: expect.any(Number) },
      { level: 40, method: "tools/call", component: "fail", backend: "weather", outcome: "isError" },
      { level: 50, method: "tools/call", component: "explode", backend: "weather", outcome: "error", code: -32050, error: { code: -32050, message: expect.stringContaining("exploded on purpose") } },
    ]);
    // info level: no payloads
    expect(requests[1]).not.toHaveProperty("params");
    expect(requests[1]).not.toHaveProperty("result");
    expect(lines.some((line) => line.msg === "shutting down (SIGTERM)")).toBe(true);
  });

  it("plain (the default): one [fastmcp-proxy] line per request, in the diagnostics' shape", async () => {
    const { cli, url } = await startHttp([weatherConfig()]);
    const client = await connectHttp(url);
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "plain" } }), 10_000, "tools/call echo");
    await withTimeout(client.callTool({ name: "fail", arguments: {} }), 10_000, "tools/call fail");
    await cli.waitForStderr(/^\[fastmcp-proxy\] warn: tools\/call fail ← weather isError [\d.]+ms \d+B→\d+B session=[A-Za-z0-9_-]{8}…$/m);
    expect(cli.stderr()).toMatch(/^\[fastmcp-proxy\] info: tools\/call echo ← weather ok [\d.]+ms \d+B→\d+B session=[A-Za-z0-9_-]{8}…$/m);
    await client.close();
  });

  it("--log-format pretty: timestamped lines, no colours when stderr is not a terminal", async () => {
    const { cli, url } = await startHttp(["--log-format", "pretty", weatherConfig()]);
    const client = await connectHttp(url);
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "pretty" } }), 10_000, "tools/call echo");
    await cli.waitForStderr(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}tools\/call echo ← weather ok [\d.]+ms/m);
    expect(cli.stderr()).not.toContain("\x1b[");
    await client.close();
  });

  it("--log-level warn leaves out the ok lines but keeps failures; silent leaves out every log line", async () => {
    const quiet = await startHttp(["--log-level", "warn", weatherConfig()]);
    const client = await connectHttp(quiet.url);
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "quiet" } }), 10_000, "tools/call echo");
    await withTimeout(client.callTool({ name: "fail", arguments: {} }), 10_000, "tools/call fail");
    await quiet.cli.waitForStderr(/warn: tools\/call fail ← weather isError/);
    expect(quiet.cli.stderr()).not.toContain("tools/call echo");
    await client.close();

    const silent = await startHttp(["--log-level", "silent", "--log-format", "json", weatherConfig()]);
    const other = await connectHttp(silent.url);
    await withTimeout(other.callTool({ name: "explode", arguments: {} }), 10_000, "tools/call explode").catch(() => {});
    await other.close();
    silent.cli.child.kill("SIGTERM");
    expect(await silent.cli.exited(10_000)).toEqual({ code: 0, signal: null });
    // only the CLI's own messages (ready line, summary, endpoints), which no level hides
    expect(jsonLines(silent.cli.stderr()).map((line) => line.msg)).toEqual([
      expect.stringMatching(/^serving streamable HTTP on /),
      expect.stringMatching(/^proxying stdio "/),
      expect.stringMatching(/^health on /),
    ]);
  });
});

describe("credentials never reach stderr", () => {
  const SECRET_ARG = "s3cr3t-ARGUMENT-8f2c1a";
  const SECRET_HEADER = "s3cr3t-HEADER-77b0e4";
  const SECRET_QUERY = "s3cr3t-QUERY-c41d09";

  for (const format of ["plain", "json", "pretty"] as const) {
    it(`in a tool argument, an Authorization header or a backend URL, at debug level (${format})`, async () => {
      const backend = await serveHttp(createFixtureServer, { mode: "http" });
      try {
        const { cli, url } = await startHttp(["--log-level", "debug", "--log-format", format, `${backend.url}?token=${SECRET_QUERY}`]);
        const client = await connectHttp(url, { Authorization: `Bearer ${SECRET_HEADER}` });
        // The tool echoes the argument back: the client gets it, the log must not.
        const echoed = await withTimeout(client.callTool({ name: "echo", arguments: { text: `key ${SECRET_ARG}`, apiKey: SECRET_ARG } }), 10_000, "tools/call echo");
        expect(JSON.stringify(echoed)).toContain(SECRET_ARG);
        await expect(withTimeout(client.callTool({ name: "explode", arguments: { password: SECRET_ARG } }), 10_000, "tools/call explode")).rejects.toThrow();
        await cli.waitForStderr(/tools\/call.*explode.*error/);
        await client.close();
        cli.child.kill("SIGTERM");
        expect(await cli.exited(10_000)).toEqual({ code: 0, signal: null });

        const stderr = cli.stderr();
        // the requests were logged, with their (redacted) params and results
        expect(stderr).toMatch(/tools\/call.*echo/);
        expect(stderr).toMatch(format === "json" ? /"apiKey":"\[REDACTED\]"/ : /apiKey.{1,4}\[REDACTED\]/);
        expect(stderr).toContain("token=[REDACTED]");
        for (const secret of [SECRET_ARG, SECRET_HEADER, SECRET_QUERY]) expect(stderr).not.toContain(secret);
        expect(stderr).not.toMatch(STACK_FRAME);
      } finally {
        await backend.close();
      }
    });
  }

  it("in the one-line failure for a backend URL with a user and password", async () => {
    const result = await runCli([`http://alice:${SECRET_QUERY}@127.0.0.1:1/mcp?key=${SECRET_ARG}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fastmcp-proxy: Backend "backend" \(http:\/\/\[REDACTED\]@127\.0\.0\.1:1\/mcp\?key=\[REDACTED\]\) is unavailable: /);
    expect(result.stderr).toMatch(/: credentials in the URL are not sent \(fetch refuses them\): put them in a config file's "headers"/);
    expect(result.stderr).not.toContain(SECRET_QUERY);
    expect(result.stderr).not.toContain(SECRET_ARG);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

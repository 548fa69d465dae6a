import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { FIXTURE, connectClient, raw, rejection } from "../helpers.js";
import { Registry, createLogger, healthHandler, logging, metrics, metricsHandler, proxyLogger, readiness, routes } from "../../packages/logging/src/index.js";
import { capture } from "./helpers.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

/** The value of one sample in a Prometheus text exposition, labels in any order; undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function listen(server: HttpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const tool = (component: string) => ({ method: "tools/call", backend: "backend", component });

describe("metrics on a real proxy", () => {
  it("counts requests by outcome, errors by code, and times them by method, backend and component", async () => {
    const registry = new Registry();
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).use(metrics({ registry }));
    cleanup.push(() => proxy.close());
    const client = await connectClient(proxy);
    await raw(client, "tools/call", { name: "echo", arguments: { text: "a" } });
    await raw(client, "tools/call", { name: "echo", arguments: { text: "b" } });
    await raw(client, "tools/call", { name: "fail", arguments: {} });
    await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }));
    await rejection(raw(client, "tools/call", { name: "nope", arguments: {} }));
    await raw(client, "tools/list");

    const text = await registry.metrics();
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("echo"), outcome: "ok" })).toBe(2);
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("fail"), outcome: "isError" })).toBe(1);
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("explode"), outcome: "error" })).toBe(1);
    // an unknown tool has no component: the client's name never becomes a label
    expect(sample(text, "mcp_proxy_requests_total", { method: "tools/call", backend: "", component: "", outcome: "error" })).toBe(1);
    expect(text).not.toContain("nope");
    expect(sample(text, "mcp_proxy_requests_total", { method: "tools/list", backend: "", component: "", outcome: "ok" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("explode"), code: "-32050" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("fail"), code: "isError" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { method: "tools/call", backend: "", component: "", code: "-32602" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("echo"), code: "isError" })).toBeUndefined();
    expect(sample(text, "mcp_proxy_request_duration_seconds_count", tool("echo"))).toBe(2);
    expect(sample(text, "mcp_proxy_request_duration_seconds_bucket", { ...tool("echo"), le: "+Inf" })).toBe(2);
    expect(sample(text, "mcp_proxy_request_duration_seconds_sum", tool("echo"))).toBeGreaterThan(0);
    expect(sample(text, "mcp_proxy_requests_in_flight", { method: "tools/call", backend: "backend" })).toBe(0);
  });

  it("keeps one series per method and component, each with its own backend, across many calls", async () => {
    const registry = new Registry();
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).mount(createFixtureServer(), { namespace: "b" }).use(metrics({ registry }));
    cleanup.push(() => proxy.close());
    const client = await connectClient(proxy);
    for (const name of ["echo", "echo", "b_echo", "fail", "b_echo", "echo"]) await raw(client, "tools/call", { name, arguments: { text: "x" } });
    await raw(client, "tools/list");
    await raw(client, "tools/list");

    const text = await registry.metrics();
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("echo"), outcome: "ok" })).toBe(3);
    expect(sample(text, "mcp_proxy_requests_total", { method: "tools/call", backend: "b", component: "b_echo", outcome: "ok" })).toBe(2);
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("fail"), outcome: "isError" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("fail"), code: "isError" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("echo"), code: "isError" })).toBeUndefined();
    expect(sample(text, "mcp_proxy_requests_total", { method: "tools/list", backend: "", component: "", outcome: "ok" })).toBe(2);
    expect(sample(text, "mcp_proxy_request_duration_seconds_count", { method: "tools/call", backend: "b", component: "b_echo" })).toBe(2);
    expect(sample(text, "mcp_proxy_requests_in_flight", { method: "tools/call", backend: "b" })).toBe(0);
  });

  it("shares the metrics when two middlewares use one registry, and can add process metrics", async () => {
    const registry = new Registry();
    const a = metrics({ registry, defaultMetrics: true });
    const b = metrics({ registry, defaultMetrics: true });
    expect(a.registry).toBe(b.registry);
    const text = await registry.metrics();
    expect(text).toContain("mcp_proxy_process_cpu_seconds_total");
    expect(text.match(/^# TYPE mcp_proxy_requests_total counter$/gm)).toHaveLength(1);
  });
});

describe("metrics, health and readiness served over HTTP next to the MCP endpoint", () => {
  it("serves /metrics, /healthz and /readyz on 127.0.0.1 while /mcp keeps serving MCP", async () => {
    const registry = new Registry();
    const out = capture();
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).use(logging({ destination: out.destination })).use(metrics({ registry }));
    cleanup.push(() => proxy.close());
    await proxy.start();
    const mcp = proxy.httpHandler();
    // What the HTTP front will do: try the observability routes first, then MCP.
    const observability = routes(metricsHandler({ registry }), healthHandler(proxy));
    const base = await listen(createServer((req, res) => {
      if (!observability(req, res)) void mcp(req, res);
    }));

    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
    const client = new Client({ name: "http-client", version: "1.0.0" });
    await client.connect(transport);
    cleanup.push(() => client.close());
    await client.callTool({ name: "echo", arguments: { text: "over http" } });
    await client.callTool({ name: "fail", arguments: {} });
    await rejection(client.callTool({ name: "explode", arguments: {} }));

    const scraped = await fetch(`${base}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get("content-type")).toContain("text/plain");
    const text = await scraped.text();
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("echo"), outcome: "ok" })).toBe(1);
    expect(sample(text, "mcp_proxy_requests_total", { ...tool("fail"), outcome: "isError" })).toBe(1);
    expect(sample(text, "mcp_proxy_errors_total", { ...tool("explode"), code: "-32050" })).toBe(1);
    expect(text).toMatch(/^# TYPE mcp_proxy_request_duration_seconds histogram$/m);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", uptimeSeconds: expect.any(Number) });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", started: true, backends: [{ name: "backend", status: "up", latencyMs: expect.any(Number) }] });

    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/metrics`, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404); // fell through to the MCP handler

    // the HTTP front's session id is on every request line
    const lines = out.entries().filter((e) => e.method === "tools/call");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.sessionId).toBe(transport.sessionId);
  });
});

describe("readiness", () => {
  it("is not ready before start(), and says so without touching the backends", async () => {
    const proxy = FastMCPProxy.asProxy(createFixtureServer());
    cleanup.push(() => proxy.close());
    expect(await readiness(proxy)()).toEqual({ ready: false, started: false, backends: [{ name: "backend", status: "unknown" }] });
    await proxy.start();
    expect(await readiness(proxy)()).toMatchObject({ ready: true, started: true, backends: [{ name: "backend", status: "up" }] });
  });

  it("reports a backend that cannot be reached: not ready when all are required, ready when any will do", async () => {
    // a port that was free a moment ago: nothing listens there
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const diagnostics = capture();

    const proxy = FastMCPProxy.asProxy(
      { mcpServers: { good: { command: process.execPath, args: [FIXTURE, "stdio"] }, bad: { url: `http://127.0.0.1:${port}/mcp?token=hunter2secret` } } },
      { connectTimeoutMs: 5000, logger: proxyLogger(createLogger({ level: "debug", destination: diagnostics.destination })) },
    );
    cleanup.push(() => proxy.close());
    await proxy.start(); // the bad backend is left out; the proxy still serves the good one
    // the proxy's own warning, through pino, with the URL's credentials scrubbed
    expect(diagnostics.entries()).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/backend "bad" .*token=\[REDACTED\].* left out/) }));
    expect(diagnostics.text()).not.toContain("hunter2secret");

    const all = await readiness(proxy, { errors: true, timeoutMs: 3000 })();
    expect(all.ready).toBe(false);
    expect(all.backends).toEqual([
      { name: "good", status: "up", latencyMs: expect.any(Number) },
      { name: "bad", status: "down", error: expect.any(String) },
    ]);
    expect(all.backends[1]!.error).not.toContain("hunter2secret");
    expect((await readiness(proxy, { require: "any" })()).ready).toBe(true);

    const base = await listen(createServer((req, res) => {
      if (!healthHandler(proxy)(req, res)) res.writeHead(404).end();
    }));
    const answer = await fetch(`${base}/readyz`);
    expect(answer.status).toBe(503);
    const body = (await answer.json()) as { backends: Record<string, unknown>[] };
    expect(body).toMatchObject({ status: "not_ready", backends: [{ name: "good", status: "up" }, { name: "bad", status: "down" }] });
    expect(body.backends[1]).not.toHaveProperty("error"); // no internals on a public endpoint unless asked
    expect((await fetch(`${base}/healthz`)).status).toBe(200); // alive all the same
  });

  it("shares one probe between concurrent checks and caches it briefly", async () => {
    const proxy = FastMCPProxy.asProxy(createFixtureServer());
    cleanup.push(() => proxy.close());
    await proxy.start();
    const check = readiness(proxy, { cacheMs: 60_000 });
    const first = check();
    expect(check()).toBe(first);
    await first;
    expect(check()).toBe(first);
  });
});

// The cache outcome in the logging package's request line and in its Prometheus metrics.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { caching } from "@fastmcp-proxy/caching";
import { Registry, logging, metrics } from "@fastmcp-proxy/logging";
import { capture } from "../logging/helpers.js";
import { client, countingBackend } from "./fixtures.js";

let proxy: FastMCPProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("cache outcome in logs and metrics", () => {
  it("each request line says hit, miss or bypass; a counter counts them; gauges show ratio, entries and bytes", async () => {
    const log = capture();
    const registry = new Registry();
    const cache = caching({ tools: { lookup: true } });
    proxy = FastMCPProxy.asProxy(countingBackend().server);
    // Observers outermost, so they see what the cache decided.
    proxy.use(logging({ destination: log.destination })).use(metrics({ registry, cache }));
    await cache.install(proxy);
    const c = await client(proxy);
    await c.readResource({ uri: "data://doc" });
    await c.readResource({ uri: "data://doc" });
    await c.callTool({ name: "write", arguments: { v: "1" } });
    await c.listTools();
    const lines = log.entries().filter((e) => e.method !== "tools/list");
    expect(lines.map((e) => e.cache)).toEqual(["miss", "hit", "bypass:not-listed"]);
    expect(log.entries().find((e) => e.method === "tools/list")?.cache).toBeUndefined();
    const text = await registry.metrics();
    expect(text).toContain('mcp_proxy_cache_requests_total{method="resources/read",backend="backend",outcome="miss"} 1');
    expect(text).toContain('mcp_proxy_cache_requests_total{method="resources/read",backend="backend",outcome="hit"} 1');
    expect(text).toContain('mcp_proxy_cache_requests_total{method="tools/call",backend="backend",outcome="bypass:not-listed"} 1');
    expect(text).toMatch(/mcp_proxy_cache_hit_ratio 0\.5\b/);
    expect(text).toMatch(/mcp_proxy_cache_entries [1-9]/);
    expect(text).toMatch(/mcp_proxy_cache_bytes [1-9]/);
    expect(text).toContain("mcp_proxy_cache_evictions_total 0");
    await cache.close();
  });
});

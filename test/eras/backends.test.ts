// A backend's era: `2026-07-28` for a 2026-only server, `auto` probing with server/discover and
// falling back to initialize, with the legacy era's features (per-client sessions, server→client
// requests) intact on the fallback.
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import { probeEra } from "../../packages/core/src/eras/index.js";
import { startStreamableHttpServer } from "../fixtures/conformance-server.mjs";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { modernProxy } from "./harness.js";

describe("backend eras", () => {
  let modernOnly: Awaited<ReturnType<typeof startDualEraServer>>;
  let dual: Awaited<ReturnType<typeof startDualEraServer>>;
  let legacyOnly: { url: string; close(): Promise<void> };
  const proxies: FastMCPProxy[] = [];
  beforeAll(async () => {
    [modernOnly, dual, legacyOnly] = await Promise.all([startDualEraServer({ modernOnly: true }), startDualEraServer(), startStreamableHttpServer()]);
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([modernOnly?.close(), dual?.close(), legacyOnly?.close()]);
  });

  it("probeEra: modern for a 2026-only or dual-era server, legacy for a legacy-only one", async () => {
    expect(await probeEra(modernOnly.url)).toBe("modern");
    expect(await probeEra(dual.url)).toBe("modern");
    expect(await probeEra(legacyOnly.url)).toBe("legacy");
  });

  async function listAndCall(proxy: FastMCPProxy, tool: string) {
    proxies.push(proxy);
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const client = new LegacyClient({ name: "v1", version: "1" });
    await client.connect(new LegacyHttp(new URL(url!)));
    try {
      const { tools } = (await client.request({ method: "tools/list", params: {} }, ResultSchema.passthrough())) as { tools: { name: string }[] };
      const result = (await client.request({ method: "tools/call", params: { name: tool, arguments: {} } }, ResultSchema.passthrough())) as { content: { text: string }[] };
      return { names: tools.map((t) => t.name), text: result.content[0]!.text };
    } finally {
      await client.close();
    }
  }

  it("a 2026-only backend works with protocol 2026-07-28 and with auto", async () => {
    for (const protocol of ["2026-07-28", "auto"] as const) {
      const { names, text } = await listAndCall(modernProxy(modernOnly.url, protocol), "test_simple_text");
      expect(names).toContain("test_input_required_result_elicitation");
      expect(text).toBe("This is a simple text response for testing.");
    }
  }, 30_000);

  it("auto falls back to initialize for a legacy-only backend", async () => {
    const { names, text } = await listAndCall(modernProxy(legacyOnly.url, "auto"), "test_simple_text");
    expect(names).toContain("test_reconnection"); // a legacy-only tool of the v1 fixture
    expect(text).toBe("This is a simple text response for testing.");
  }, 30_000);

  it("a dual-era backend works in either mode", async () => {
    const modern = await listAndCall(modernProxy(dual.url, "2026-07-28"), "test_simple_text");
    const legacy = await listAndCall(modernProxy(dual.url, "legacy"), "test_simple_text");
    expect(modern.names).toContain("test_input_required_result_elicitation");
    expect(legacy.names).toContain("test_reconnection");
    expect(modern.text).toBe(legacy.text);
  }, 30_000);

  it("protocol 2026-07-28 against a legacy-only backend fails start with a clear error", async () => {
    const proxy = modernProxy(legacyOnly.url, "2026-07-28");
    proxies.push(proxy);
    await expect(proxy.start()).rejects.toThrow(/unavailable/i);
  }, 30_000);
});

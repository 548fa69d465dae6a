// subscriptions/listen through the proxy: a backend's list change (over its own listen stream, for a
// 2026 backend) refreshes the proxy's mirror and reaches the 2026 client's open stream, tagged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import { startDualEraServer } from "../fixtures/dual-era-server.mjs";
import { ENVELOPE, modernProxy, openListen, post2026 } from "./harness.js";

describe("subscriptions/listen through the proxy", () => {
  let fixture: Awaited<ReturnType<typeof startDualEraServer>>;
  let proxy: FastMCPProxy;
  let url: string;
  beforeAll(async () => {
    fixture = await startDualEraServer({ modernOnly: true });
    proxy = modernProxy(fixture.url);
    url = (await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 })).url!;
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await fixture?.close();
  });

  it("acknowledges first, then relays tools/list_changed with the subscription id, and not prompts", async () => {
    await post2026(url, "tools/list"); // the first 2026 request opens the proxy's watcher
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "subscriptions/listen" },
      body: JSON.stringify({ jsonrpc: "2.0", id: "listen-1", method: "subscriptions/listen", params: { _meta: ENVELOPE, notifications: { toolsListChanged: true } } }),
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const frames: any[] = [];
    const reader = response.body!.getReader();
    let buffer = "";
    const read = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffer += new TextDecoder().decode(value);
        for (const [, data] of buffer.matchAll(/^data: ?(.*)$/gm)) frames.push(JSON.parse(data!));
        buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
        if (frames.some((f) => f.method === "notifications/tools/list_changed")) return;
      }
    })();
    const deadline = Date.now() + 5000;
    while (frames.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(frames[0]?.method).toBe("notifications/subscriptions/acknowledged");
    await post2026(url, "tools/call", { name: "test_trigger_prompt_change", arguments: {} });
    await post2026(url, "tools/call", { name: "test_trigger_tool_change", arguments: {} });
    await read;
    clearTimeout(timer);
    controller.abort();
    const changed = frames.find((f) => f.method === "notifications/tools/list_changed");
    expect(changed?.params?._meta?.["io.modelcontextprotocol/subscriptionId"]).toBe("listen-1");
    expect(frames.some((f) => f.method === "notifications/prompts/list_changed")).toBe(false);
  }, 30_000);

  it("relays resources/updated for a resource a listen stream names (subscribed upstream while it is open)", async () => {
    const { frames, close } = await openListen(url, "listen-2", { notifications: { resourceSubscriptions: ["test://watched-resource"] } });
    // The subscription reaches the backend asynchronously: publish until an update arrives (bounded).
    const deadline = Date.now() + 8000;
    while (!frames.some((f) => f.method === "notifications/resources/updated") && Date.now() < deadline) {
      await post2026(url, "tools/call", { name: "test_update_watched_resource", arguments: {} });
      await new Promise((r) => setTimeout(r, 200));
    }
    await close();
    const updated = frames.find((f) => f.method === "notifications/resources/updated");
    expect(updated?.params?.uri).toBe("test://watched-resource");
    expect(updated?.params?._meta?.["io.modelcontextprotocol/subscriptionId"]).toBe("listen-2");
  }, 30_000);
});

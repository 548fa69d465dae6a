// Invalidation by the backend's own notifications and restarts, through a real proxy.
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { client, countingBackend, text } from "../../../test/caching/fixtures.js";
import { FIXTURE, until } from "../../../test/helpers.js";
import { caching } from "./caching.js";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function setup() {
  const backend = countingBackend();
  const proxy = FastMCPProxy.asProxy(backend.server);
  const cache = caching({ tools: { lookup: true } });
  await cache.install(proxy);
  cleanup.push(() => proxy.close(), () => cache.close());
  return { backend, proxy, cache, c: await client(proxy) };
}

/** Polls `read` until its text contains `fresh`; resolves with how long after `since` that read started. */
async function freshWithin(read: () => Promise<unknown>, fresh: string, since = performance.now()): Promise<number> {
  let started = since;
  await until(async () => {
    started = performance.now();
    return text(await read()).includes(fresh);
  }, `a read showing "${fresh}"`, 2000);
  return started - since;
}

describe("invalidation", () => {
  it("resources/updated drops that URI's entries within 100 ms", async () => {
    const { backend, c } = await setup();
    await c.subscribeResource({ uri: "data://doc" });
    const read = () => c.readResource({ uri: "data://doc" });
    await read();
    await read();
    await c.readResource({ uri: "data://items/1" });
    expect(backend.runs.doc).toBe(1);
    backend.setContent("v2");
    expect(text(await read())).toContain("v1"); // still cached: nothing said it changed
    const sent = performance.now();
    expect(await backend.update("data://doc")).toBe(1);
    expect(await freshWithin(read, "v2", sent)).toBeLessThan(100);
    // Other entries are untouched.
    await c.readResource({ uri: "data://items/1" });
    expect(backend.runs["item 1"]).toBe(1);
  });

  it("list_changed drops entries on the notification itself, before the proxy has re-listed", async () => {
    const { backend, proxy, c } = await setup();
    const call = () => c.callTool({ name: "lookup", arguments: { q: "x" } });
    await call();
    await call();
    expect(backend.runs.lookup).toBe(1);
    // The backend answers its re-list only when let go: until then the proxy's mirror is the old one.
    const handlers = (backend.server.server as unknown as { _requestHandlers: Map<string, (...args: unknown[]) => Promise<unknown>> })._requestHandlers;
    const list = handlers.get("tools/list")!;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    handlers.set("tools/list", async (...args) => {
      await gate;
      return list(...args);
    });
    let refreshed = false;
    proxy.on("listChanged", () => void (refreshed = true));
    const stale = new Promise<void>((resolve) => proxy.on("listStale", () => resolve()));
    await backend.changed("tools");
    await stale;
    await call();
    expect(refreshed).toBe(false);
    expect(backend.runs.lookup).toBe(2);
    release();
  });

  it("list_changed drops that backend's entries of that kind, and only that kind, within 100 ms", async () => {
    const { backend, c } = await setup();
    const read = () => c.readResource({ uri: "data://doc" });
    const call = () => c.callTool({ name: "lookup", arguments: { q: "x" } });
    await read();
    await call();
    backend.setContent("v2");
    const sent = performance.now();
    await backend.changed("resources");
    expect(await freshWithin(read, "v2", sent)).toBeLessThan(100);
    await call();
    expect(backend.runs.lookup).toBe(1);
    await backend.changed("tools");
    await until(async () => (await call(), backend.runs.lookup === 2), "the tool entry to be dropped", 2000);
  });

  it("a named tool that stops being read-only after list_changed is no longer cached", async () => {
    const server = new McpServer({ name: "changing", version: "1.0.0" });
    let runs = 0;
    const tool = server.registerTool("lookup", { annotations: { readOnlyHint: true } }, async () => ({ content: [{ type: "text", text: `run ${++runs}` }] }));
    const proxy = FastMCPProxy.asProxy(server);
    const cache = caching({ tools: { lookup: true } });
    await cache.install(proxy);
    cleanup.push(() => proxy.close(), () => cache.close());
    const c = await client(proxy);
    await c.callTool({ name: "lookup" });
    await c.callTool({ name: "lookup" });
    expect(runs).toBe(1);
    tool.update({ annotations: { readOnlyHint: false } }); // the SDK sends tools/list_changed
    await until(async () => (await c.callTool({ name: "lookup" }), cache.stats().outcomes["bypass:not-read-only"]), "the refreshed definition", 2000);
    const before = runs;
    await c.callTool({ name: "lookup" });
    expect(runs).toBe(before + 1);
  });

  it("a backend restart drops that backend's entries", async () => {
    const proxy = FastMCPProxy.asProxy({ command: process.execPath, args: [FIXTURE, "stdio"] }, { sessions: "shared" });
    // whoami is not read-only: caching it needs force (its pid tells the restarted backend apart).
    const cache = caching({ tools: { whoami: { force: true } } });
    await cache.install(proxy);
    cleanup.push(() => proxy.close(), () => cache.close());
    const c = await client(proxy);
    const pid = async () => JSON.parse(((await c.callTool({ name: "whoami" })).content as { text: string }[])[0]!.text).pid as number;
    const before = await pid();
    expect(await pid()).toBe(before);
    expect(cache.stats().outcomes.hit).toBe(1);
    await c.callTool({ name: "crash" }).catch(() => {});
    const after = await until(async () => {
      const now = await pid();
      return now !== before ? now : undefined;
    }, "the restarted backend to answer", 15_000);
    expect(after).not.toBe(before);
  });
});

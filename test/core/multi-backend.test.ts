import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { Tokens, prefixName, prefixUri, resolveBackends, silentLogger, unprefixUri } from "@fastmcp-proxy/core/advanced";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { serveHttp } from "../fixtures/serve.mjs";
import { FIXTURE, connectClient, raw, rejection } from "../helpers.js";

describe("several backends under prefixes, over three transports at once", () => {
  let http: { url: string; close(): Promise<void> };
  let sse: { url: string; close(): Promise<void> };
  let proxy: FastMCPProxy;
  let client: Client;
  beforeAll(async () => {
    http = await serveHttp(createFixtureServer, { mode: "http" });
    sse = await serveHttp(createFixtureServer, { mode: "sse" });
    proxy = FastMCPProxy.asProxy({
      mcpServers: {
        local: { command: process.execPath, args: [FIXTURE, "stdio"] },
        remote: { url: http.url },
        legacy: { url: sse.url },
      },
    });
    client = await connectClient(proxy);
  });
  afterAll(async () => {
    await client.close();
    await proxy.close();
    await http.close();
    await sse.close();
  });

  it("lists every component under its server's prefix", async () => {
    const tools = (await raw(client, "tools/list")).tools.map((t: { name: string }) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["local_echo", "remote_echo", "legacy_echo", "local_whoami", "remote_fail"]));
    expect((await raw(client, "resources/list")).resources.map((r: { uri: string }) => r.uri).sort()).toEqual([
      "fixture://legacy/static/hello",
      "fixture://local/static/hello",
      "fixture://remote/static/hello",
    ]);
    expect((await raw(client, "resources/templates/list")).resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate).sort()).toEqual([
      "fixture://legacy/items/{id}",
      "fixture://local/items/{id}",
      "fixture://remote/items/{id}",
    ]);
    expect((await raw(client, "prompts/list")).prompts.map((p: { name: string }) => p.name).sort()).toEqual(["legacy_greet", "local_greet", "remote_greet"]);
  });

  it("routes each kind back to its backend under the backend's own names", async () => {
    expect((await raw(client, "tools/call", { name: "remote_echo", arguments: { text: "r" } })).content[0].text).toBe("r");
    expect((await raw(client, "tools/call", { name: "legacy_echo", arguments: { text: "s" } })).content[0].text).toBe("s");
    expect((await raw(client, "prompts/get", { name: "legacy_greet", arguments: { who: "Sam" } })).messages[0].content.text).toBe("Hello, Sam!");
    const local = JSON.parse((await raw(client, "tools/call", { name: "local_whoami", arguments: {} })).content[0].text);
    expect(local.pid).not.toBe(process.pid);
    const read = await raw(client, "resources/read", { uri: "fixture://remote/items/7" });
    expect(read.contents[0]).toMatchObject({ uri: "fixture://remote/items/7", text: '{"id":"7"}' });
    expect((await raw(client, "resources/read", { uri: "fixture://local/static/hello" })).contents[0].uri).toBe("fixture://local/static/hello");
    expect((await raw(client, "prompts/get", { name: "local_greet", arguments: { who: "Bo" } })).messages[0].content.text).toBe("Hello, Bo!");
    const completion = await raw(client, "completion/complete", { ref: { type: "ref/prompt", name: "remote_greet" }, argument: { name: "who", value: "al" } });
    expect(completion.completion.values).toEqual(["alice", "albert"]);
    expect((await rejection(raw(client, "tools/call", { name: "echo", arguments: {} }))).code).toBe(-32602);
  });

  it("refuses to start when two backends claim the same name, naming both", async () => {
    // Two backends mounted without prefixes (through the container) both offer "echo".
    const clash = FastMCPProxy.asProxy(createFixtureServer(), {
      configure: (container) =>
        container.register(Tokens.Backends, {
          useValue: resolveBackends(createFixtureServer(), silentLogger).concat(
            resolveBackends(createFixtureServer(), silentLogger).map((b) => ({ ...b, name: "second" })),
          ),
        }),
    });
    const error = await rejection(clash.start());
    expect(error.code).toBe(ProxyErrorCode.InvalidConfig);
    expect(error.message).toContain('tool "echo" from backends "backend" and "second"');
  });

  it("starts with the backends that work, leaving out one that fails (fail-open)", async () => {
    const partial = FastMCPProxy.asProxy(
      { mcpServers: { good: { command: process.execPath, args: [FIXTURE, "stdio"] }, bad: { url: "http://127.0.0.1:1/mcp" } } },
      { logLevel: "silent" },
    );
    const c = await connectClient(partial);
    const tools = (await raw(c, "tools/list")).tools.map((t: { name: string }) => t.name);
    expect(tools).toContain("good_echo");
    expect(tools.some((n: string) => n.startsWith("bad_"))).toBe(false);
    await partial.close();
  });

  it("fails start with every reason when no backend can be reached", async () => {
    const none = FastMCPProxy.asProxy({ mcpServers: { x: { url: "http://127.0.0.1:1/mcp" }, y: { command: "/nonexistent/binary" } } });
    const error = await rejection(none.start());
    expect(error.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(error.message).toContain('"x"');
    expect(error.message).toContain('"y"');
  });
});

describe("name prefixing", () => {
  it("keeps prefixed names within the spec's 128 characters, deterministically", () => {
    expect(prefixName("weather", "get_forecast")).toBe("weather_get_forecast");
    const long = "t".repeat(125);
    const shortened = prefixName("weather", long);
    expect(shortened).toHaveLength(128);
    expect(shortened).toMatch(/^weather_t+_[0-9a-f]{8}$/);
    expect(prefixName("weather", long)).toBe(shortened);
    expect(prefixName("weather", `${long}x`)).not.toBe(shortened);
  });
});

describe("URI prefixing", () => {
  it("is reversible, and a prefix never matches a longer one", () => {
    expect(prefixUri("w", "file:///etc/x")).toBe("file://w//etc/x");
    expect(unprefixUri("w", "file://w//etc/x")).toBe("file:///etc/x");
    expect(prefixUri("w", "urn:isbn:1")).toBe("w:urn:isbn:1");
    expect(unprefixUri("w", "w:urn:isbn:1")).toBe("urn:isbn:1");
    expect(unprefixUri("a", "fixture://ab/items/1")).toBeUndefined();
    expect(unprefixUri("ab", "fixture://ab/items/1")).toBe("fixture://items/1");
  });
});

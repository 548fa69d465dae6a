// The per-backend cap on requests in flight (issue 12), set with run({ limits: { maxInFlightPerBackend } }):
// two fixture servers over real streamable HTTP on 127.0.0.1, the proxy on HTTP, an SDK client.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../fixtures/fixture-server.mjs";
import { serveHttp } from "../fixtures/serve.mjs";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { raw, rejection, until } from "../helpers.js";

const closing: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

async function gateway(limits: { maxInFlightPerBackend?: number; maxInFlightPerCaller?: number }) {
  const [a, b] = await Promise.all([serveHttp(createFixtureServer), serveHttp(createFixtureServer)]);
  closing.push(a.close, b.close);
  const proxy = FastMCPProxy.asProxy({ mcpServers: { a: { url: a.url }, b: { url: b.url } } }, { logLevel: "silent" });
  closing.push(() => proxy.close());
  // A stand-in for the front's authenticate hook: the bearer token names the caller; none is anonymous.
  const authenticate = (req: { headers: { authorization?: string } }) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
  };
  const { url } = await proxy.run({ transport: "http", port: 0, limits, authenticate });
  const connect = async (token?: string) => {
    const client = new Client({ name: "cap-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}));
    closing.push(() => client.close());
    return client;
  };
  return Object.assign(await connect(), { as: connect });
}

/** `n` slow calls of `client` to backend a, resolved once all of them run at the backend (each reports progress then). */
async function slowCalls(client: Client, n: number, ms: number) {
  let running = 0;
  const calls = Array.from({ length: n }, () => {
    let seen = false;
    const onprogress = () => void (seen || ((seen = true), running++));
    return client.request({ method: "tools/call", params: { name: "a_slow", arguments: { ms } } }, ResultSchema.passthrough(), { onprogress });
  });
  await until(() => running === n, `the ${n} slow calls to run`, 5000);
  return calls;
}

describe("requests in flight to one backend: limits.maxInFlightPerBackend", () => {
  it("the N+1th concurrent call to one backend fails at once with the documented error; another backend is unaffected", async () => {
    const client = await gateway({ maxInFlightPerBackend: 3, maxInFlightPerCaller: 3 });
    const slow = await slowCalls(client, 3, 1600);
    const started = performance.now();
    const refused = await rejection(raw(client, "tools/call", { name: "a_echo", arguments: { text: "fourth" } }));
    expect(performance.now() - started).toBeLessThan(400); // at once, not queued behind the slow ones
    expect(refused.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(refused.message).toMatch(/Too many requests in flight to backend "a" \(3, at most 3\): retry later/);
    // b has a budget of its own, and is served while a is full.
    expect((await raw(client, "tools/call", { name: "b_echo", arguments: { text: "b is fine" } })).content[0].text).toBe("b is fine");
    for (const result of await Promise.all(slow)) expect(result.content).toEqual([{ type: "text", text: "slept 1600" }]);
    // Once they are answered, a takes calls again.
    expect((await raw(client, "tools/call", { name: "a_echo", arguments: { text: "again" } })).content[0].text).toBe("again");
  });

  it("one caller's slow calls take at most its share: past it that caller is refused at once, and another caller is still served", async () => {
    const anonymous = await gateway({ maxInFlightPerBackend: 4, maxInFlightPerCaller: 2 });
    const [alice, bob] = [await anonymous.as("alice"), await anonymous.as("bob")];
    const slow = await slowCalls(alice, 2, 1600);
    const refused = await rejection(raw(alice, "tools/call", { name: "a_echo", arguments: { text: "third" } }));
    expect(refused.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(refused.message).toMatch(/Too many of your requests in flight to backend "a" \(2, at most 2 of one caller's\): retry later/);
    // Bob, and an anonymous client (its session is its own caller), have room of their own on the same backend.
    expect((await raw(bob, "tools/call", { name: "a_echo", arguments: { text: "bob" } })).content[0].text).toBe("bob");
    expect((await raw(anonymous, "tools/call", { name: "a_echo", arguments: { text: "anyone" } })).content[0].text).toBe("anyone");
    await Promise.all(slow);
    expect((await raw(alice, "tools/call", { name: "a_echo", arguments: { text: "again" } })).content[0].text).toBe("again");
  });

  it("the default share is a quarter of the backend's cap", async () => {
    const client = await gateway({ maxInFlightPerBackend: 4 });
    const slow = await slowCalls(client, 1, 1200);
    const refused = await rejection(raw(client, "tools/call", { name: "a_echo", arguments: { text: "second" } }));
    expect(refused.message).toMatch(/at most 1 of one caller's/);
    await Promise.all(slow);
  });

  it("a cap that is not a whole number from 1 is refused before anything is served", async () => {
    const proxy = FastMCPProxy.asProxy({ mcpServers: { a: { url: "http://127.0.0.1:9/mcp" } } }, { logLevel: "silent" });
    closing.push(() => proxy.close());
    const error = await rejection(proxy.run({ transport: "http", port: 0, limits: { maxInFlightPerBackend: 0 } }));
    expect(error.code).toBe(ProxyErrorCode.InvalidConfig);
    expect(error.message).toMatch(/limits.maxInFlightPerBackend must be a whole number ≥ 1, not 0/);
  });
});

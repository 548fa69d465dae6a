// Identity through the real HTTP front: the front's authenticate names the caller, and the cache
// partitions by it (requireIdentity, as the CLI sets when auth is on).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { caching } from "@fastmcp-proxy/caching";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { countingBackend, text } from "./fixtures.js";

const backend = countingBackend();
const proxy = FastMCPProxy.asProxy(backend.server);
const cache = caching({ tools: { lookup: true }, requireIdentity: true });
let url = "";
const clients: Client[] = [];

beforeAll(async () => {
  await cache.install(proxy);
  const running = await proxy.run({
    transport: "http",
    port: 0,
    // Bearer tokens "alice-1", "alice-2" (one user, two tokens), "bob"; no header: anonymous.
    authenticate: (req) => {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
      return token ? { token, clientId: "test", scopes: [], extra: { identity: `https://idp.test ${token.split("-")[0]}` } } : undefined;
    },
  });
  url = running.url!;
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await proxy.close();
  await cache.close();
});

async function connect(token?: string): Promise<Client> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const c = new Client({ name: "identity-test", version: "1.0.0" });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  clients.push(c);
  return c;
}

describe("cache identity over the HTTP front", () => {
  it("one principal's entry is never served to another; one principal's tokens share; anonymous is never cached", async () => {
    const [alice1, alice2, bob, anonymous] = [await connect("alice-1"), await connect("alice-2"), await connect("bob"), await connect()];
    const ask = (c: Client) => c.callTool({ name: "lookup", arguments: { q: "private" } });
    const a = await ask(alice1);
    const b = await ask(bob);
    expect(text(b)).not.toBe(text(a));
    expect(backend.runs.lookup).toBe(2);
    expect(text(await ask(alice2))).toBe(text(a));
    expect(text(await ask(bob))).toBe(text(b));
    expect(backend.runs.lookup).toBe(2);
    await ask(anonymous);
    await ask(anonymous);
    expect(backend.runs.lookup).toBe(4);
    expect(cache.stats().outcomes).toMatchObject({ miss: 2, hit: 2, "bypass:no-identity": 2 });
  });
});

// With `sessions: "tenant"`, the clients of one tenant share its backend session: a stdio backend
// starts one child for a hundred clients of one principal, not one each.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { FIXTURE } from "../helpers.js";

const CLIENTS = 100;

describe("a backend session per tenant", () => {
  const clients: Client[] = [];
  let proxy: FastMCPProxy | undefined;
  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await proxy?.close();
  });

  it(`serves ${CLIENTS} clients of one tenant from at most 2 stdio children`, { timeout: 60_000 }, async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "tenant", logLevel: "error" });
    const { url } = await proxy.run({
      transport: "http",
      host: "127.0.0.1",
      port: 0,
      authenticate: () => ({ token: "alice-token", clientId: "alice", scopes: [], extra: { identity: "alice" } }),
    });
    const pids = new Set<number>();
    for (let i = 0; i < CLIENTS; i++) {
      const client = new Client({ name: `client-${i}`, version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
      clients.push(client);
    }
    const answers = await Promise.all(clients.map((client) => client.callTool({ name: "whoami", arguments: {} })));
    for (const answer of answers) pids.add(JSON.parse((answer.content as { text: string }[])[0]!.text).pid);
    expect(pids.size).toBeGreaterThanOrEqual(1);
    expect(pids.size).toBeLessThanOrEqual(2);
  });
});

// Several clients of one principal wait on its session: an ask no stdio message ties to one of them
// goes to the one whose call is oldest (they are the same caller), not refused as ambiguous; another
// principal's clients, on a session of their own, never get it.
describe("asks on a tenant's session shared by its clients", () => {
  const clients: Client[] = [];
  let proxy: FastMCPProxy | undefined;
  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await proxy?.close();
  });

  it("reach one of that principal's clients, and never another principal's", { timeout: 30_000 }, async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "tenant", logLevel: "error" });
    const { url } = await proxy.run({
      transport: "http",
      host: "127.0.0.1",
      port: 0,
      authenticate: (req) => {
        const who = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
        return { token: who, clientId: who, scopes: [], extra: { identity: who } };
      },
    });
    const connect = async (who: string, root: string) => {
      const client = new Client({ name: root, version: "1" }, { capabilities: { roots: {} } });
      client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: `file:///${root}` }] }));
      await client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { authorization: `Bearer ${who}` } } }));
      clients.push(client);
      return client;
    };
    const [first, second, bob] = [await connect("alice", "alice-1"), await connect("alice", "alice-2"), await connect("bob", "bob")];
    const waiting = first.callTool({ name: "slow", arguments: { ms: 400 } });
    const bobWaiting = bob.callTool({ name: "slow", arguments: { ms: 400 } });
    await new Promise((resolve) => setTimeout(resolve, 100)); // both calls are waiting on their sessions
    const asked = await second.callTool({ name: "ask", arguments: { what: "roots" } });
    const text = (asked.content as { text: string }[])[0]!.text;
    expect(asked.isError, text).toBeFalsy();
    expect(text).toMatch(/file:\/\/\/alice-[12]/);
    expect(text).not.toContain("bob");
    await Promise.all([waiting, bobWaiting]);
  });
});

// With `sessions: "tenant"`, the clients of one tenant share its backend session: a stdio backend
// starts one child for a hundred clients of one principal, not one each.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
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

// Clients that leave without a DELETE (the SDK client's close() sends none): their sessions expire
// once idle, freeing their place among the open sessions and their backend children. A client still
// calling, or listening on its stream, is never expired.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { alive } from "../cli/process.js";
import { FIXTURE, raw, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  await proxy?.close();
  proxy = undefined;
});

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "leaver", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return client;
}

const pidOf = async (client: Client) => JSON.parse((await raw(client, "tools/call", { name: "whoami", arguments: {} })).content[0].text).pid as number;

describe("sessions of departed clients", () => {
  it("expire once idle: their place is free again and their backend child is ended", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0 });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, limits: { maxSessions: 2, sessionIdleMs: 400 } });
    const departed: number[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await connect(url!);
      departed.push(await pidOf(client));
      await client.close(); // no DELETE: the proxy is not told
    }
    // Both places are taken until the sessions expire; then a new client gets one.
    await until(() => proxy!.sessions === 0, "the departed sessions to expire", 5_000);
    await until(() => departed.every((pid) => !alive(pid)), "their backend children to end", 5_000);
    const next = await connect(url!);
    expect(typeof (await pidOf(next))).toBe("number");
  });

  it("never expire a client that keeps calling", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", spareSessions: 0 });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0, limits: { sessionIdleMs: 400 } });
    const client = await connect(url!);
    const pid = await pidOf(client);
    // The SDK client keeps a GET stream open; calling every 100 ms for 1.2 s, three idle times.
    for (let i = 0; i < 12; i++) {
      expect(await pidOf(client)).toBe(pid);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(proxy.sessions).toBe(1);
  });
});

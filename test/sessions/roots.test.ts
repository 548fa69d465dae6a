// notifications/roots/list_changed on a shared backend session (in-process backend): passed on
// when the client is the session's only client, so the backend's roots/list reaches the client
// whose roots changed; not passed on when several clients share it (whose roots would it mean?).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ListRootsRequestSchema, RootsListChangedNotificationSchema, type Root } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { connectClient } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

/** A backend that lists the client's roots whenever it is told they changed. */
function rootsWatcher() {
  const seen: Root[][] = [];
  const server = new Server({ name: "roots-watcher", version: "1" }, { capabilities: { tools: {} } });
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    seen.push((await server.listRoots()).roots);
  });
  return { server, seen };
}

async function clientWithRoots(p: FastMCPProxy, name: string): Promise<Client> {
  const client = await connectClient(p, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: `file:///${name}`, name }] }));
  clients.push(client);
  return client;
}

describe("roots/list_changed on a shared backend session", () => {
  it("reaches the backend when the client is the only one, and the backend's roots/list reaches that client", async () => {
    const backend = rootsWatcher();
    proxy = FastMCPProxy.asProxy(backend.server, { logLevel: "error" });
    const client = await clientWithRoots(proxy, "only");
    await client.sendRootsListChanged();
    const deadline = Date.now() + 5000;
    while (backend.seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(backend.seen).toEqual([[{ uri: "file:///only", name: "only" }]]);
  });

  it("is not passed on while several clients share the backend session", async () => {
    const backend = rootsWatcher();
    proxy = FastMCPProxy.asProxy(backend.server, { logLevel: "error" });
    const a = await clientWithRoots(proxy, "a");
    await clientWithRoots(proxy, "b");
    await a.sendRootsListChanged();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(backend.seen).toEqual([]);
  });
});

// What one client does on a backend session several clients share (an in-process backend, or
// `sessions: "shared"`) does not reach another: a backend's resources/updated reaches the clients
// that subscribed to that resource and no one else; one client's unsubscribe (or its going away)
// does not end another's subscription; one client's log level neither silences nor floods another.
// Real HTTP on 127.0.0.1, real SDK clients.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer, observed } from "../fixtures/fixture-server.mjs";
import { FIXTURE, raw, until } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

const HELLO = "fixture://static/hello";
const ITEM = "fixture://items/7"; // served by a template

/** A client over streamable HTTP; `updated`: the URIs of the resources/updated it was sent. */
async function clientAt(url: string): Promise<{ client: Client; updated: string[]; logged: string[]; leave: () => Promise<void> }> {
  const updated: string[] = [];
  const logged: string[] = [];
  const client = new Client({ name: "subscriber", version: "1" });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(`${n.params.level}:${String(n.params.data)}`));
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  clients.push(client);
  // Ends its session (DELETE), as a client that is done does.
  const leave = async () => {
    await transport.terminateSession();
    await client.close();
  };
  return { client, updated, logged, leave };
}

/** The proxy on HTTP over an in-process fixture server: one backend session, every client's. */
async function sharedBackend() {
  const backend = createFixtureServer();
  proxy = FastMCPProxy.asProxy(backend, { logLevel: "error" });
  const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
  return { backend, client: () => clientAt(url!) };
}

/** Room for a notification sent to the wrong client to arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe("a backend session several clients share: resources/updated goes to its subscribers alone", () => {
  it("an update of A's subscription never reaches B, even while B's call is the only one waiting", async () => {
    const { backend, client } = await sharedBackend();
    const [a, b] = [await client(), await client()];

    // B waits on the shared session while A subscribes (the fixture tells of a change 20 ms after).
    const calls = observed.calls;
    const busy = raw(b.client, "tools/call", { name: "slow", arguments: { ms: 600 } });
    await until(() => observed.calls === calls + 1, "B's call to reach the backend");
    await raw(a.client, "resources/subscribe", { uri: HELLO });
    await until(() => a.updated.length === 1, "A's resources/updated");
    await busy;

    // And with nobody waiting: A, who subscribed, is told; B is not.
    await backend.notification({ method: "notifications/resources/updated", params: { uri: HELLO } });
    await until(() => a.updated.length === 2, "A's second resources/updated");
    // A resource nobody subscribed to: nobody is told.
    await backend.notification({ method: "notifications/resources/updated", params: { uri: ITEM } });
    await settle();
    expect(a.updated).toEqual([HELLO, HELLO]);
    expect(b.updated).toEqual([]);
  });

  it("B's unsubscribe, or B going away, does not end A's subscription; the last one out ends it at the backend", async () => {
    const { backend, client } = await sharedBackend();
    const [a, b, c] = [await client(), await client(), await client()];
    observed.subscribed = [];

    for (const { client } of [a, b, c]) await raw(client, "resources/subscribe", { uri: ITEM });
    await settle(); // the fixture tells of a change after each subscribe
    const told = () => [a, b, c].map((x) => x.updated.length);
    const before = told();
    // B unsubscribes, and C unsubscribes from what it never subscribed to: the backend keeps A's subscription.
    await raw(b.client, "resources/unsubscribe", { uri: ITEM });
    await raw(c.client, "resources/unsubscribe", { uri: HELLO });
    await raw(c.client, "resources/unsubscribe", { uri: ITEM });
    expect(observed.subscribed).toEqual([ITEM, ITEM, ITEM]);
    await backend.notification({ method: "notifications/resources/updated", params: { uri: ITEM } });
    await until(() => a.updated.length === before[0]! + 1, "A's update after B and C let go");
    await settle();
    expect(told()).toEqual([before[0]! + 1, before[1], before[2]]);

    // A subscribes to HELLO beside B; B's session ends: A is still subscribed.
    await raw(a.client, "resources/subscribe", { uri: HELLO });
    await raw(b.client, "resources/subscribe", { uri: HELLO });
    await b.leave();
    await settle();
    expect(observed.subscribed.filter((u: string) => u === HELLO)).toHaveLength(2);
    // A's session ends: nobody wants either resource, and the backend is told so.
    await a.leave();
    await until(() => observed.subscribed.length === 0, "the backend's subscriptions ended");
  });

  it("one client's subscriptions are bounded, and spending its own leaves another's room", async () => {
    const { client } = await sharedBackend();
    const [a, b] = [await client(), await client()];
    observed.subscribed = [];
    for (let i = 0; i < 1000; i++) await raw(a.client, "resources/subscribe", { uri: `fixture://items/${i}` });
    await expect(raw(a.client, "resources/subscribe", { uri: "fixture://items/1000" })).rejects.toMatchObject({ code: -32600, message: expect.stringMatching(/Too many subscriptions/) });
    await raw(b.client, "resources/subscribe", { uri: "fixture://items/1000" });
    expect(observed.subscribed).toHaveLength(1001); // A's 1,000 and B's one; A's refused one never reached the backend
    // A makes room by letting one go.
    await raw(a.client, "resources/unsubscribe", { uri: "fixture://items/0" });
    await raw(a.client, "resources/subscribe", { uri: "fixture://items/1000" });
    expect(observed.subscribed).toHaveLength(1001); // A has room again
  });

  it("with sessions: \"shared\" over a stdio backend, the same", async () => {
    proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { sessions: "shared", logLevel: "error" });
    const { url } = await proxy.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const [a, b] = [await clientAt(url!), await clientAt(url!)];
    const busy = raw(b.client, "tools/call", { name: "slow", arguments: { ms: 600 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await raw(a.client, "resources/subscribe", { uri: HELLO });
    await until(() => a.updated.length === 1, "A's resources/updated");
    await busy;
    await settle();
    expect(b.updated).toEqual([]);
  });
});

describe("a backend session several clients share: each client's log level is its own", () => {
  it("B's logging/setLevel neither silences A nor sends A what A did not ask for", async () => {
    const { backend, client } = await sharedBackend();
    const [a, b] = [await client(), await client()];
    observed.levels = [];

    // The backend is set to the most verbose level asked for: B's "emergency" does not silence A.
    await raw(a.client, "logging/setLevel", { level: "info" });
    await raw(b.client, "logging/setLevel", { level: "emergency" });
    expect(observed.levels).toEqual(["info"]);
    await raw(b.client, "logging/setLevel", { level: "debug" });
    expect(observed.levels).toEqual(["info", "debug"]);

    // A log message goes to the one client waiting (the session's routing), at or above its own level.
    const tell = async (who: typeof a, level: "debug" | "warning") => {
      const calls = observed.calls;
      const busy = raw(who.client, "tools/call", { name: "slow", arguments: { ms: 200 } });
      await until(() => observed.calls === calls + 1, "the call to reach the backend");
      await backend.notification({ method: "notifications/message", params: { level, data: "tick" } });
      await busy;
    };
    await tell(a, "debug"); // below A's "info": B asked for debug, A did not
    await tell(a, "warning");
    await tell(b, "debug");
    await settle();
    const ticks = (who: typeof a) => who.logged.filter((line) => line.endsWith(":tick"));
    expect(ticks(a)).toEqual(["warning:tick"]);
    expect(ticks(b)).toEqual(["debug:tick"]);

    // B goes away: the backend goes back to the level A asked for.
    await b.leave();
    await until(() => observed.levels.at(-1) === "info", "the backend set back to A's level");
  });
});

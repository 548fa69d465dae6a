// Per-backend limits on isolated sessions, with a stdio backend (a child process per front
// session): maxSessions caps the children, idleTimeoutMs ends unused ones, and a front session
// that closes (client close, HTTP DELETE) ends its child. Children are observed through the pid the
// fixture reports and through this process's own children in /proc; only the proxy starts them.
import { readFileSync, readdirSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCPProxy, ProxyErrorCode, type ProxyOptions } from "@fastmcp-proxy/core";
import type { FrontSession } from "@fastmcp-proxy/core/advanced";
import { FIXTURE, connectSession, raw, rejection, until, alive } from "../helpers.js";

let proxy: FastMCPProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

/** The pids of this process's live child processes. */
function children(): number[] {
  const dir = `/proc/${process.pid}/task`;
  return readdirSync(dir).flatMap((tid) => {
    try {
      return readFileSync(`${dir}/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

async function start(options: ProxyOptions): Promise<FastMCPProxy> {
  proxy = FastMCPProxy.asProxy([process.execPath, FIXTURE, "stdio"], { logLevel: "error", ...options });
  await proxy.start();
  return proxy;
}

/** An in-memory client of the proxy, and the front session serving it. */
async function connect(p: FastMCPProxy): Promise<{ client: Client; session: FrontSession }> {
  const connected = await connectSession(p);
  clients.push(connected.client);
  return connected;
}

const whoami = async (client: Client): Promise<number> => JSON.parse((await raw(client, "tools/call", { name: "whoami" })).content[0].text).pid;

describe("maxSessions", () => {
  it("refuses one session too many with a clear BackendUnavailable error, and starts no child for it", async () => {
    const p = await start({ maxSessions: 2, maxSessionsPerCaller: 2 });
    const baseline = children(); // the shared session's child
    const [a, b, c] = [await connect(p), await connect(p), await connect(p)];
    const [pidA, pidB] = [await whoami(a.client), await whoami(b.client)];
    expect(pidA).not.toBe(pidB);
    // Their view of the lists (they declare no capabilities) was listed through their own sessions: no other child.
    expect(children().sort()).toEqual([...baseline, pidA, pidB].sort());
    expect(a.session.isolatedSessions + b.session.isolatedSessions).toBe(2);

    const refused = await rejection(whoami(c.client));
    expect(refused.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(refused.message).toMatch(/too many sessions \(2 open, maxSessions is 2\)/);
    expect(refused.message).toContain("stdio");
    expect(children().sort()).toEqual([...baseline, pidA, pidB].sort());

    // A client leaves: its child ends, and the waiting client gets a session.
    await a.client.close();
    await until(() => !alive(pidA), "A's child to exit");
    const pidC = await whoami(c.client);
    expect([pidA, pidB]).not.toContain(pidC);
    expect(children().sort()).toEqual([...baseline, pidB, pidC].sort());
  });
});

describe("maxSessionsPerCaller", () => {
  it("one caller opening sessions takes at most its share of a backend's; another caller still gets one", async () => {
    const p = await start({ maxSessions: 4, maxSessionsPerCaller: 2 });
    // A stand-in for the front's authenticate hook: the bearer token names the caller; none is anonymous.
    const authenticate = (req: { headers: { authorization?: string } }) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      return token ? { token, clientId: token, scopes: [], extra: { identity: `user:${token}` } } : undefined;
    };
    const { url } = await p.run({ transport: "http", host: "127.0.0.1", port: 0, authenticate });
    const as = async (token?: string) => {
      const client = new Client({ name: "share-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url!), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}));
      clients.push(client);
      return client;
    };
    const [a1, a2, a3] = [await as("alice"), await as("alice"), await as("alice")];
    await whoami(a1);
    await whoami(a2);
    const refused = await rejection(whoami(a3));
    expect(refused.code).toBe(ProxyErrorCode.BackendUnavailable);
    expect(refused.message).toMatch(/too many sessions of yours \(2 open, at most 2 of one caller's\)/);
    // Bob, and an anonymous client (its session is its own caller), still get sessions of their own.
    const bob = await whoami(await as("bob"));
    const anonymous = await whoami(await as());
    expect(bob).not.toBe(anonymous);
    // Alice closes one: her third is served.
    await a1.close();
    await until(async () => (await whoami(a3).then(() => true, () => false)), "alice's third session to be served", 5000);
  });
});

describe("idleTimeoutMs", () => {
  it("ends an unused session's child after the timeout, and opens a new one on next use (log level set again)", async () => {
    const p = await start({ idleTimeoutMs: 300 });
    const { client, session } = await connect(p);
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
    await raw(client, "logging/setLevel", { level: "debug" });
    const first = await whoami(client);
    const idleSince = Date.now();
    await until(() => !alive(first), "the idle child to exit");
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(250);
    expect(session.isolatedSessions).toBe(0);

    const second = await whoami(client);
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    await until(() => logs.length === 2, "the log level message of the reopened session");
    expect(logs).toEqual(["level set to debug", "level set to debug"]);
  });

  it("keeps a session with a subscription open however long it is quiet", async () => {
    const p = await start({ idleTimeoutMs: 200 });
    const { client } = await connect(p);
    await raw(client, "resources/subscribe", { uri: "fixture://static/hello" });
    const pid = await whoami(client);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(alive(pid)).toBe(true);
    await raw(client, "resources/unsubscribe", { uri: "fixture://static/hello" });
    await until(() => !alive(pid), "the child to exit once unsubscribed and idle");
  });

  it("never closes a session while a request is running on it", async () => {
    const p = await start({ idleTimeoutMs: 100 });
    const { client } = await connect(p);
    const pid = await whoami(client);
    const slow = await raw(client, "tools/call", { name: "slow", arguments: { ms: 600 } });
    expect(slow.content[0].text).toBe("slept 600");
    expect(await whoami(client)).toBe(pid);
  });
});

describe("closing a front session ends its child", () => {
  it("a client that closes (in memory)", async () => {
    const p = await start({});
    const { client, session } = await connect(p);
    const pid = await whoami(client);
    await client.close();
    await until(() => !alive(pid), "the child to exit");
    expect(session.isolatedSessions).toBe(0);
  });

  it("an HTTP client that ends its session with DELETE", async () => {
    const p = await start({});
    const { url } = await p.run({ transport: "http", host: "127.0.0.1", port: 0 });
    const transport = new StreamableHTTPClientTransport(new URL(url!));
    const client = new Client({ name: "http-limits", version: "1" });
    await client.connect(transport);
    clients.push(client);
    const pid = await whoami(client);
    await transport.terminateSession();
    await until(() => !alive(pid), "the child to exit");
    expect(p.sessions).toBe(0);
  });
});

describe("spareSessions", () => {
  it("serves a new client's first call on a spare opened ahead, and keeps none with spareSessions: 0", async () => {
    const p = await start({});
    const first = await connect(p);
    await whoami(first.client);
    await until(() => children().length >= 3, "a spare to be opened"); // shared + first's own + the spare
    const ready = children();
    const second = await connect(p);
    const pid = await whoami(second.client);
    expect(ready).toContain(pid); // started before the client came
    await p.close();

    const none = await start({ spareSessions: 0 });
    await whoami((await connect(none)).client);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(children()).toHaveLength(2);
  });
});

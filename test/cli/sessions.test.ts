// --sessions and --spare-sessions on the built CLI: which backend session (stdio child) serves a client.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, SERVING_HTTP, startCli, stopAll, withTimeout } from "./process.js";
import { refused } from "./refused.js";

afterEach(stopAll);

const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
});

/** The CLI over HTTP, its front taking one API key; `n` clients of that one principal. */
async function principalClients(flags: string[], n: number): Promise<Client[]> {
  const key = `k-${Math.random().toString(36).slice(2)}`;
  const cli = startCli(["--transport", "http", "--port", "0", "--api-key-env", "SESSIONS_KEY", ...flags, "--", ...FIXTURE_STDIO], { env: { ...process.env, SESSIONS_KEY: key } });
  const [, url] = await cli.waitForStderr(SERVING_HTTP);
  const made: Client[] = [];
  for (let i = 0; i < n; i++) {
    const client = new Client({ name: `c${i}`, version: "1" });
    await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { authorization: `Bearer ${key}` } } })), 15_000, "initialize");
    made.push(client);
    clients.push(client);
  }
  return made;
}

const pidOf = async (client: Client) => {
  const result = await withTimeout(client.callTool({ name: "whoami", arguments: {} }), 10_000, "whoami");
  return (JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { pid: number }).pid;
};

describe("--sessions", () => {
  it("tenant: the clients of one principal share one backend child", async () => {
    const [a, b] = await principalClients(["--sessions", "tenant"], 2);
    expect(await pidOf(a!)).toBe(await pidOf(b!));
  }, 40_000);

  it("isolated (the default): each client its own child", async () => {
    const [a, b] = await principalClients([], 2);
    expect(await pidOf(a!)).not.toBe(await pidOf(b!));
  }, 40_000);

  it("refuses another mode, and a spare count that is not a whole number", () => {
    expect(refused("--sessions", "pooled", "--", "x")).toMatch(/--sessions must be isolated, tenant or shared, got "pooled"/);
    expect(refused("--spare-sessions", "some", "--", "x")).toMatch(/--spare-sessions must be a whole number, got "some"/);
  });
});

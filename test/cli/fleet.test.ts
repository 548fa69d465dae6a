// The CLI's fleet flags: --event-store (the Redis event store, shared by replicas) with
// --fleet-key-env, on the built command: a stream resumes on another replica process.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseCliArgs } from "../../packages/cli/src/args.js";
import { redisAvailable, testRedis, type RedisServer } from "../caching/redis-server.js";
import { FIXTURE_STDIO, runCli, startCli, stopAll, withTimeout } from "./process.js";

afterEach(stopAll);

let redis: RedisServer | undefined;
beforeAll(async () => {
  if (redisAvailable) redis = await testRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const refused = (...argv: string[]) => {
  try {
    parseCliArgs(argv);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

describe("--event-store", () => {
  it("takes a Redis URL and implies --resumable", () => {
    const command = parseCliArgs(["--transport", "http", "--event-store", "redis://127.0.0.1:6379/2", "--demo"]);
    expect(command).toMatchObject({ action: "run", options: { eventStore: "redis://127.0.0.1:6379/2", resumable: true } });
    expect(parseCliArgs(["--transport", "http", "--demo"])).toMatchObject({ options: { eventStore: undefined, resumable: false } });
  });

  it("refuses anything but a Redis URL, and a stdio front, naming the fix", async () => {
    for (const bad of ["localhost:6379", "http://127.0.0.1:6379", "redis://", "redis://host/db"]) {
      expect(refused("--transport", "http", "--event-store", bad, "--demo")).toBe(`--event-store takes a Redis URL, redis://host:port[/db], e.g. --event-store redis://127.0.0.1:6379/0, got "${bad}"`);
    }
    expect(refused("--event-store", "redis://127.0.0.1:6379", "--demo")).toMatch(/--event-store applies only to an HTTP front: add --transport http/);
    const run = await runCli(["--transport", "http", "--event-store", "localhost:6379", "--demo"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--event-store takes a Redis URL, redis:\/\/host:port\[\/db\]/);
  });

  it.runIf(redisAvailable)("two replica processes with one fleet key and event store: a stream resumes on the other after the first is gone", async () => {
    const env = { ...process.env, FLEET_KEY: "a fleet key for this test, 32+ bytes" };
    const start = async () => {
      const cli = startCli(["--transport", "http", "--port", "0", "--log-format", "json", "--fleet-key-env", "FLEET_KEY", "--event-store", redis!.url, "--", ...FIXTURE_STDIO], { env });
      const [, url] = await cli.waitForStderr(/"msg":"serving streamable HTTP on (http:\/\/[^"\s]+)"/);
      return { cli, url: url! };
    };
    const [one, two] = [await start(), await start()];
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    const post = (url: string, body: object, session?: string) =>
      fetch(url, { method: "POST", headers: { ...headers, ...(session && { "mcp-session-id": session }) }, body: JSON.stringify(body) });

    const init = await post(one.url, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } } });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    await post(one.url, { jsonrpc: "2.0", method: "notifications/initialized" }, session);
    const stream = await (await post(one.url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "sent by one" } } }, session)).text();
    const primed = /^id: (.+)$/m.exec(stream)![1]!;

    one.cli.child.kill("SIGKILL");
    await withTimeout(one.cli.exited(), 10_000, "replica one to exit");
    const resumed = await fetch(two.url, { headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25", "last-event-id": primed } });
    expect(resumed.status).toBe(200);
    expect(await withTimeout(resumed.text(), 10_000, "the replay")).toContain("sent by one");
  });
});

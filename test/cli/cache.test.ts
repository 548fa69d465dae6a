// The CLI's cache: --cache, --cache-redis, --cache-ttl and the config file's cache section, on the
// built command, seen through its request log lines (`cache`: miss, hit, bypass:<reason>).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UsageError, parseCliArgs } from "../../packages/cli/src/args.js";
import { redisAvailable, testRedis, type RedisServer } from "../caching/redis-server.js";
import { FIXTURE, FIXTURE_STDIO, runCli, startCli, stopAll, withTimeout, type CliProcess } from "./process.js";

afterEach(stopAll);

let dir: string;
let redis: RedisServer | undefined;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fastmcp-proxy-cli-cache-"));
  if (redisAvailable) redis = await testRedis();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await redis?.stop();
});

function config(extra: Record<string, unknown>): string {
  const path = join(dir, `cache-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ mcpServers: { fixture: { command: process.execPath, args: [FIXTURE, "stdio"] } }, ...extra }));
  return path;
}

/** The CLI over HTTP and a client of it; with `key`, the front takes that API key and the client sends it. */
async function startHttp(args: string[], key?: string): Promise<{ cli: CliProcess; client: Client }> {
  const auth = key ? ["--api-key-env", "CACHE_TEST_KEY"] : [];
  const cli = startCli(["--transport", "http", "--port", "0", "--log-format", "json", ...auth, ...args], key ? { env: { ...process.env, CACHE_TEST_KEY: key } } : undefined);
  const [, url] = await cli.waitForStderr(/"msg":"serving streamable HTTP on (http:\/\/[^"\s]+)"/);
  const client = new Client({ name: "cli-cache-test", version: "1.0.0" });
  const requestInit = key ? { headers: { authorization: `Bearer ${key}` } } : undefined;
  await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url!), requestInit ? { requestInit } : undefined)), 15_000, "initialize over HTTP");
  return { cli, client };
}

/** The `cache` field of each request line for this method, in order. */
async function outcomes(cli: CliProcess, method: string, count: number): Promise<string[]> {
  const read = () =>
    cli.stderr().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.method === method && "outcome" in l).map((l) => String(l.cache));
  await withTimeout((async () => { while (read().length < count) await new Promise((r) => setTimeout(r, 20)); })(), 10_000, `${count} ${method} lines`);
  return read();
}

describe("cache flags", () => {
  it("parses --cache, --cache-redis and --cache-ttl, and refuses malformed values with the fix", () => {
    const run = parseCliArgs(["--cache-ttl", "resources/read=5000", "--cache-redis", "redis://127.0.0.1:6379", "--", "node", "s.js"]);
    expect(run.action === "run" && run.options.cache).toEqual({ redis: "redis://127.0.0.1:6379", ttl: "resources/read=5000" });
    const plain = parseCliArgs(["--", "node", "s.js"]);
    expect(plain.action === "run" && plain.options.cache).toEqual({});
    expect(() => parseCliArgs(["--cache-ttl", "resources/list=5", "--", "node"])).toThrow(UsageError);
    expect(() => parseCliArgs(["--cache-ttl", "resources/list=5", "--", "node"])).toThrow(/--cache-ttl: unknown method "resources\/list"/);
    expect(() => parseCliArgs(["--cache-ttl", "prompts/get=soon", "--", "node"])).toThrow(/--cache-ttl: "prompts\/get=soon" is not method=milliseconds/);
    expect(() => parseCliArgs(["--cache-redis", "localhost:6379", "--", "node"])).toThrow(/--cache-redis localhost:6379: expected a redis:\/\//);
  });

  it("--cache answers a repeated resources/read from memory; without it nothing is cached", async () => {
    const { cli, client } = await startHttp(["--cache", "--", ...FIXTURE_STDIO]);
    for (let i = 0; i < 3; i++) await withTimeout(client.readResource({ uri: "fixture://static/hello" }), 10_000, "resources/read");
    expect(await outcomes(cli, "resources/read", 3)).toEqual(["miss", "hit", "hit"]);
    await client.close();

    const off = await startHttp(["--", ...FIXTURE_STDIO]);
    await withTimeout(off.client.readResource({ uri: "fixture://static/hello" }), 10_000, "resources/read");
    expect(await outcomes(off.cli, "resources/read", 1)).toEqual(["undefined"]);
    await off.client.close();
  });

  it("the config file's cache section names tools; a named tool that is not read-only fails start-up", async () => {
    const { cli, client } = await startHttp([config({ cache: { tools: { echo: { ttlMs: 10_000 } } } })]);
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "x" } }), 10_000, "echo");
    await withTimeout(client.callTool({ name: "echo", arguments: { text: "x" } }), 10_000, "echo");
    await withTimeout(client.callTool({ name: "whoami", arguments: {} }), 10_000, "whoami");
    expect(await outcomes(cli, "tools/call", 3)).toEqual(["miss", "hit", "bypass:not-listed"]);
    await client.close();

    const refused = await runCli(["--transport", "http", "--port", "0", config({ cache: { tools: { whoami: true } } })]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to cache tools whose readOnlyHint is not true: whoami/);
    const invalid = await runCli([config({ cache: { partition: "everyone" } })]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/Invalid cache\.partition/);
  });

  it("with the front authenticating (--api-key-env), authenticated requests are cached per caller", async () => {
    const key = `k-${Math.random().toString(36).slice(2)}`;
    const cli = startCli(["--transport", "http", "--port", "0", "--log-format", "json", "--api-key-env", "CACHE_TEST_KEY", "--cache", "--", ...FIXTURE_STDIO], {
      env: { ...process.env, CACHE_TEST_KEY: key },
    });
    const [, url] = await cli.waitForStderr(/"msg":"serving streamable HTTP on (http:\/\/[^"\s]+)"/);
    const client = new Client({ name: "cli-cache-auth", version: "1.0.0" });
    await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { authorization: `Bearer ${key}` } } })), 15_000, "initialize");
    await withTimeout(client.readResource({ uri: "fixture://static/hello" }), 10_000, "read");
    await withTimeout(client.readResource({ uri: "fixture://static/hello" }), 10_000, "read");
    expect(await outcomes(cli, "resources/read", 2)).toEqual(["miss", "hit"]);
    await client.close();
  });

  /** Two CLI processes on one Redis: the first reads a resource (a miss), the second reads it again. */
  async function acrossProcesses(args: string[], key?: string): Promise<[string[], string[]]> {
    const one = await startHttp(args, key);
    const two = await startHttp(args, key);
    const uri = `fixture://items/cli-${Math.random().toString(36).slice(2)}`;
    await withTimeout(one.client.readResource({ uri }), 10_000, "read through one");
    await withTimeout(two.client.readResource({ uri }), 10_000, "read through two");
    const outcomesOf = [await outcomes(one.cli, "resources/read", 1), await outcomes(two.cli, "resources/read", 1)] as [string[], string[]];
    await one.client.close();
    await two.client.close();
    return outcomesOf;
  }

  it.runIf(redisAvailable)("--cache-redis: what one proxy process stored for public data is a hit in another", async () => {
    // Two anonymous clients share entries only where the operator says the data is public.
    expect(await acrossProcesses(["--cache-redis", redis!.url, config({ cache: { partition: "public" } })])).toEqual([["miss"], ["hit"]]);
  });

  it.runIf(redisAvailable)("--cache-redis: what one proxy process stored for a caller is a hit for that caller in another", async () => {
    // The same principal on both (one API key): the same tenant, whichever process serves it.
    const key = `k-${Math.random().toString(36).slice(2)}`;
    expect(await acrossProcesses(["--cache-redis", redis!.url, "--", ...FIXTURE_STDIO], key)).toEqual([["miss"], ["hit"]]);
  });
});

// Two proxy processes sharing one Redis: what one stores, the other serves (public data: the
// replicas run with --public, as their clients are anonymous); what one is told is stale, the
// other stops serving.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { until } from "../helpers.js";
import { countingBackend, serveHttp, text } from "./fixtures.js";
import { redisAvailable, testRedis, type RedisServer } from "./redis-server.js";

const REPLICA = fileURLToPath(new URL("../../examples/caching-gateway/dist/main.js", import.meta.url));

interface Replica {
  child: ChildProcess;
  url: string;
}

/** Starts a replica process (the caching-gateway example's serve mode) and waits for its URL. */
function startReplica(backendUrl: string, redisUrl: string): Promise<Replica> {
  const child = spawn(process.execPath, [REPLICA, "serve", "--backend", backendUrl, "--redis", redisUrl, "--tools", "lookup", "--public"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start within 15 s: ${stderr}`)), 15_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]! });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code}): ${stderr}`));
    });
  });
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ name: "replica-test", version: "1.0.0" });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

let redis: RedisServer | undefined;
let backendHttp: { url: string; close(): Promise<void> } | undefined;
const replicas: Replica[] = [];
const clients: Client[] = [];
const backend = countingBackend();

beforeAll(async () => {
  if (!redisAvailable) return;
  redis = await testRedis();
  backendHttp = await serveHttp(backend);
  replicas.push(...(await Promise.all([startReplica(backendHttp.url, redis.url), startReplica(backendHttp.url, redis.url)])));
  clients.push(...(await Promise.all(replicas.map((r) => connect(r.url)))));
}, 30_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const { child } of replicas) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
  }
  await backendHttp?.close();
  await redis?.stop();
});

describe.runIf(redisAvailable)("two proxy processes sharing one Redis", () => {
  it("an entry written through one is a hit through the other", async () => {
    const [one, two] = clients as [Client, Client];
    const a = await one.callTool({ name: "lookup", arguments: { q: "shared", page: 1 } });
    const b = await two.callTool({ name: "lookup", arguments: { page: 1, q: "shared" } });
    expect(text(b)).toBe(text(a));
    expect(backend.runs.lookup).toBe(1);
    const r1 = await two.readResource({ uri: "data://items/7" });
    const r2 = await one.readResource({ uri: "data://items/7" });
    expect(text(r2)).toBe(text(r1));
    expect(backend.runs["item 7"]).toBe(1);
    // A tool not named is never cached, on either.
    await one.callTool({ name: "write", arguments: { v: "1" } });
    await two.callTool({ name: "write", arguments: { v: "1" } });
    expect(backend.runs.write).toBe(2);
  });

  it("an invalidation seen by one reaches the other", async () => {
    const [one, two] = clients as [Client, Client];
    const read = (c: Client) => c.readResource({ uri: "data://doc" });
    await read(one);
    expect(text(await read(two))).toContain("v1");
    expect(backend.runs.doc).toBe(1);
    // Only replica one subscribes, so only it hears resources/updated from the backend.
    await one.subscribeResource({ uri: "data://doc" });
    backend.setContent("v2");
    expect(await backend.update("data://doc")).toBe(1);
    const started = performance.now();
    await until(async () => text(await read(two)).includes("v2"), "replica two to drop the entry", 5000);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

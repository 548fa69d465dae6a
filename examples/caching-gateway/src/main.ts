// A caching gateway: resources/read and one read-only tool answered from a cache, per caller.
//
//   node dist/main.js                                   the in-process demo below
//   node dist/main.js serve --backend URL [--redis URL] [--port N] [--tools a,b] [--public]
//                                                       an HTTP replica; replicas given one
//                                                       --redis share entries and invalidations
//                                                       (--public: across callers, for public data)
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { caching, memoryStore, redisStore, type CacheStats } from "@fastmcp-proxy/caching";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

/** A slow catalogue: every read and price lookup takes 20 ms, and is counted. */
export function createCatalog(): { server: McpServer; executions: Record<string, number> } {
  const executions: Record<string, number> = { read: 0, price: 0, order: 0 };
  const slow = () => new Promise((resolve) => setTimeout(resolve, 20));
  const server = new McpServer({ name: "catalog", version: "1.0.0" });
  server.registerResource("item", new ResourceTemplate("catalog://items/{id}", { list: undefined }), {}, async (uri, { id }) => {
    executions.read!++;
    await slow();
    return { contents: [{ uri: uri.href, text: `item ${id}: a sturdy widget` }] };
  });
  server.registerTool("price", { inputSchema: { id: z.string() }, annotations: { readOnlyHint: true } }, async ({ id }) => {
    executions.price!++;
    await slow();
    return { content: [{ type: "text", text: `item ${id} costs ${id.length * 10} EUR` }] };
  });
  server.registerTool("order", { inputSchema: { id: z.string() } }, async ({ id }) => {
    executions.order!++;
    return { content: [{ type: "text", text: `ordered item ${id}` }] };
  });
  return { server, executions };
}

export interface CachingRun {
  executions: Record<string, number>;
  stats: CacheStats;
  /** Milliseconds of the first (miss) and second (hit) read. */
  firstMs: number;
  secondMs: number;
}

export async function runExample({ log = console.log }: { log?: (...args: unknown[]) => void } = {}): Promise<CachingRun> {
  const { server, executions } = createCatalog();
  const proxy = FastMCPProxy.asProxy(server);
  // Only `price` is named: `order` changes things and is never cached.
  const cache = caching({ store: memoryStore({ maxEntries: 1000 }), ttl: { "resources/read": 30_000 }, tools: { price: { ttlMs: 10_000 } } });
  await cache.install(proxy);
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(proxySide);
  const client = new Client({ name: "example-client", version: "1.0.0" });
  await client.connect(clientSide);
  try {
    const timed = async (what: () => Promise<unknown>) => {
      const started = performance.now();
      await what();
      return Math.round((performance.now() - started) * 100) / 100;
    };
    const firstMs = await timed(() => client.readResource({ uri: "catalog://items/42" }));
    const secondMs = await timed(() => client.readResource({ uri: "catalog://items/42" }));
    for (let i = 0; i < 2; i++) {
      await client.callTool({ name: "price", arguments: { id: "42" } });
      await client.callTool({ name: "order", arguments: { id: "42" } });
    }
    // Code can drop entries too: the next read goes to the backend again.
    await cache.invalidate({ backend: "backend", kind: "resources" });
    await client.readResource({ uri: "catalog://items/42" });
    const stats = cache.stats();
    log(`read 1: ${firstMs} ms (miss), read 2: ${secondMs} ms (hit)`);
    log("backend executions:", executions);
    log("cache outcomes:", stats.outcomes);
    return { executions, stats, firstMs, secondMs };
  } finally {
    await client.close();
    await proxy.close();
    await cache.close();
  }
}

/** One replica: an HTTP front on `--port` (0 picks one), printing `listening <url>` on stderr. */
export async function serve(args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = flag("backend");
  if (!backend) throw new Error("serve needs --backend URL");
  const redis = flag("redis");
  const tools = Object.fromEntries((flag("tools") ?? "price").split(",").map((name) => [name, true as const]));
  const proxy = FastMCPProxy.asProxy(backend);
  // The catalogue is public: --public lets every caller share its entries (by default, each caller has its own).
  const partition = args.includes("--public") ? "public" : "tenant";
  const cache = caching({ store: redis ? redisStore({ url: redis }) : memoryStore(), tools, partition });
  await cache.install(proxy);
  const running = await proxy.run({ transport: "http", port: Number(flag("port") ?? 0) });
  process.stderr.write(`listening ${running.url}\n`);
  const stop = () => void proxy.close().then(() => cache.close()).finally(() => process.exit(0));
  process.once("SIGTERM", stop).once("SIGINT", stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const [mode, ...rest] = process.argv.slice(2);
  (mode === "serve" ? serve(rest) : runExample().then(() => undefined)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

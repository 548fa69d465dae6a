// Bridges a stdio MCP server to streamable HTTP on 127.0.0.1.
//
//   node dist/main.js [port] [-- command args...]     (port also from $PORT; default 8000, 0 = any free port)
//
//   HTTP client ──streamable HTTP──► FastMCPProxy ──stdio──► child process (one per HTTP session)
//
// Without a command, the backend is this example's own demo server (dist/demo-server.js).
import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { BackendSpec } from "@fastmcp-proxy/core";

export interface BridgeOptions {
  /** Any backend form; a command array or a script path gives a stdio backend. Default: the demo server. */
  backend?: BackendSpec;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. On loopback the proxy checks Host and Origin (DNS rebinding). */
  host?: string;
  /** Default /mcp. */
  path?: string;
}

export interface Bridge {
  url: string;
  proxy: FastMCPProxy;
  close(): Promise<void>;
}

/** The demo server next to this file once built (dist/demo-server.js). */
export function demoServerPath(): string {
  const path = fileURLToPath(new URL("./demo-server.js", import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} does not exist: build the example first (npx tsc -b), or pass a backend`);
  return path;
}

export async function runExample(options: BridgeOptions = {}): Promise<Bridge> {
  const proxy = FastMCPProxy.asProxy(options.backend ?? demoServerPath(), { name: "stdio-to-http" });
  const { url } = await proxy.run({
    transport: "http",
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 8000,
    ...(options.path ? { path: options.path } : {}),
  });
  return { url: url!, proxy, close: () => proxy.close() };
}

/** `[port] [-- command args...]`, port falling back to $PORT, then 8000. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { port: number; command: string[] | undefined } {
  const dashes = argv.indexOf("--");
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const command = dashes < 0 ? undefined : argv.slice(dashes + 1);
  const raw = own[0] ?? env.PORT ?? "8000";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port "${raw}": give a number from 0 to 65535`);
  if (command && command.length === 0) throw new Error("nothing after --: give the stdio server's command and its arguments");
  return { port, command };
}

async function main(): Promise<void> {
  const { port, command } = parseArgs(process.argv.slice(2));
  const bridge = await runExample({ port, ...(command ? { backend: command } : {}) });
  console.log(`Streamable HTTP MCP endpoint: ${bridge.url}`);
  console.error("Press Ctrl+C to stop.");
  const stop = () => {
    bridge.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}

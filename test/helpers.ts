import { Client, type ClientOptions } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import type { FastMCPProxy } from "@fastmcp-proxy/core";
import type { FrontSession } from "@fastmcp-proxy/core/advanced";

export const FIXTURE = fileURLToPath(new URL("./fixtures/fixture-server.mjs", import.meta.url));
export const CONFORMANCE_FIXTURE = fileURLToPath(new URL("./fixtures/conformance-server.mjs", import.meta.url));

/** An SDK client connected to the proxy in memory, and the front session serving it. */
export async function connectSession(proxy: FastMCPProxy, options: ClientOptions = {}): Promise<{ client: Client; session: FrontSession }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const session = await proxy.connect(serverSide);
  const client = new Client({ name: "test-client", version: "1.0.0" }, options);
  await client.connect(clientSide);
  return { client, session };
}

/** An SDK client connected to the proxy in memory, as a real front session. */
export async function connectClient(proxy: FastMCPProxy, options: ClientOptions = {}): Promise<Client> {
  return (await connectSession(proxy, options)).client;
}

/** An SDK client connected straight to a server, for comparing with what the proxy gives. */
export async function connectDirect(server: { connect(transport: InMemoryTransport): Promise<void> }, options: ClientOptions = {}): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "direct-client", version: "1.0.0" }, options);
  await client.connect(clientSide);
  return client;
}

/** A raw request, results unparsed, so tests see exactly what came over the wire. */
export function raw(client: Client, method: string, params: Record<string, unknown> = {}) {
  return client.request({ method, params }, ResultSchema.passthrough()) as Promise<Record<string, any>>;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

/**
 * Polls `check` (every 20 ms, at most `ms`) until it gives a truthy value, and returns that value;
 * a check that throws counts as not yet.
 */
export async function until<T>(check: () => T | Promise<T>, what = "the condition", ms = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await Promise.resolve().then(check).catch(() => undefined);
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether a process with this pid exists (signal 0 sends nothing; EPERM means it exists but is not ours). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A client transport over two pipes, newline-delimited JSON: what a client of a stdio server writes and reads. */
export class PipeTransport {
  onmessage?: (message: any) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  #buffer = "";
  constructor(readonly toServer: PassThrough, readonly fromServer: PassThrough) {}
  async start() {
    this.fromServer.on("data", (chunk: Buffer) => {
      this.#buffer += chunk.toString("utf8");
      for (let nl = this.#buffer.indexOf("\n"); nl >= 0; nl = this.#buffer.indexOf("\n")) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.trim()) this.onmessage?.(JSON.parse(line));
      }
    });
    this.fromServer.on("end", () => this.onclose?.());
  }
  async send(message: unknown) {
    this.toServer.write(`${JSON.stringify(message)}\n`);
  }
  async close() {
    this.toServer.end();
    this.onclose?.();
  }
}


// Test harness for the eras work: the proxy's HTTP front with the 2026-07-28 front beside it, and the
// conformance 0.2 CLI (Node 20 needs the fs.globSync shim). Everything on 127.0.0.1, every run bounded.
import { spawn } from "node:child_process";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { createServer, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Client as ModernClient } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, expect } from "vitest";
import { FastMCPProxy, type ProxyOptions } from "@fastmcp-proxy/core";
import { Tokens, resolveBackends } from "@fastmcp-proxy/core/advanced";
import { createModernFront, isModernRequest, modernConnector, type BackendProtocol, type ModernFront, type ModernFrontOptions } from "../../packages/core/src/eras/index.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("conformance-next/package.json")), "dist", "index.js");
const SHIM = fileURLToPath(new URL("./globsync-shim.mjs", import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A proxy in front of one HTTP backend spoken to in 2026-07-28 (or `auto`), until backend specs take
 * `protocol`: its one Backend is registered over the default in the container.
 */
export function modernProxy(url: string, protocol: BackendProtocol = "2026-07-28", options: ProxyOptions = {}): FastMCPProxy {
  // `auto` falls back to the connector the proxy would use for this URL today.
  const fallback = resolveBackends(url, silent)[0]!.connector;
  return FastMCPProxy.asProxy(url, {
    logLevel: "error",
    ...options,
    configure: (container) =>
      container.register(Tokens.Backends, {
        useValue: [{ name: "backend", prefix: undefined, connector: modernConnector(url, { protocol, fallback }), timeoutMs: undefined }],
      }),
  });
}

/**
 * The usual suite set-up: a backend started once (`start`), `modernProxy` in front of it, served on
 * both eras; all three closed after the suite. Read its fields inside the tests.
 */
export function modernStack<B extends { url: string; close(): Promise<void> }>(start: () => Promise<B>): { backend: B; proxy: FastMCPProxy; front: BothEras } {
  const stack = {} as { backend: B; proxy: FastMCPProxy; front: BothEras };
  beforeAll(async () => {
    stack.backend = await start();
    stack.proxy = modernProxy(stack.backend.url);
    stack.front = await serveBothEras(stack.proxy);
  }, 30_000);
  afterAll(async () => {
    await stack.front?.close();
    await stack.proxy?.close();
    await stack.backend?.close();
  });
  return stack;
}

/**
 * What a v2 client sees of the dual-era fixture through the proxy: its tools, a plain call, and a
 * multi-round call whose elicitation the client answers (its handler says Alice likes teal).
 */
export async function expectFixtureServed(client: ModernClient): Promise<void> {
  const text = (result: { content?: unknown }) => (result.content as Array<{ text?: string }> | undefined)?.map((c) => c.text).join(" ");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("test_input_required_result_multi_round");
  expect(text(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
  expect(text(await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} }))).toBe("Alice likes teal");
}

export interface BothEras {
  url: string;
  modern: ModernFront;
  close(): Promise<void>;
}

/**
 * The proxy on one endpoint for both eras: a 2026-07-28 request goes to the modern front, everything
 * else to the proxy's own HTTP handler (given the body again, as it reads its own).
 */
export async function serveBothEras(
  proxy: FastMCPProxy,
  options: ModernFrontOptions & { authenticate?: (req: IncomingMessage) => AuthInfo | undefined } = {},
): Promise<BothEras> {
  await proxy.start();
  const legacy = proxy.httpHandler({ allowedHosts: ["localhost", "127.0.0.1", "[::1]", "::1"] });
  // The modern front on its own (the HTTP front composes it the same way): each 2026 request is a
  // connect(), a front session on backend sessions of its own.
  const modern = createModernFront(proxy.modernFrontHost(), options);
  const http = createServer(async (req, res) => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    const origin = req.headers.origin;
    if (!LOOPBACK.has(host) || (origin !== undefined && !LOOPBACK.has(new URL(origin).hostname))) {
      res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Forbidden" } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      body = undefined;
    }
    if (isModernRequest(req, body)) return void (await modern.handle(req, res, body, options.authenticate?.(req)));
    await legacy(replay(req, raw), res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    modern,
    async close() {
      await modern.close();
      await legacy.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

/** The request again, its body readable once more. */
function replay(req: IncomingMessage, raw: Buffer): IncomingMessage {
  const again = Readable.from(raw.length > 0 ? [raw] : []) as unknown as IncomingMessage;
  return Object.assign(again, { method: req.method, url: req.url, headers: req.headers, socket: req.socket, httpVersion: req.httpVersion });
}

export interface SuiteRun {
  exitCode: number | null;
  /** Per scenario: "N passed, M failed". */
  scenarios: Record<string, string>;
  /** Scored (required) scenarios passing, of all scored. */
  scored: { passed: number; of: number; failing: string[] };
  output: string;
}

const SUITE_TIMEOUT_MS = 180_000;

/** Runs `conformance server --requirements <revision>` against `url`. */
export function runRequirements(url: string, revision: "2025-11-25" | "2026-07-28"): Promise<SuiteRun> {
  return runSuite(["server", "--url", url, "--requirements", revision]);
}

/** Runs one scenario at a revision's wire, verbose (for diagnosing a failure). */
export function runScenario(url: string, scenario: string, revision = "2026-07-28"): Promise<SuiteRun> {
  return runSuite(["server", "--url", url, "--scenario", scenario, "--spec-version", revision, "--verbose"]);
}

async function runSuite(args: string[]): Promise<SuiteRun> {
  const child = spawn(process.execPath, ["--import", SHIM, CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: process.env.TMPDIR ?? "/tmp",
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), SUITE_TIMEOUT_MS);
  const exitCode = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  clearTimeout(timer);
  const [scoredPart, unscored = ""] = output.split(/^Not scored for /m);
  const scenarios: Record<string, string> = {};
  for (const [, name, counts] of output.matchAll(/^[✓✗] ([\w./-]+): (\d+ passed, \d+ failed)\s*$/gmu)) scenarios[name!] = counts!;
  const unscoredNames = new Set([...unscored.matchAll(/^\s+[✓✗] ([\w./-]+) \(/gmu)].map((m) => m[1]!));
  const scoredNames = [...scoredPart!.matchAll(/^[✓✗] ([\w./-]+): /gmu)].map((m) => m[1]!).filter((n) => !unscoredNames.has(n));
  const failing = scoredNames.filter((n) => !/ 0 failed$/.test(scenarios[n]!));
  return { exitCode, scenarios, scored: { passed: scoredNames.length - failing.length, of: scoredNames.length, failing }, output };
}

export const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw-2026-client", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {}, sampling: {}, roots: {} },
};

let rawId = 0;

/** One raw 2026-07-28 POST; the JSON-RPC response (from a JSON or SSE body) and the HTTP status. */
export async function post2026(url: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const id = ++rawId;
  const name = (params.name ?? params.uri) as string | undefined;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(name ? { "mcp-name": name } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: { ...ENVELOPE, ...(params._meta as object) } } }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const json = text.startsWith("{") ? text : [...text.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]!).find((d) => d.includes(`"id":${id}`));
  return { status: response.status, message: JSON.parse(json ?? "{}") as { result?: any; error?: { code: number; message: string; data?: any } } };
}

/**
 * A `subscriptions/listen` stream over HTTP: `frames` fills with the messages it is sent (each SSE
 * `data:` line); `close()` ends it. The request is `params` with the 2026 envelope.
 */
export async function openListen(url: string, id: string, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "subscriptions/listen", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id, method: "subscriptions/listen", params: { ...params, _meta: ENVELOPE } }),
    signal: controller.signal,
  });
  const frames: any[] = [];
  const read = (async () => {
    const reader = response.body!.getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += new TextDecoder().decode(value);
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("data:")) frames.push(JSON.parse(line.slice(5)));
    }
  })();
  const close = async () => {
    clearTimeout(timer);
    controller.abort();
    await read;
  };
  return { response, frames, close };
}

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Logger } from "../logger.js";
import type { BackendConnector } from "./backend.js";
import type { StdioServerConfig } from "./config.js";
import { HttpBackendTransport, keepAliveAgent } from "./http-transport.js";
import { stderrSink } from "./stderr-log.js";
import { StdioBackendTransport } from "./stdio-transport.js";

/** A Client the user made: the one session there is. Connected already, or connected here with `transport`. */
export function clientConnector(client: Client, transport?: Transport): BackendConnector {
  let connecting: Promise<Client> | undefined;
  return {
    label: "client",
    isolatable: false,
    connect() {
      if (client.transport) return Promise.resolve(client);
      if (!transport) {
        return Promise.reject(new Error("the Client is not connected: connect it first, or pass { client, transport }"));
      }
      connecting ??= client.connect(transport).then(() => client);
      return connecting;
    },
  };
}

/** An SDK server in this process, linked in memory. A server instance holds one session. */
export function inProcessConnector(server: McpServer | Server): BackendConnector {
  return linkedConnector("in-process server", false, (serverSide) => server.connect(serverSide));
}

/** Another proxy in this process: each session here is a front session there, so its hooks and middleware run. */
export function proxyConnector(proxy: { connect(transport: Transport): Promise<unknown> }): BackendConnector {
  return linkedConnector("mounted proxy", true, (serverSide) => proxy.connect(serverSide));
}

/** Something in this process that serves MCP on a transport, reached through an in-memory pair. */
function linkedConnector(label: string, isolatable: boolean, serve: (serverSide: Transport) => Promise<unknown>): BackendConnector {
  return {
    label,
    isolatable,
    async connect(newClient) {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await serve(serverSide);
      const client = newClient();
      await client.connect(clientSide);
      return client;
    },
  };
}

export interface HttpBackendOptions {
  /** "http" (streamable HTTP, falling back to SSE when refused) or "sse". Inferred from a path ending in /sse. */
  transport?: "http" | "sse" | undefined;
  headers?: Record<string, string> | undefined;
}

/** A remote server over streamable HTTP or the legacy HTTP+SSE transport. */
export function httpConnector(url: URL, options: HttpBackendOptions = {}): BackendConnector {
  const transport = options.transport ?? (/\/sse\/?$/.test(url.pathname) ? "sse" : "http");
  const signals = perRequestSignals(fetch);
  // One keep-alive agent for every session with this backend: their requests share connections.
  const agent = keepAliveAgent(url);
  return {
    label: url.href,
    isolatable: true,
    // The lean transport's sessions do (not the SDK's, used with OAuth, nor SSE: the router checks each session).
    attributesAsks: transport === "http",
    async connect(newClient, credentials) {
      // Per-session credentials (see FastMCPProxy.credentials) go over the configured headers.
      const headers = credentials?.headers ? { ...options.headers, ...credentials.headers } : options.headers;
      const common = { ...(headers ? { requestInit: { headers } } : {}), ...(credentials?.authProvider ? { authProvider: credentials.authProvider } : {}), ...(credentials?.fetch ? { fetch: credentials.fetch } : {}) };
      const viaSse = async () => {
        const client = newClient();
        await client.connect(new SSEClientTransport(url, common));
        return client;
      };
      if (transport === "sse") return viaSse();
      const client = newClient();
      try {
        // The lean transport (backends/http-transport.ts), except where the SDK's OAuth flow is needed.
        const session = credentials?.authProvider
          ? new StreamableHTTPClientTransport(url, { ...common, fetch: credentials.fetch ? perRequestSignals(credentials.fetch) : signals })
          : new HttpBackendTransport(url, { headers, agent });
        await client.connect(session);
        return client;
      } catch (error) {
        // A 4xx (404, 405, 400) means the server is up but does not speak streamable HTTP: try the legacy transport.
        const status = error instanceof StreamableHTTPError ? error.code : undefined;
        if (status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 403) return viaSse();
        throw error;
      }
    },
  };
}

/**
 * The SDK's HTTP client hands one long-lived AbortSignal to every fetch of a session, and undici
 * leaves a listener on it per request (a MaxListenersExceededWarning flood after ~1,500 calls).
 * Give each POST/DELETE a signal of its own, aborted with the session's, and let go of it when its
 * response has been read.
 */
function perRequestSignals(base: typeof fetch): typeof fetch {
  const live = new WeakMap<AbortSignal, Set<AbortController>>();
  return async (input, init) => {
    const parent = init?.signal;
    if (!parent || init.method === "GET") return base(input, init);
    let controllers = live.get(parent);
    if (!controllers) {
      const set = new Set<AbortController>();
      controllers = set;
      live.set(parent, set);
      parent.addEventListener("abort", () => set.forEach((c) => c.abort(parent.reason)), { once: true });
    }
    const own = new AbortController();
    if (parent.aborted) own.abort(parent.reason);
    controllers.add(own);
    const release = () => void controllers.delete(own);
    try {
      const response = await base(input, { ...init, signal: own.signal });
      if (!response.body || !response.headers.get("content-type")?.includes("text/event-stream")) {
        release();
        return response;
      }
      // A streamed answer stays abortable until it ends.
      const body = response.body.pipeThrough(new TransformStream({ flush: release }));
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      release();
      throw error;
    }
  };
}

/** How to start a stdio backend: the config file's fields for it. */
export type StdioBackendOptions = Pick<StdioServerConfig, "command" | "args" | "env" | "cwd">;

/** A child process speaking MCP on stdin/stdout; one child per session. Its stderr is drained into the log. */
export function stdioConnector(options: StdioBackendOptions, logger: Logger): BackendConnector {
  const label = `stdio "${[options.command, ...(options.args ?? [])].join(" ")}"`;
  return {
    label,
    isolatable: true,
    warm: true,
    async connect(newClient, credentials) {
      // Closing ends the child (stdin closed, SIGTERM, SIGKILL) and reaps its own children.
      const transport = new StdioBackendTransport({
        command: options.command,
        args: options.args ?? [],
        env: credentials?.env ? { ...options.env, ...credentials.env } : options.env,
        ...(options.cwd ? { cwd: options.cwd } : {}),
        stderr: "pipe",
      });
      // Read stderr continuously so a chatty child never blocks on a full pipe; log it within bounds.
      const stderr = stderrSink(label, logger);
      transport.stderr?.on("data", (chunk: Buffer) => stderr.write(chunk)).once("end", () => stderr.end());
      const client = newClient();
      await client.connect(transport);
      return client;
    },
  };
}

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { extname } from "node:path";
import { ProxyError, ProxyErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ComponentRules } from "../components/rules.js";
import type { Backend, BackendConnector } from "./backend.js";
import { isMCPConfig, isRemote, loadConfigFile, parseConfig, type MCPConfig, type ServerConfig } from "./config.js";
import { clientConnector, httpConnector, inProcessConnector, stdioConnector, type StdioBackendOptions } from "./connectors.js";
import { modernConnector } from "../eras/connector.js";

/** Everything `FastMCPProxy.asProxy` accepts as a backend. */
export type BackendSpec =
  | Client
  | { client: Client; transport: Transport }
  | McpServer
  | Server
  | URL
  /** A URL, a config file (`.json`) or a script (`.js`, `.mjs`, `.cjs`, `.py`). */
  | string
  /** A command and its arguments. */
  | readonly string[]
  | StdioBackendOptions
  | ({ url: string | URL } & Omit<ServerConfig, "url" | "command">)
  | MCPConfig;

const SCRIPT_RUNNERS: Record<string, () => string> = {
  ".js": () => process.execPath,
  ".mjs": () => process.execPath,
  ".cjs": () => process.execPath,
  ".py": () => "python3",
};

/** Turns a backend spec into the backends to mount: one, or one per server of a config. */
export function resolveBackends(spec: BackendSpec, logger: Logger): Backend[] {
  const onWarning = (message: string) => logger.warn(message);
  if (isMCPConfig(spec)) return configBackends(parseConfig(spec, { onWarning }), logger);
  if (typeof spec === "string" && extname(spec) === ".json") return configBackends(loadConfigFile(spec, { onWarning }), logger);
  return [single(toConnector(spec, logger))];
}

function single(connector: BackendConnector, timeoutMs?: number): Backend {
  return { name: "backend", prefix: undefined, connector, timeoutMs };
}

/** One backend per server of a parsed config, each under its name as prefix when there are several. */
export function configBackends(config: MCPConfig, logger: Logger): Backend[] {
  const entries = Object.entries(config.mcpServers);
  return entries.map(([name, server]) => ({
    name,
    prefix: entries.length > 1 ? name : undefined,
    connector: serverConnector(server, logger),
    timeoutMs: server.timeout,
    rules: rulesOf(server),
    config: server,
  }));
}

function rulesOf({ include, exclude, tools }: ComponentRules): ComponentRules | undefined {
  return include || exclude || tools ? { include, exclude, tools } : undefined;
}

function serverConnector(server: ServerConfig, logger: Logger): BackendConnector {
  if (isRemote(server)) {
    const transport = server.transport ?? server.type;
    const legacy = httpConnector(new URL(server.url), {
      transport: transport === undefined ? undefined : transport === "sse" ? "sse" : "http",
      headers: server.headers,
    });
    // Legacy SSE has no 2026-07-28 form; everything else is probed unless told (see eras/).
    const protocol = server.protocol ?? "legacy";
    if (protocol === "legacy" || transport === "sse" || /\/sse\/?$/.test(new URL(server.url).pathname)) return legacy;
    return modernConnector(server.url, { protocol, ...(server.headers ? { headers: server.headers } : {}), fallback: legacy });
  }
  return stdioConnector(server, logger);
}

function toConnector(spec: Exclude<BackendSpec, MCPConfig>, logger: Logger): BackendConnector {
  if (isSdkClient(spec)) return clientConnector(spec);
  if (isSdkServer(spec)) return inProcessConnector(spec);
  if (spec instanceof URL) return serverConnector({ url: spec.href }, logger);
  if (typeof spec === "string") return fromString(spec, logger);
  if (Array.isArray(spec)) {
    const [command, ...args] = spec as readonly string[];
    if (!command) throw invalid("the command array is empty: give the command and its arguments");
    return stdioConnector({ command, args }, logger);
  }
  if (typeof spec === "object" && spec !== null) {
    if ("client" in spec && isSdkClient(spec.client)) return clientConnector(spec.client, spec.transport as Transport);
    if ("url" in spec) return serverConnector(parseConfig({ mcpServers: { backend: { ...spec, url: String(spec.url) } } }).mcpServers.backend!, logger);
    if ("command" in spec) return serverConnector(parseConfig({ mcpServers: { backend: spec } }).mcpServers.backend!, logger);
  }
  throw invalid(
    "unsupported backend: give a URL, a config object or file, a command, a script path, an SDK Client or an SDK server",
  );
}

/*
 * SDK objects are recognised by shape, not instanceof: an app may hold another copy of the SDK than
 * the one core resolves (another version, or a bundler's copy), whose classes are different objects.
 */

/** An SDK `Client`: connects, and asks the server for its capabilities. */
export function isSdkClient(value: unknown): value is Client {
  return hasMethods(value, "connect", "request", "getServerCapabilities");
}

/** An SDK `Server` (connects, asks the client for its capabilities) or an `McpServer` wrapping one. */
export function isSdkServer(value: unknown): value is McpServer | Server {
  const isServer = (v: unknown) => hasMethods(v, "connect", "setRequestHandler", "getClientCapabilities");
  return isServer(value) || (hasMethods(value, "connect", "close") && isServer((value as { server?: unknown }).server));
}

function hasMethods(value: unknown, ...names: string[]): boolean {
  return typeof value === "object" && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === "function");
}

function fromString(spec: string, logger: Logger): BackendConnector {
  if (/^https?:\/\//i.test(spec)) {
    try {
      return serverConnector({ url: new URL(spec).href }, logger);
    } catch {
      throw invalid(`"${spec}" is not a valid URL`);
    }
  }
  const runner = SCRIPT_RUNNERS[extname(spec)];
  if (runner) return stdioConnector({ command: runner(), args: [spec] }, logger);
  throw invalid(
    `cannot tell how to reach "${spec}": give an http(s):// URL, a config file (.json), a script (.js, .mjs, .cjs, .py), or a command after --`,
  );
}

function invalid(message: string): ProxyError {
  return new ProxyError(ProxyErrorCode.InvalidConfig, message);
}

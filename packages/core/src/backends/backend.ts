import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { ComponentRules } from "../components/rules.js";
import { scrubCredentials } from "../logger.js";
import type { ServerConfig } from "./config.js";

/** How one backend is reached. Each call to `connect` opens a new backend session where it can. */
export interface BackendConnector {
  /**
   * Where it is, as configured: `stdio "node server.js"`, `http://127.0.0.1:3001/mcp`. It may carry
   * credentials (`?api_key=`, `--token VALUE`): errors and logs show it through `describe(backend)`,
   * which scrubs them. As configured, it is also the backend's identity (a cache's origin, an OAuth resource).
   */
  readonly label: string;
  /** Whether `connect` can open more than one session (false for a given Client or server instance). */
  readonly isolatable: boolean;
  /** Opening a session is slow (a child process starts): worth keeping spares open ahead (`spareSessions`). */
  readonly warm?: boolean;
  /** Its sessions tell whose request each server→client request came during (HTTP: on that request's own stream). */
  readonly attributesAsks?: boolean;
  /** Connects a client made by `newClient` (or returns the client it wraps) to a new session. */
  connect(newClient: () => Client, credentials?: BackendCredentials): Promise<Client>;
}

/** Credentials for one backend session (see `FastMCPProxy.credentials`). */
export interface BackendCredentials {
  /** HTTP backends: headers merged over the configured ones. */
  headers?: Record<string, string>;
  /** HTTP backends: an SDK OAuth client provider for this session. */
  authProvider?: OAuthClientProvider;
  /** HTTP backends with an `authProvider`: the fetch its OAuth flow (and session) uses, e.g. an egress guard. */
  fetch?: typeof fetch;
  /** stdio backends: variables merged into the child's environment. */
  env?: Record<string, string>;
}

/** A backend mounted in the proxy: its connector, and the namespace its components go under. */
export interface Backend {
  /** The config name (`weather`), or `backend` for a single unnamed backend. */
  readonly name: string;
  /** Namespace for its components; undefined when it is the only backend. */
  readonly prefix: string | undefined;
  readonly connector: BackendConnector;
  /** Per-request timeout for this backend, overriding the proxy's. */
  readonly timeoutMs: number | undefined;
  /** What of it clients see: filters, renames, argument defaults. */
  readonly rules?: ComponentRules | undefined;
  /** The proxy's own components (mounted without a namespace): they win over mirrored ones of the same name. */
  readonly local?: boolean;
  /** A config server's entry, as parsed (`${VAR}` expanded): what `reload()` compares. */
  readonly config?: ServerConfig;
}

/** A backend as errors and logs name it: its name, and where it is with no credential in it. */
export function describe(backend: Backend): string {
  const label = backend.connector.label;
  return backend.name === label ? `"${backend.name}"` : `"${backend.name}" (${scrubCredentials(label)})`;
}

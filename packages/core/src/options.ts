import type { DependencyContainer } from "tsyringe";
import { callerShare } from "./tenant.js";
import type { ComponentClass } from "./components/component.js";
import type { ComponentRules } from "./components/rules.js";
import type { RestartOptions } from "./backends/supervisor.js";
import type { BackendHealth } from "./backends/supervision.js";
import type { EventStore } from "./serve/event-store.js";
import type { HttpLimits } from "./serve/http-guards.js";
import type { FleetKey } from "./serve/fleet-key.js";
import type { Authenticate, HttpFrontOptions, HttpRoute } from "./serve/http.js";
import type { ProxyPrompt } from "./components/proxy-prompt.js";
import type { ProxyResource } from "./components/proxy-resource.js";
import type { ProxyTemplate } from "./components/proxy-template.js";
import type { ProxyTool } from "./components/proxy-tool.js";
import { ProxyError, ProxyErrorCode } from "./errors.js";
import type { LogLevel, Logger } from "./logger.js";

export interface ProxyOptions {
  /** The name the proxy gives itself in `initialize`. Default "fastmcp-proxy". */
  name?: string;
  version?: string;
  /** Instructions for clients; by default a single backend's own. */
  instructions?: string;
  /**
   * Which backend session serves a caller (see docs/architecture.md, "Sessions"):
   * "isolated": each front session its own (a stdio backend: a child each); a 2026-07-28 or
   * stateless caller, its tenant's. "tenant": one per tenant (an authenticated principal, or an
   * anonymous front session) and capability profile. "shared": one per capability profile, for
   * stateless backends. A backend that acts with each caller's own credentials is always per tenant
   * (per front session when isolated), and refuses anonymous callers.
   * Default: isolated where the backend can open more than one session; a stdio front shares.
   */
  sessions?: "isolated" | "tenant" | "shared";
  /** Per-request timeout, reset by progress. Default 60 s. */
  timeoutMs?: number;
  /**
   * Ask the backend for progress on every request (the proxy's own progressToken), so that a
   * backend's progress extends the timeout of a call whose client gave no token. Default false: a
   * request carries a token only when its client's did; asking makes a backend do more for every
   * call (about 12% of an SDK server's CPU for a small tool call) for progress nobody reads.
   */
  alwaysAskProgress?: boolean;
  /** Hard limit for one request, whatever its progress. Default 10 min. */
  maxTimeoutMs?: number;
  /** Limit for connecting to a backend and its initialize handshake. Default 30 s. */
  connectTimeoutMs?: number;
  /**
   * Isolated sessions: at most this many backend sessions open at once per backend (for a stdio
   * backend, child processes), besides the proxy's own primary one. A front session that needs
   * one more gets a BackendUnavailable "too many sessions" error. Default 100.
   */
  maxSessions?: number;
  /**
   * Of those, one caller's (`tenant.share`: a principal, or an anonymous session), so no caller
   * opening sessions takes a backend from the others. Default a quarter of `maxSessions`.
   */
  maxSessionsPerCaller?: number;
  /**
   * Isolated sessions: a front session's backend session unused this long (no request, no
   * message, no subscription, no running task) is closed, and opened again on next use.
   * Default 10 min; 0 or Infinity: never.
   */
  idleTimeoutMs?: number;
  /**
   * Isolated sessions: how many backend sessions to keep open ahead for each stdio backend, per
   * capability profile, so a new client's first call does not wait for a child to start. They
   * count towards `maxSessions`; none are kept when `credentials()` supplies per-caller ones.
   * Default 1; 0: none.
   */
  spareSessions?: number;
  /**
   * An anonymous 2026-07-28 call whose client declared elicitation, sampling or roots, to a backend
   * whose asks do not say whose they are (stdio), runs alone on a backend session (a child) so that an
   * ask reaches its own caller (a known caller's such calls share its own session): at most this many
   * such sessions per route run a call at once; one more call waits its turn (a call waiting for its
   * client's input does not count). Default 4.
   */
  askingSessions?: number;
  /**
   * Serve tools/resources/templates/prompts lists in pages of this many, with cursors the proxy
   * mints (a changed list makes old cursors InvalidParams). Default: no paging, the whole list.
   */
  pageSize?: number;
  /** Filters and transforms for backends that have none of their own (config servers set theirs per server). */
  rules?: ComponentRules;
  /** Restarting lost backends (backoff with jitter, then a breaker); false: never restart. */
  restart?: RestartOptions | false;
  /**
   * While a backend is down: "open" (default) lists leave its components out; "closed" lists fail.
   * Either way, calls to it fail with an error that names it.
   */
  failMode?: "open" | "closed";
  /** Subclasses to mirror components with, registered in the proxy's container. */
  components?: {
    tool?: ComponentClass<ProxyTool>;
    resource?: ComponentClass<ProxyResource>;
    template?: ComponentClass<ProxyTemplate>;
    prompt?: ComponentClass<ProxyPrompt>;
  };
  /** Last word on the proxy's container: register your own factories or services over the defaults. */
  configure?: (container: DependencyContainer) => void;
  logger?: Logger;
  /** Level of the default stderr logger. Default "warn". */
  logLevel?: LogLevel;
}

export interface ResolvedOptions {
  name: string;
  version: string;
  instructions: string | undefined;
  sessions: "isolated" | "tenant" | "shared" | undefined;
  timeoutMs: number;
  maxTimeoutMs: number;
  alwaysAskProgress: boolean;
  connectTimeoutMs: number;
  maxSessions: number;
  maxSessionsPerCaller: number;
  idleTimeoutMs: number;
  pageSize: number | undefined;
  spareSessions: number;
  askingSessions: number;
  restart: RestartOptions | false;
  failMode: "open" | "closed";
  rules: ComponentRules | undefined;
  /** Requests in flight to one backend from every front session (`run({ limits })`). */
  maxInFlightPerBackend: number;
  /** Of those, one caller's (`run({ limits })`); undefined: a quarter of `maxInFlightPerBackend`. */
  maxInFlightPerCaller: number | undefined;
}

export function resolveOptions(options: ProxyOptions): ResolvedOptions {
  const maxSessions = positive("maxSessions", options.maxSessions) ?? 100;
  return {
    name: options.name ?? "fastmcp-proxy",
    version: options.version ?? "0.1.0",
    instructions: options.instructions,
    sessions: options.sessions,
    timeoutMs: options.timeoutMs ?? 60_000,
    maxTimeoutMs: options.maxTimeoutMs ?? 600_000,
    alwaysAskProgress: options.alwaysAskProgress ?? false,
    connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
    maxSessions,
    maxSessionsPerCaller: positive("maxSessionsPerCaller", options.maxSessionsPerCaller) ?? callerShare(maxSessions),
    idleTimeoutMs: options.idleTimeoutMs ?? 600_000,
    pageSize: positive("pageSize", options.pageSize),
    spareSessions: options.spareSessions === 0 ? 0 : (positive("spareSessions", options.spareSessions) ?? 1),
    askingSessions: positive("askingSessions", options.askingSessions) ?? 4,
    restart: options.restart ?? {},
    failMode: options.failMode ?? "open",
    rules: options.rules,
    maxInFlightPerBackend: 1024,
    maxInFlightPerCaller: undefined,
  };
}

/** A whole number ≥ 1, or undefined when not given. */
export function positive(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new ProxyError(ProxyErrorCode.InvalidConfig, `${name} must be a whole number ≥ 1, not ${value}`);
  return value;
}

// ── What run(), mount() and health() take and give ───────────────────────────

export interface RunOptions {
  transport?: "stdio" | "http" | "sse";
  /** Default 127.0.0.1. On a loopback address, Host and Origin are checked (DNS rebinding). */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Streamable HTTP endpoint. Default /mcp. */
  path?: string;
  stateless?: boolean;
  /** Hostnames accepted in Host/Origin. Default: the loopback names when bound to loopback. */
  allowedHosts?: string[];
  /** Browser clients: origins allowed to call (CORS), or ["*"]. */
  allowedOrigins?: string[];
  /** Extra HTTP routes tried before the MCP endpoint (e.g. /metrics, /healthz). */
  routes?: HttpRoute[];
  /** Keep each session's recent events (bounded, in memory) so clients can resume streams with Last-Event-ID. */
  resumable?: boolean;
  /** Resumability with your own store, one per session (e.g. the caching package's Redis one): replaces `resumable`'s in-memory one. */
  eventStore?: HttpFrontOptions["eventStore"];
  /** Who is calling (HTTP and SSE): see docs/extension-points.md. */
  authenticate?: Authenticate;
  /** Largest accepted request body, in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /**
   * Bounds on sessions, requests in flight, slow readers and slow clients (docs/limits.md);
   * `maxInFlightPerBackend` and `maxInFlightPerCaller` (one caller's share of it, default a quarter)
   * apply to every transport.
   */
  limits?: HttpLimits & { maxInFlightPerBackend?: number; maxInFlightPerCaller?: number };
  /** 2026-07-28 clients (HTTP): options for their front and the input_required bridge, or false. */
  modern?: HttpFrontOptions["modern"];
  /** HTTPS on the front: a PEM certificate (chain) and its private key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The key the replicas of a fleet share (≥ 32 bytes, e.g. `openssl rand -base64 32`): see docs/deployment.md. */
  fleetKey?: FleetKey;
}

export interface MountOptions extends ComponentRules {
  /** Prefix for the mounted components (`{namespace}_{tool}`, `scheme://{namespace}/...`). */
  namespace?: string;
}

export interface RunningProxy {
  transport: "stdio" | "http" | "sse";
  /** Where clients connect (http: the MCP endpoint; sse: the /sse stream). */
  url?: string;
  /** stdio: settles when the client has gone (stdin ended, and the requests read were answered). */
  closed?: Promise<void>;
}

export interface ProxyHealth {
  /** start() has finished. */
  started: boolean;
  /** drain() was called: shutting down, not ready for new clients. */
  draining?: boolean;
  backends: BackendHealth[];
}

import { extname } from "node:path";
import { parseArgs } from "node:util";
import type { AuthFlags } from "@fastmcp-proxy/auth";
import { cacheSectionFromFlags, type CacheFlags } from "@fastmcp-proxy/caching";

/** Where the proxy's backend comes from, as named on the command line. */
export type CliBackend =
  /** The built-in demo server (`--demo`), run as a stdio child. */
  | { kind: "demo" }
  /** A command and its arguments, given after `--`; `env` is added to the child's environment (-e, --pass-env). */
  | { kind: "command"; command: string; args: string[]; env?: ChildEnv }
  /** An http(s):// URL, with the headers sent to it (--header) and the protocol era it speaks (--protocol). */
  | { kind: "url"; url: string; headers?: Record<string, string>; protocol?: CliProtocol }
  /** A config file (`.json`) in the `mcpServers` format. */
  | { kind: "config"; path: string }
  /** A script (`.js`, `.mjs`, `.cjs`, `.py`, ...) run as a stdio child. */
  | { kind: "script"; path: string };

/** A stdio child's extra environment: values given with -e, and names whose values are read from ours (--pass-env). */
export interface ChildEnv {
  set: Record<string, string>;
  pass: string[];
}

/** The protocol era a URL backend speaks: see "protocol" in docs/gateway.md. */
export type CliProtocol = "legacy" | "2026-07-28" | "auto";

export type CliTransport = "stdio" | "http" | "sse";
export type CliLogLevel = "debug" | "info" | "warn" | "error" | "silent";
/**
 * How logs are written on stderr. "plain" (the default): `[fastmcp-proxy] <level>: <message>`
 * lines. "json": one JSON object a line (pino), the CLI's own messages included. "pretty":
 * timestamped, aligned lines, coloured on a terminal.
 */
export type CliLogFormat = "plain" | "json" | "pretty";

export interface CliOptions {
  backend: CliBackend;
  transport: CliTransport;
  host: string;
  port: number;
  path: string;
  /** The proxy's name in `initialize`; undefined keeps core's default. */
  name: string | undefined;
  stateless: boolean;
  /** Keep recent events per session so clients can resume streams (HTTP fronts only). */
  resumable: boolean;
  /** --event-store: the Redis (redis://host:port[/db]) keeping those events, shared by replicas; implies resumable. */
  eventStore: string | undefined;
  logLevel: CliLogLevel;
  logFormat: CliLogFormat;
  /** Serve Prometheus metrics at /metrics (HTTP fronts only). */
  metrics: boolean;
  /** Browser origins allowed to call (CORS), HTTP fronts only. */
  allowOrigins: string[];
  /** --tls-cert and --tls-key: the files main reads for HTTPS on the front (both or neither). */
  tls: { certFile: string; keyFile: string } | undefined;
  /** --sessions: which backend session serves a client (core's `sessions` option); undefined keeps core's default. */
  sessions: "isolated" | "tenant" | "shared" | undefined;
  /** --ready-when: /readyz is 200 when any backend answers (default), or only when all do. */
  readyWhen: "any" | "all";
  /** --fleet-key-env: the environment variable holding the key the fleet's replicas share; main reads it. */
  fleetKeyEnv: string | undefined;
  /** Host names clients use (Host and Origin checks), HTTP fronts only; empty keeps core's default (loopback names on loopback). */
  allowedHosts: string[];
  /** --auth-ops: /readyz and /metrics need the front's auth (HTTP fronts only). */
  authOps?: true;
  /** --ops-port: /healthz, /readyz and /metrics on this port of --host instead of the MCP one (HTTP fronts only). */
  opsPort?: number;
  /** --auth-* and --api-key-env (HTTP fronts only); undefined without them. The key itself is read in main, from the environment. */
  auth?: AuthFlags;
  /** Limits; undefined keeps core's defaults (see docs/limits.md). */
  limits: CliLimits;
  /** --cache, --cache-redis, --cache-ttl, checked here (the cache is made in main, with the config file's section). */
  cache: CacheFlags;
  /** --watch: reload when the config file changes (a config file backend only; SIGHUP always reloads one). */
  watch?: boolean;
  /** --otel: a span per request, sent as OTLP/HTTP JSON where the OTEL_* variables say (read in main). */
  otel?: boolean;
}

export interface CliLimits {
  /** Backend sessions (stdio children) kept open ahead per backend, for a new client's first call. The CLI's default: none. */
  spareSessions?: number;
  /** 2026-07-28 calls that may be asked for input, each alone on a stdio backend session: how many run at once per backend. */
  askingSessions?: number;
  timeoutMs?: number;
  /** --always-ask-progress: every request asks its backend for progress, which extends its timeout. */
  alwaysAskProgress?: boolean;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxSessions?: number;
  maxSessionsPerCaller?: number;
  maxBodyBytes?: number;
  /** On SIGTERM/SIGINT, how long calls in flight may finish before they get an error (HTTP fronts). */
  drainTimeoutMs?: number;
  /** Requests in flight to one backend from every client (any front), passed to run({ limits }). */
  maxInFlightPerBackend?: number;
  /** Of those, one caller's, passed to run({ limits }). */
  maxInFlightPerCaller?: number;
  /** The HTTP front's own bounds (docs/limits.md), passed to run({ limits }). */
  http?: { maxSessions?: number; maxInFlightPerSession?: number; sendTimeoutMs?: number; headersTimeoutMs?: number };
}

export type CliCommand =
  | { action: "help" }
  | { action: "version" }
  | { action: "run"; options: CliOptions }
  /** `fastmcp-proxy auth login <server> <config.json>`: sign in for a backend with `auth.type: "authorization_code"`. */
  | { action: "login"; server: string; config: string };

/** A command line that cannot be run as given. The message says what is wrong and how to fix it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const DEFAULTS = {
  transport: "stdio",
  host: "127.0.0.1",
  port: 8000,
  path: "/mcp",
  logLevel: "info",
  logFormat: "plain",
} as const satisfies Partial<CliOptions>;

const TRANSPORTS: readonly CliTransport[] = ["stdio", "http", "sse"];
const LOG_LEVELS: readonly CliLogLevel[] = ["debug", "info", "warn", "error", "silent"];
const LOG_FORMATS: readonly CliLogFormat[] = ["plain", "json", "pretty"];
const PROTOCOLS: readonly CliProtocol[] = ["legacy", "2026-07-28", "auto"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Paths the HTTP front answers itself, before the MCP endpoint. */
export const HEALTH_PATHS = ["/healthz", "/readyz"] as const;
export const METRICS_PATH = "/metrics";

const OPTIONS = {
  transport: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  path: { type: "string" },
  name: { type: "string" },
  stateless: { type: "boolean" },
  resumable: { type: "boolean" },
  "event-store": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  metrics: { type: "boolean" },
  otel: { type: "boolean" },
  "allow-origin": { type: "string", multiple: true },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "ready-when": { type: "string" },
  "fleet-key-env": { type: "string" },
  "allowed-host": { type: "string", multiple: true },
  timeout: { type: "string" },
  "always-ask-progress": { type: "boolean" },
  "init-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  "max-sessions": { type: "string" },
  "max-sessions-per-caller": { type: "string" },
  sessions: { type: "string" },
  "spare-sessions": { type: "string" },
  "asking-sessions": { type: "string" },
  "max-body": { type: "string" },
  "drain-timeout": { type: "string" },
  "max-clients": { type: "string" },
  "max-in-flight": { type: "string" },
  "send-timeout": { type: "string" },
  "headers-timeout": { type: "string" },
  "max-in-flight-per-backend": { type: "string" },
  "max-in-flight-per-caller": { type: "string" },
  watch: { type: "boolean" },
  "auth-issuer": { type: "string" },
  "auth-jwks-uri": { type: "string" },
  "auth-audience": { type: "string" },
  "auth-required-scopes": { type: "string" },
  "auth-resource-url": { type: "string" },
  "auth-jwks-cooldown": { type: "string" },
  "auth-rules": { type: "string" },
  "auth-ops": { type: "boolean" },
  "ops-port": { type: "string" },
  "api-key-env": { type: "string" },
  cache: { type: "boolean" },
  "cache-redis": { type: "string" },
  "cache-ttl": { type: "string" },
  header: { type: "string", multiple: true },
  protocol: { type: "string" },
  env: { type: "string", short: "e", multiple: true },
  "pass-env": { type: "string", multiple: true },
  demo: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

/** The front's OAuth flags (docs/auth.md). */
const AUTH_FLAGS = ["auth-issuer", "auth-jwks-uri", "auth-audience", "auth-required-scopes", "auth-resource-url", "auth-jwks-cooldown", "api-key-env"] as const;

/** Options that only mean something when the proxy listens on HTTP. */
const HTTP_ONLY = ["host", "port", "path", "stateless", "resumable", "event-store", "metrics", "allow-origin", "allowed-host", "auth-ops", "ops-port", "tls-cert", "tls-key", "ready-when", "fleet-key-env", "max-body", "max-clients", "max-in-flight", "send-timeout", "headers-timeout", ...AUTH_FLAGS] as const;

const SEE_HELP = "see fastmcp-proxy --help";

export const USAGE = `Usage:
  fastmcp-proxy <URL | config.json | script> [options]
  fastmcp-proxy [options] -- <command> [args...]
  fastmcp-proxy --demo [options]
  fastmcp-proxy auth login <server> <config.json>   sign in for a backend (docs/auth.md)

Puts a proxy in front of MCP servers and serves it on stdio, streamable HTTP or SSE.

Backend (exactly one):
  <URL>                  a remote server: http(s)://host/mcp (streamable HTTP, falls back to SSE;
                         a path ending in /sse uses SSE)
  <config.json>          an mcpServers config file; several servers are mounted under their names
  <script>               a .js/.mjs/.cjs (run with node) or .py (run with python3) stdio server
  -- <command> [args...] any stdio server command; everything after -- is passed to it as is
  --demo                 a built-in demo server (tools echo, add, current_time), run over stdio

For a URL:
  --header <NAME:VALUE>  a header sent with every request to it, e.g. "Authorization: Bearer $TOKEN";
                         repeat it for several
  --protocol <p>         legacy | 2026-07-28 | auto: the protocol era it speaks (default: legacy;
                         auto asks with server/discover once and falls back to initialize)

For a command after --:
  -e, --env <KEY=VALUE>  set a variable in its environment; repeat it for several
  --pass-env <NAME,...>  pass these variables from this environment (it gets only HOME, LOGNAME,
                         PATH, SHELL, TERM and USER otherwise); repeatable

Options:
  --transport <t>        stdio | http | sse: how the proxy is served (default: stdio)
  --host <host>          address to listen on, for http and sse (default: 127.0.0.1)
  --port <port>          port to listen on, for http and sse; 0 picks a free one (default: 8000)
  --path <path>          the streamable HTTP endpoint, for http and sse (default: /mcp)
  --stateless            streamable HTTP without sessions, for http and sse
  --resumable            keep recent events per session so clients can resume streams (Last-Event-ID)
  --event-store <url>    keep them in Redis (redis://host:port[/db]), where every replica can replay
                         them; implies --resumable
  --name <name>          the proxy's server name in initialize (default: fastmcp-proxy)
  --metrics              serve Prometheus metrics at /metrics, for http and sse
  --allowed-host <name>  a host name clients use, e.g. behind a load balancer with --host 0.0.0.0;
                         Host and Origin must name one (DNS rebinding); repeat it (default on
                         loopback: the loopback names)
  --allow-origin <url>   a browser origin allowed to call (CORS), for http and sse; repeat it,
                         or "*" for any (Host and Origin are still checked on loopback)
  --tls-cert <file>      serve HTTPS with this PEM certificate (chain); needs --tls-key
  --ready-when any|all   /readyz is 200 when any backend answers (default: this replica can
                         serve), or only when all do; the body lists each backend either way
  --fleet-key-env <NAME> replicas behind one load balancer: the key they share (at least 32 bytes,
                         e.g. \`openssl rand -base64 32\`) is in environment variable NAME; any
                         replica then serves any session (docs/deployment.md)
  --tls-key <file>       the certificate's PEM private key; needs --tls-cert
  --timeout <ms>         a request's timeout, reset by progress (default: 60000)
  --always-ask-progress  ask the backend for progress on every request, not only when the client
                         does, so its progress extends any call's timeout (costs the backend work)
  --init-timeout <ms>    connecting to a backend and its initialize (default: 30000)
  --idle-timeout <ms>    close a client's unused backend session after this long; 0 never (default: 600000)
  --sessions isolated|tenant|shared
                         which backend session serves a client: its own (default), its tenant's
                         (one per principal: one child per user, not per client), or one for all
  --spare-sessions <n>   backend sessions (stdio children) kept open ahead per backend, so a new
                         client's first call does not wait for a child to start (default: 0)
  --asking-sessions <n>  anonymous 2026-07-28 calls that may be asked for input (elicitation,
                         sampling, roots) each run alone on a stdio backend session: at most this
                         many at once per backend, more wait their turn (default: 4)
  --max-sessions <n>     backend sessions per backend for isolated clients (default: 100)
  --max-sessions-per-caller <n>  of those, one caller's (a principal, or an anonymous session)
                         (default: a quarter of --max-sessions)
  --max-body <bytes>     largest HTTP request body (default: 4194304)
  --drain-timeout <ms>   on SIGTERM, how long calls in flight may finish; /readyz fails and new
                         sessions get 503 meanwhile (default: 10000)
  --max-clients <n>      open client sessions on an HTTP front; past it 503 (default: 1000)
  --max-in-flight <n>    requests in flight in one HTTP client session; past it 429 (default: 100)
  --send-timeout <ms>    a client that does not read what it is sent loses that stream (default: 15000)
  --headers-timeout <ms> time to receive a request's headers (slowloris; default: 10000)
  --max-in-flight-per-backend <n>  requests in flight to one backend from all clients; past it
                         a call fails at once (default: 1024)
  --max-in-flight-per-caller <n>  of those, one caller's (a principal, or an anonymous session;
                         stateless and 2026 anonymous requests are one caller);
                         past it that caller's call fails at once (default: a quarter of the above)
  --watch                reload the config file when it changes (SIGHUP always reloads it):
                         added, removed and changed servers only; the others are untouched
  --auth-issuer <url>    require OAuth access tokens (JWT) from this issuer, for http and sse (docs/auth.md)
  --auth-jwks-uri <url>  where its signing keys are (default: jwks_uri from the issuer's metadata)
  --auth-audience <url>  the audience tokens must carry (default: the resource URL)
  --auth-required-scopes <a,b>  scopes every request needs
  --auth-resource-url <url>  the proxy's public MCP URL, behind a reverse proxy (default: the served URL)
  --auth-ops             /readyz and /metrics need the front's auth too (/healthz stays open)
  --ops-port <port>      serve /healthz, /readyz and /metrics on this port instead (0 picks one)
  --auth-jwks-cooldown <ms>  least time between two JWKS refetches for an unknown key (default: 30000)
  --auth-rules <file.json>  per-component rules (docs/auth.md): an array of rules, or an object
                         { rules, implies, default, rolesClaim }; also with -- <command>
  --api-key-env <NAME>   accept the API key in environment variable NAME, sent by clients as a bearer
                         token or in an X-API-Key header
  --cache                cache resources/read and prompts/get per caller, in memory (docs/caching.md)
  --cache-redis <url>    cache in Redis (redis://host:port), shared by replicas; implies --cache
  --cache-ttl <m=ms,...> TTLs per method, e.g. resources/read=30000,tools/call=5000; implies --cache
  --log-level <level>    debug | info | warn | error | silent, on stderr (default: info);
                         info logs one line per request, debug adds their params and results
  --log-format <format>  plain | json | pretty (default: plain); json is one JSON object a line
  --otel                 a span per request, sent as OTLP over HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT
                         (default http://localhost:4318; also OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME,
                         OTEL_RESOURCE_ATTRIBUTES); the client's traceparent in _meta is continued
  -h, --help             show this help
  -v, --version          show the version

Examples:
  fastmcp-proxy https://example.com/mcp                      remote HTTP server, exposed on stdio
  fastmcp-proxy config.json --transport http --port 8000     config file, exposed on HTTP
  fastmcp-proxy --transport http -- npx -y @modelcontextprotocol/server-everything
  fastmcp-proxy --demo --transport http                      try it: http://127.0.0.1:8000/mcp

Logs go to stderr; on stdio, stdout carries only the protocol. HTTP fronts also answer
GET /healthz (the process is up) and GET /readyz (the backends answer).
SIGHUP re-reads a config file and applies what changed (docs/gateway.md, "Reload"); with any
other backend it stops the proxy, like SIGTERM.
Exit codes: 0 stopped cleanly (signal, or stdin closed on stdio), 1 runtime failure
(config, backend, port), 2 command-line error.
`;

/**
 * Parses the command line (without the node and script paths). Pure: reads no files and no
 * environment. Throws a UsageError whose message names the problem and the fix.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const terminator = argv.indexOf("--");
  const before = terminator === -1 ? argv : argv.slice(0, terminator);
  // Help wins over everything else on the line, errors included.
  if (before.includes("--help") || before.includes("-h")) return { action: "help" };
  if (argv[0] === "auth") return parseLogin(argv.slice(1));

  let parsed: ReturnType<typeof strictParse>;
  try {
    parsed = strictParse(argv);
  } catch (error) {
    throw usageFromParseArgs(error);
  }
  const { values, positionals, tokens } = parsed;
  if (values.version) return { action: "version" };

  const end = tokens.find((t) => t.kind === "option-terminator");
  const targets = end ? positionals.slice(0, positionals.length - (argv.length - end.index - 1)) : positionals;
  const command = end ? argv.slice(end.index + 1) : undefined;

  const backend = withBackendFlags(parseBackend(targets, command, values.demo ?? false), values);
  if (values.watch && backend.kind !== "config") throw new UsageError(`--watch reloads a config file: give one (fastmcp-proxy config.json --watch)`);
  const transport = oneOf("--transport", values.transport, TRANSPORTS) ?? DEFAULTS.transport;
  if (transport === "stdio") {
    const given = HTTP_ONLY.filter((name) => values[name] !== undefined);
    if (given.length > 0) {
      const list = given.map((name) => `--${name}`).join(", ");
      throw new UsageError(`${list} ${given.length > 1 ? "apply" : "applies"} only to an HTTP front: add --transport http (or sse)`);
    }
  }
  const path = parsePath(values.path);
  const metrics = values.metrics ?? false;
  const taken = [...HEALTH_PATHS, ...(metrics ? [METRICS_PATH] : [])];
  if (transport !== "stdio" && (taken as string[]).includes(path)) {
    throw new UsageError(`--path ${path} is taken by the ${path === METRICS_PATH ? "metrics" : "health"} endpoint: choose another, e.g. --path /mcp`);
  }
  return {
    action: "run",
    options: {
      backend,
      transport,
      host: nonEmpty("--host", values.host) ?? DEFAULTS.host,
      port: parsePort(values.port),
      path,
      name: nonEmpty("--name", values.name),
      stateless: values.stateless ?? false,
      resumable: (values.resumable ?? false) || values["event-store"] !== undefined,
      eventStore: redisUrl("--event-store", values["event-store"]),
      logLevel: oneOf("--log-level", values["log-level"], LOG_LEVELS) ?? DEFAULTS.logLevel,
      logFormat: oneOf("--log-format", values["log-format"], LOG_FORMATS) ?? DEFAULTS.logFormat,
      metrics,
      allowOrigins: values["allow-origin"] ?? [],
      tls: tlsFiles(values["tls-cert"], values["tls-key"]),
      readyWhen: oneOf("--ready-when", values["ready-when"], ["any", "all"] as const) ?? "any",
      fleetKeyEnv: envName("--fleet-key-env", values["fleet-key-env"]),
      sessions: oneOf("--sessions", values.sessions, ["isolated", "tenant", "shared"] as const),
      allowedHosts: (values["allowed-host"] ?? []).map((host) => {
        if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) throw new UsageError(`--allowed-host takes a host name, optionally with a port (mcp.example.com, mcp.example.com:443), got "${host}"`);
        return host;
      }),
      limits: {
        ...count("--timeout", values.timeout, "timeoutMs", 1),
        ...(values["always-ask-progress"] && { alwaysAskProgress: true }),
        ...count("--init-timeout", values["init-timeout"], "connectTimeoutMs", 1),
        ...count("--idle-timeout", values["idle-timeout"], "idleTimeoutMs", 0),
        ...count("--max-sessions", values["max-sessions"], "maxSessions", 1),
        ...count("--max-sessions-per-caller", values["max-sessions-per-caller"], "maxSessionsPerCaller", 1),
        ...count("--spare-sessions", values["spare-sessions"], "spareSessions", 0),
        ...count("--asking-sessions", values["asking-sessions"], "askingSessions", 1),
        ...count("--max-body", values["max-body"], "maxBodyBytes", 1),
        ...count("--drain-timeout", values["drain-timeout"], "drainTimeoutMs", 0),
        ...count("--max-in-flight-per-backend", values["max-in-flight-per-backend"], "maxInFlightPerBackend", 1),
        ...count("--max-in-flight-per-caller", values["max-in-flight-per-caller"], "maxInFlightPerCaller", 1),
        ...httpLimits(values),
      },
      ...authOption(values),
      cache: cacheFlags(values.cache, values["cache-redis"], values["cache-ttl"]),
      ...(values.watch && { watch: true }),
      ...(values["auth-ops"] && { authOps: true }),
      ...(values["ops-port"] !== undefined && { opsPort: parsePort(values["ops-port"], "--ops-port") }),
      ...(values.otel && { otel: true }),
    },
  };
}

/** --header and --protocol (a URL), -e and --pass-env (a command or script), checked and put on the backend. */
function withBackendFlags(backend: CliBackend, values: { header?: string[]; protocol?: string; env?: string[]; "pass-env"?: string[] }): CliBackend {
  const { header, protocol, env, "pass-env": pass } = values;
  const elsewhere = backend.kind === "config" ? "; for a config file, set it on the server in the file" : "";
  if ((header || protocol) && backend.kind !== "url") {
    throw new UsageError(`${header ? "--header" : "--protocol"} applies to a URL backend (fastmcp-proxy https://host/mcp ${header ? "--header 'Authorization: Bearer ...'" : "--protocol auto"})${elsewhere}`);
  }
  if ((env || pass) && backend.kind !== "command") {
    throw new UsageError(`${env ? "-e/--env" : "--pass-env"} applies to a command after -- (fastmcp-proxy -e KEY=VALUE -- <command>)${elsewhere}`);
  }
  if (backend.kind === "url") {
    return {
      ...backend,
      ...(header && { headers: Object.fromEntries(header.map(parseHeader)) }),
      ...(protocol !== undefined && { protocol: oneOf("--protocol", protocol, PROTOCOLS) }),
    };
  }
  if (backend.kind === "command" && (env || pass)) {
    return { ...backend, env: { set: Object.fromEntries((env ?? []).map(parseEnv)), pass: (pass ?? []).flatMap(parsePassEnv) } };
  }
  return backend;
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (colon < 1 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === "" || /[\r\n\0]/.test(value)) {
    throw new UsageError(`--header takes NAME:VALUE, e.g. --header "Authorization: Bearer $TOKEN", got "${text}"`);
  }
  return [name, value];
}

function parseEnv(text: string): [string, string] {
  const equals = text.indexOf("=");
  const name = text.slice(0, equals);
  if (equals < 1 || !ENV_NAME.test(name)) throw new UsageError(`-e takes KEY=VALUE, e.g. -e API_KEY=secret, got "${text}" (to pass a variable from this environment: --pass-env NAME)`);
  return [name, text.slice(equals + 1)];
}

function parsePassEnv(text: string): string[] {
  const names = text.split(",").map((name) => name.trim());
  const bad = names.find((name) => !ENV_NAME.test(name));
  if (bad !== undefined) throw new UsageError(`--pass-env takes variable names, e.g. --pass-env API_KEY,REGION, got "${text}" (to set a value: -e KEY=VALUE)`);
  return names;
}

/** The cache flags, refused here when malformed (a bad URL, an unknown method or a TTL that is not ms). */
function cacheFlags(cache: boolean | undefined, redis: string | undefined, ttl: string | undefined): CacheFlags {
  const flags: CacheFlags = { ...(cache && { cache }), ...(redis !== undefined && { redis }), ...(ttl !== undefined && { ttl }) };
  try {
    cacheSectionFromFlags(flags);
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/^(?!--)/, "--cache-ttl: ")}`);
  }
  return flags;
}

/** `auth login <server> <config.json>`. */
function parseLogin(rest: readonly string[]): CliCommand {
  const [verb, server, config, ...extra] = rest;
  if (verb !== "login" || !server || !config || extra.length > 0 || extname(config).toLowerCase() !== ".json") {
    throw new UsageError(`usage: fastmcp-proxy auth login <server> <config.json> (the server's auth.type is "authorization_code")`);
  }
  return { action: "login", server, config };
}

/** A redis:// or rediss:// URL: host, optional port, optional database number. */
function redisUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !/^rediss?:$/.test(url.protocol) || url.hostname === "" || !/^(\/\d{0,2})?$/.test(url.pathname) || url.search || url.hash) {
    throw new UsageError(`${flag} takes a Redis URL, redis://host:port[/db], e.g. ${flag} redis://127.0.0.1:6379/0, got "${value}"`);
  }
  return value;
}

/** A flag naming the environment variable that holds a secret: secrets never go on the command line (ps shows it). */
function envName(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !ENV_NAME.test(value)) {
    throw new UsageError(`${flag} takes the name of an environment variable holding the key (never the key itself), got "${value}"`);
  }
  return value;
}

/** The auth flags, checked (URLs, a variable name); nothing when none is given. */
function authOption(values: Partial<Record<(typeof AUTH_FLAGS)[number] | "auth-rules", string>>): { auth?: AuthFlags } {
  const url = (option: (typeof AUTH_FLAGS)[number]): string | undefined => {
    const value = values[option];
    if (value === undefined) return undefined;
    if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) throw new UsageError(`--${option} must be an http(s) URL, got "${value}"`);
    return value;
  };
  const env = envName("--api-key-env", values["api-key-env"]);
  const scopes = values["auth-required-scopes"]?.split(",").map((s) => s.trim()).filter(Boolean);
  const auth: AuthFlags = {
    ...(url("auth-issuer") && { issuer: url("auth-issuer") }),
    ...(url("auth-jwks-uri") && { jwksUri: url("auth-jwks-uri") }),
    ...(url("auth-audience") && { audience: url("auth-audience") }),
    ...(scopes?.length && { requiredScopes: scopes }),
    ...(url("auth-resource-url") && { resourceUrl: url("auth-resource-url") }),
    ...(env !== undefined && { apiKeyEnv: env }),
    ...(values["auth-jwks-cooldown"] !== undefined && { jwksCooldownMs: count("--auth-jwks-cooldown", values["auth-jwks-cooldown"], "timeoutMs", 0)?.timeoutMs as number }),
    ...(nonEmpty("--auth-rules", values["auth-rules"]) && { rulesFile: values["auth-rules"] }),
  };
  return Object.keys(auth).length > 0 ? { auth } : {};
}

/** The HTTP front's bounds given on the command line, as `{ http: {...} }` (nothing when none is given). */
function httpLimits(values: Record<string, unknown>): Pick<CliLimits, "http"> | undefined {
  const flag = (option: string, key: string, min: number) => {
    const value = values[option] as string | undefined;
    if (value === undefined) return {};
    const n = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min)) throw new UsageError(`--${option} must be a whole number from ${min}, got "${value}"`);
    return { [key]: n };
  };
  const http = {
    ...flag("max-clients", "maxSessions", 1),
    ...flag("max-in-flight", "maxInFlightPerSession", 1),
    ...flag("send-timeout", "sendTimeoutMs", 1),
    ...flag("headers-timeout", "headersTimeoutMs", 1),
  };
  return Object.keys(http).length > 0 ? { http } : undefined;
}

/** A whole-number option, at least `min`, as `{ [key]: n }` (nothing when not given). */
function count<K extends keyof CliLimits>(option: string, value: string | undefined, key: K, min: number): Pick<CliLimits, K> | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min)) throw new UsageError(`${option} must be a whole number${min > 0 ? ` from ${min}` : ""}, got "${value}"`);
  return { [key]: n } as Pick<CliLimits, K>;
}

function strictParse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
}

function parseBackend(targets: string[], command: string[] | undefined, demo: boolean): CliBackend {
  const sources = [targets.length > 0, command !== undefined, demo].filter(Boolean).length;
  if (sources === 0) {
    throw new UsageError(`missing backend: give a URL, a config file or a script, or a command after -- (${SEE_HELP})`);
  }
  if (sources > 1) {
    const named = [
      ...(demo ? ["--demo"] : []),
      ...(targets.length > 0 ? [`"${targets[0]}"`] : []),
      ...(command !== undefined ? ["a command after --"] : []),
    ];
    throw new UsageError(`give one backend, not ${named.join(" and ")}`);
  }
  if (demo) return { kind: "demo" };
  if (command !== undefined) {
    const [program, ...args] = command;
    if (!program) throw new UsageError(`missing command after --: e.g. fastmcp-proxy -- node server.js`);
    return { kind: "command", command: program, args };
  }
  if (targets.length > 1) {
    throw new UsageError(
      `give one backend, got ${targets.length}: ${targets.map((t) => `"${t}"`).join(", ")}; ` +
        `to pass arguments to a server, put its command after --: fastmcp-proxy -- ${targets.join(" ")}`,
    );
  }
  return classify(targets[0]!);
}

function classify(target: string): CliBackend {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    if (!/^https?:\/\//i.test(target)) throw new UsageError(`"${target}" is not an http:// or https:// URL`);
    try {
      new URL(target);
    } catch {
      throw new UsageError(`"${target}" is not a valid URL`);
    }
    return { kind: "url", url: target };
  }
  if (extname(target).toLowerCase() === ".json") return { kind: "config", path: target };
  if (extname(target) === "") {
    throw new UsageError(
      `cannot tell how to reach "${target}": give an http(s):// URL, a config file (.json), a script, ` +
        `or put a command after --: fastmcp-proxy -- ${target}`,
    );
  }
  return { kind: "script", path: target };
}

function oneOf<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${option} must be ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}, got "${value}"`);
}

function nonEmpty(option: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new UsageError(`${option} needs a non-empty value`);
  return value;
}

function parsePort(value: string | undefined, option = "--port"): number {
  if (value === undefined) return DEFAULTS.port;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`${option} must be a whole number from 0 to 65535 (0 picks a free port), got "${value}"`);
  return port;
}

function parsePath(value: string | undefined): string {
  if (value === undefined) return DEFAULTS.path;
  if (!value.startsWith("/") || /[\s?#]/.test(value)) throw new UsageError(`--path must be a URL path starting with "/", e.g. --path /mcp, got "${value}"`);
  return value;
}

/** node:util parseArgs errors, reworded: name the option, say the fix. */
function usageFromParseArgs(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^' ]*)/.exec(message ?? "")?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option ${option}: ${SEE_HELP} (options meant for a stdio server go after --, with its command)`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take an argument/.test(message ?? "")
        ? new UsageError(`${option} takes no value`)
        : new UsageError(`${option} needs a value, e.g. ${option}=<value> (${SEE_HELP})`);
    default:
      return new UsageError(`${message ?? String(error)} (${SEE_HELP})`);
  }
}

/** Both TLS files, or neither: one alone is a usage error naming the other. */
function tlsFiles(cert: string | undefined, key: string | undefined): CliOptions["tls"] {
  if (cert === undefined && key === undefined) return undefined;
  if (!cert) throw new UsageError(`--tls-key needs --tls-cert <file> (the PEM certificate); ${SEE_HELP}`);
  if (!key) throw new UsageError(`--tls-cert needs --tls-key <file> (the certificate's PEM private key); ${SEE_HELP}`);
  return { certFile: cert, keyFile: key };
}

import { existsSync, readFileSync, watch } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FastMCPProxy, HttpError, ProxyErrorCode, loadConfigFile, plainMessage, safeStderr, type BackendSpec, type HttpRoute, type Logger, type RunningProxy } from "@fastmcp-proxy/core";
import {
  Registry,
  healthHandler,
  metrics,
  metricsHandler,
  otlpOptionsFromEnv,
  otlpTracer,
  routes,
  traceContextPropagator,
  tracing,
  type MetricsMiddleware,
  type OtlpTracer,
} from "@fastmcp-proxy/logging";
import type { BearerAuth } from "@fastmcp-proxy/auth";
import { RedisEventStores, cacheFromConfig, cacheSectionFromFlags, caching, type CacheConfig, type CachingMiddleware } from "@fastmcp-proxy/caching";
import { HEALTH_PATHS, METRICS_PATH, USAGE, UsageError, parseCliArgs, type ChildEnv, type CliBackend, type CliOptions } from "./args.js";
import { cliLogs, type CliLogs, type SayLevel } from "./logs.js";

/** Where the CLI writes. Defaults to the process's streams; tests may capture them. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** How long shutdown may take before the CLI gives up waiting (children get SIGKILL within ~4 s). */
const CLOSE_TIMEOUT_MS = 10_000;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** --watch: how long the config file must stay quiet before it is reloaded (an editor's save is several events). */
const WATCH_QUIET_MS = 200;
/** On a signal, how long an HTTP front lets the calls in flight finish (--drain-timeout). */
const DRAIN_TIMEOUT_MS = 10_000;

/** The CLI's version, from its package.json (one level above both src/ and dist/). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The compiled demo server, run as a stdio child by `--demo` (found from src/ or dist/ alike). */
export const DEMO_SERVER_PATH = fileURLToPath(new URL("../dist/demo-server.js", import.meta.url));

/**
 * Runs the `fastmcp-proxy` command. Resolves with the exit code: 0 when it stopped cleanly
 * (a signal, or stdin closed on a stdio front), 1 on a runtime failure, 2 on a command-line error.
 * Writes nothing but help and version to stdout: on a stdio front, stdout is the protocol.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const err = io.stderr ?? batchedStderr();
  let command;
  let tls: { cert: Buffer; key: Buffer } | undefined;
  try {
    command = parseCliArgs(argv);
    // Read now: a file that cannot be read is a command-line error, before anything starts.
    if (command.action === "run" && command.options.tls) tls = readTls(command.options.tls);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`fastmcp-proxy: ${error.message}\n`);
    return 2;
  }
  switch (command.action) {
    case "help":
      out(USAGE);
      return 0;
    case "version":
      out(`${VERSION}\n`);
      return 0;
    case "login":
      return signIn(command.server, command.config, err);
    case "run": {
      // Colours (pretty format) only on the process's own stderr, when it is a terminal.
      const colors = io.stderr === undefined && process.stderr.isTTY === true && !process.env.NO_COLOR;
      return serve(command.options, cliLogs(command.options.logLevel, command.options.logFormat, err, colors), tls);
    }
  }
}

/**
 * `auth login`: the authorization code flow for one backend of a config file. The URL is printed,
 * never handed to a shell; the tokens go to the backend's 0600 token file.
 */
async function signIn(server: string, configPath: string, err: (text: string) => void): Promise<number> {
  try {
    const entry = loadConfigFile(configPath).mcpServers[server] as { url?: string; auth?: Record<string, unknown> } | undefined;
    if (!entry) throw new Error(`${configPath} has no server "${server}"`);
    if (!entry.url || entry.auth?.type !== "authorization_code") throw new Error(`server "${server}" needs a url and auth: { "type": "authorization_code" } to sign in`);
    const text = (key: string) => (typeof entry.auth?.[key] === "string" ? { [key]: entry.auth[key] as string } : {});
    const { login } = await import("@fastmcp-proxy/auth");
    const done = await login(server, {
      serverUrl: entry.url,
      ...text("tokenFile"), ...text("scope"), ...text("issuer"), ...text("clientId"), ...text("clientSecret"), ...text("clientMetadataUrl"),
      ...(entry.auth.dpop === true ? { dpop: true } : {}),
      open: (url) => err(`fastmcp-proxy: open this URL in your browser to sign in to "${server}":\n  ${url.href}\n`),
    });
    err(`fastmcp-proxy: signed in to "${server}"${done.issuer ? ` at ${done.issuer}` : ""}; tokens in ${done.tokenFile}\n`);
    return 0;
  } catch (error) {
    err(`fastmcp-proxy: auth login ${server}: ${plainMessage(error)}\n`);
    return 1;
  }
}

/** /readyz and /metrics answered only to a caller the front authenticates (with its 401/403/503); /healthz stays open. */
function behindAuth(route: HttpRoute, authenticate: BearerAuth): HttpRoute {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/readyz" && path !== METRICS_PATH) return route(req, res);
    void authenticate(req)
      .then((authInfo) => {
        if (!authInfo) throw new HttpError(401, "Unauthorized: this endpoint needs the front's credentials");
        if (!route(req, res)) res.writeHead(404).end();
      })
      .catch((error: unknown) => {
        if (res.headersSent) return;
        const http = error instanceof HttpError ? error : undefined;
        res.writeHead(http?.status ?? 500, { "content-type": "text/plain", "cache-control": "no-store", ...http?.headers }).end(plainMessage(error));
      });
    return true;
  };
}

/** One failure, one line, with the fix. */
class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

async function serve(options: CliOptions, logs: CliLogs, tls?: { cert: Buffer; key: Buffer }): Promise<number> {
  const logger = recordingLogger(logs.diagnostics);
  const say = (line: string, level?: SayLevel) => logs.say(line, level);
  const fail = (error: unknown) => {
    say(failureMessage(error, options.backend, logger.backendStderr), "error");
    return error instanceof CliFailure ? error.exitCode : 1;
  };

  let proxy: FastMCPProxy;
  try {
    const spec = backendSpec(options.backend, logger);
    const { maxBodyBytes: _, drainTimeoutMs: __, http: ___, maxInFlightPerBackend: ____, maxInFlightPerCaller: _____, ...limits } = options.limits;
    proxy = FastMCPProxy.asProxy(spec, {
      logger,
      version: VERSION,
      // Spares are opt-in on the command line: none start inside a user's measurements or memory.
      spareSessions: 0,
      ...limits,
      ...(options.sessions && { sessions: options.sessions }),
      ...(options.name !== undefined && { name: options.name }),
    });
  } catch (error) {
    // Core could not make sense of the script or URL named on the command line: a usage error.
    const usage = (error as { code?: unknown }).code === ProxyErrorCode.InvalidConfig && (options.backend.kind === "script" || options.backend.kind === "url");
    return fail(usage ? new CliFailure(plain(error), 2) : error);
  }

  // --cache or the config file's cache section: response caching, made once auth is known, installed last.
  let cache: CachingMiddleware | undefined;
  let cacheSection: CacheConfig | undefined;
  try {
    cacheSection = cacheSectionFromFlags(options.cache, options.backend.kind === "config" ? loadConfigFile(options.backend.path).cache : undefined);
  } catch (error) {
    return fail(error);
  }

  // --fleet-key-env: the key the replicas share, read from the environment (never the command line).
  let fleetKey: string | undefined;
  if (options.fleetKeyEnv !== undefined) {
    fleetKey = process.env[options.fleetKeyEnv];
    if (fleetKey === undefined || Buffer.byteLength(fleetKey) < 32) {
      return fail(new CliFailure(`--fleet-key-env ${options.fleetKeyEnv}: ${fleetKey === undefined ? "the variable is not set" : "the key is shorter than 32 bytes"}; give every replica the same key, e.g. ${options.fleetKeyEnv}=$(openssl rand -base64 32)`, 2));
    }
  }

  // --otel: a span per request (outermost, so it times everything), sent where the OTEL_* variables say.
  let tracer: OtlpTracer | undefined;
  if (options.otel) {
    try {
      tracer = otlpTracer({ ...otlpOptionsFromEnv(), onError: (error) => logger.warn(error.message) });
    } catch (error) {
      return fail(new CliFailure(`--otel: ${plain(error)}`, 2));
    }
    proxy.use(tracing({ tracer, propagator: traceContextPropagator }));
  }
  // One log line per forwarded request; with --metrics, Prometheus counters and durations.
  proxy.use(logs.requests);
  let meter: MetricsMiddleware | undefined;
  if (options.metrics) {
    meter = metrics({ registry: new Registry(), defaultMetrics: true, ...(cacheSection && { cache: { stats: () => cache?.stats() ?? { hitRatio: 0 } } }) });
    proxy.use(meter);
  }
  // HTTP fronts answer /healthz and /readyz (and /metrics) before the MCP endpoint; while draining, /readyz fails at once.
  let draining: Promise<void> | undefined;
  const notReady: HttpRoute = (req, res) => {
    if (!draining || !req.url?.startsWith("/readyz")) return false;
    res.writeHead(503, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify({ status: "draining" }));
    return true;
  };
  let ops: HttpRoute = routes(notReady, healthHandler(proxy, { require: options.readyWhen }), ...(meter ? [metricsHandler({ registry: meter.registry })] : []));
  const httpRoutes: HttpRoute[] = [];

  // --auth-* / --api-key-env or the config file's auth section: the front as an OAuth resource server
  // (its metadata route with the others), its rules; each server's auth object: that backend's credentials.
  let authenticate: BearerAuth | undefined;
  try {
    const config = options.backend.kind === "config" ? loadConfigFile(options.backend.path) : undefined;
    // Loaded only when asked for: its HTTP client and JOSE stack cost start-up time and heap (docs/performance.md).
    const auth = usesAuth(options, config) ? await import("@fastmcp-proxy/auth") : undefined;
    const section = { ...(config?.auth as object | undefined), ...auth?.authSectionFromFlags(options.auth ?? {}) };
    if (auth && Object.keys(section).length > 0) {
      const front = auth.frontAuthFromConfig(section, { servedUrl: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}${options.path}` });
      if (front.authorize) proxy.use(front.authorize);
      if (front.bearer && options.transport !== "stdio") httpRoutes.push((authenticate = front.bearer).route);
    }
    const credentials = auth && config ? auth.backendAuthFromConfig(config.mcpServers, {
          logger,
          // A backend that asks for a new sign-in while serving (step-up, another authorization server): the operator is told where.
          signIn: (backend, url) => logger.warn(`backend "${backend}" asks you to sign in again: open ${url.href}`),
        }) : undefined;
    if (credentials) proxy.credentials(credentials);
    // --auth-ops: what /readyz and /metrics tell (backends, load) is for authenticated callers only.
    if (options.authOps) {
      if (!authenticate) throw new CliFailure("--auth-ops needs auth on the front: add --auth-issuer or --api-key-env (or an auth section in the config file)", 2);
      ops = behindAuth(ops, authenticate);
    }
    // --ops-port: the probes and metrics on a listener of their own; else before the MCP endpoint.
    if (options.opsPort === undefined) httpRoutes.unshift(ops);
    // A front that authenticates: a request that reaches the cache without an identity is never cached (fail closed).
    if (cacheSection) cache = caching({ ...cacheFromConfig(cacheSection), requireIdentity: authenticate !== undefined });
  } catch (error) {
    return fail(error);
  }

  // From here on, every way out goes through one shutdown: a signal, the stdio client gone, a fatal
  // error. (The stdio front itself answers the requests it read before it counts as closed.) A second
  // signal sends the children SIGTERM at once and exits.
  let closing = false;
  let stop!: (outcome: { code: number; reason: string }) => void;
  const stopped = new Promise<{ code: number; reason: string }>((resolve) => (stop = resolve));
  // A config file is reloaded on SIGHUP and, with --watch, when it changes; with other backends SIGHUP stops the proxy.
  const configPath = options.backend.kind === "config" ? options.backend.path : undefined;
  const reload = configPath === undefined ? undefined : configReloader(proxy, configPath, logger);
  const unwatch = reload && options.watch ? watchFile(configPath!, () => reload(`${configPath} changed: reloading it`), logger) : undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === "SIGHUP" && reload) return closing ? undefined : reload(`SIGHUP: reloading ${configPath}`);
    if (closing) {
      say(`${signal} again: ending the backends now`, "warn");
      void closeWithin(proxy, logger, undefined, { force: true }).finally(() => process.exit(1));
      return;
    }
    closing = true;
    // HTTP fronts drain as a load balancer expects: readiness fails, new sessions get 503, calls in flight finish.
    if (options.transport !== "stdio") draining = proxy.drain(options.limits.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
    stop({ code: 0, reason: signal });
  };
  const onUncaught = (error: Error) => {
    say(`internal error: ${oneLine(error.message)}`, "error");
    logger.debug(`internal error: ${error.stack ?? error.message}`);
    closing = true;
    stop({ code: 1, reason: "internal error" });
  };
  const onRejection = (reason: unknown) => {
    logger.error(`unhandled rejection: ${oneLine(reason instanceof Error ? reason.message : String(reason))}`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);
  let opsServer: Server | undefined;
  const cleanup = () => {
    opsServer?.closeAllConnections();
    opsServer?.close();
    unwatch?.();
    for (const signal of SIGNALS) process.off(signal, onSignal);
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onRejection);
  };

  // --event-store: resumable streams' events in Redis, under each session's key, so any replica replays them.
  const events = options.eventStore === undefined ? undefined : new RedisEventStores({ url: options.eventStore, logger });

  const { maxInFlightPerBackend, maxInFlightPerCaller } = options.limits;
  const runLimits = { ...options.limits.http, ...(maxInFlightPerBackend !== undefined && { maxInFlightPerBackend }), ...(maxInFlightPerCaller !== undefined && { maxInFlightPerCaller }) };
  // The cache goes last in the chain; installing it refuses a named tool that is not read-only.
  const running = (cache ? cache.install(proxy) : Promise.resolve()).then(() => proxy.run({
    transport: options.transport,
    host: options.host,
    port: options.port,
    path: options.path,
    stateless: options.stateless,
    resumable: options.resumable,
    ...(options.allowOrigins.length > 0 && { allowedOrigins: options.allowOrigins }),
    ...(tls && { tls }),
    ...(options.allowedHosts.length > 0 && { allowedHosts: options.allowedHosts }),
    ...(options.limits.maxBodyBytes !== undefined && { maxBodyBytes: options.limits.maxBodyBytes }),
    ...(Object.keys(runLimits).length > 0 && { limits: runLimits }),
    ...(options.transport !== "stdio" && { routes: [routes(...httpRoutes)] }),
    ...(authenticate && { authenticate }),
    ...(fleetKey !== undefined && { fleetKey }),
    ...(events && { eventStore: (session: { key: string }) => events.create(session.key) }),
  }));
  // Everything the run opened, closed in one order on every way out.
  const shutDown = async (settled?: Promise<void>) => {
    await closeWithin(proxy, logger, settled);
    await cache?.close();
    await events?.close();
    await tracer?.shutdown();
    cleanup();
  };
  let started: RunningProxy | undefined;
  try {
    started = await Promise.race([running, stopped.then(() => undefined)]);
  } catch (error) {
    await shutDown();
    return fail(error);
  }
  if (!started) {
    // Stopped while still connecting: close what is open now, and again once start-up settles.
    const { code, reason } = await stopped;
    logger.info(`shutting down before the proxy was ready (${reason})`);
    await shutDown(running.then(() => undefined, () => undefined));
    return code;
  }
  let opsOrigin: string | undefined;
  if (options.opsPort !== undefined && started.transport !== "stdio") {
    try {
      opsServer = createServer((req, res) => void (ops(req, res) || res.writeHead(404, { "content-type": "text/plain" }).end("Not found")));
      await new Promise<void>((resolve, reject) => opsServer!.once("error", reject).listen(options.opsPort, options.host, resolve));
      const { port } = opsServer.address() as AddressInfo;
      opsOrigin = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
    } catch (error) {
      await shutDown();
      return fail(new CliFailure(`--ops-port ${options.opsPort}: ${plainMessage(error)}`, 1));
    }
  }
  await announce(started, proxy, options, logs, opsOrigin);
  void started.closed?.then(() => stop({ code: 0, reason: "stdin closed" }));
  const { code, reason } = await stopped;
  closing = true;
  if (draining) {
    logger.info(`${reason}: letting the calls in flight finish (up to ${options.limits.drainTimeoutMs ?? DRAIN_TIMEOUT_MS} ms)`);
    await draining;
  }
  logger.info(`shutting down (${reason})`);
  await shutDown();
  return code;
}

/**
 * Reloads the config file into the proxy (core logs what changed, or why it kept the old config).
 * A reload asked for while one runs is done once after it, however many were asked for.
 */
function configReloader(proxy: FastMCPProxy, path: string, logger: Logger): (why: string) => void {
  let running: Promise<void> | undefined;
  let again = false;
  return (why) => {
    logger.info(why);
    if (running) return void (again = true);
    running = (async () => {
      do {
        again = false;
        await proxy.reload(path).then(() => {}, () => {});
      } while (again);
    })().finally(() => (running = undefined));
  };
}

/**
 * --watch: calls `onChange` once the config file has changed and stayed quiet for a moment. The
 * folder is watched, not the file, so an editor that saves by renaming a new file over the old one
 * is still followed; a save seen with the same content as the last is no change.
 */
function watchFile(path: string, onChange: () => void, logger: Logger): () => void {
  const file = basename(path);
  const read = () => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  };
  let last = read();
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(resolve(path)), { persistent: false }, (_event, name) => {
    if (name !== null && name !== file) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const now = read();
      if (now === last && now !== undefined) return;
      last = now;
      onChange();
    }, WATCH_QUIET_MS);
  });
  watcher.on("error", (error) => logger.warn(`--watch stopped: ${plainMessage(error)}; SIGHUP still reloads ${path}`));
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

/** Auth flags, or a config file with an auth section or a server with its own auth object. */
function usesAuth(options: CliOptions, config: { auth?: unknown; mcpServers: Record<string, unknown> } | undefined): boolean {
  if (options.auth !== undefined || config?.auth !== undefined) return true;
  return config !== undefined && Object.values(config.mcpServers).some((server) => (server as { auth?: unknown } | undefined)?.auth !== undefined);
}

/** The backend spec core understands, from what the command line named. */
function backendSpec(backend: CliBackend, logger: Logger): BackendSpec {
  switch (backend.kind) {
    case "demo":
      if (!existsSync(DEMO_SERVER_PATH)) {
        throw new CliFailure(`the demo server is not built (${DEMO_SERVER_PATH} is missing): run "pnpm build" (tsc -b) first`, 1);
      }
      return [process.execPath, DEMO_SERVER_PATH];
    case "command":
      return backend.env ? { command: backend.command, args: backend.args, env: childEnv(backend.env, logger) } : [backend.command, ...backend.args];
    case "url":
      return backend.headers || backend.protocol ? { url: backend.url, headers: backend.headers, protocol: backend.protocol } : backend.url;
    case "config":
      // Core reads a ".json" path itself (errors name the file, server and field); other casings are read here.
      return extname(backend.path) === ".json" ? backend.path : loadConfigFile(backend.path);
    case "script":
      if (!existsSync(backend.path)) {
        throw new CliFailure(`cannot find the script "${backend.path}": check the path (a command goes after --: fastmcp-proxy -- ${backend.path})`, 1);
      }
      return backend.path;
  }
}

/** -e values, and --pass-env names read from this process's environment (one not set here is named, and left out). */
function childEnv({ set, pass }: ChildEnv, logger: Logger): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const name of pass) {
    const value = process.env[name];
    if (value === undefined) logger.warn(`--pass-env ${name}: ${name} is not set here, so the server starts without it`);
    else passed[name] = value;
  }
  return { ...passed, ...set };
}

/** The one line a user sees when the proxy cannot start. */
function failureMessage(error: unknown, backend: CliBackend, backendStderr: readonly string[]): string {
  const message = plain(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof CliFailure) return message;
  if (code === ProxyErrorCode.BackendUnavailable) {
    const said = telling(backendStderr);
    const hint =
      backend.kind === "url" && hasUserinfo(backend.url)
        ? 'credentials in the URL are not sent (fetch refuses them): put them in a config file\'s "headers", e.g. "Authorization": "Bearer ${TOKEN}"'
      : backend.kind === "url" ? "check that the server is running and the URL is right"
      : backend.kind === "config" ? "check each server's command or url; --log-level debug shows more"
      : "check the command; --log-level debug shows the server's stderr";
    return `${message}${said ? ` (the server said: ${said})` : ""}: ${hint}`;
  }
  return message;
}

function hasUserinfo(url: string): boolean {
  try {
    const { username, password } = new URL(url);
    return username !== "" || password !== "";
  } catch {
    return false;
  }
}

/** The stderr line of a failed stdio server that most likely says why: its last error line, or its last line. */
function telling(lines: readonly string[]): string | undefined {
  const candidates = lines.filter((line) => !/^\s*at /.test(line) && !/^Node\.js v\d/.test(line));
  const said = candidates.findLast((line) => /error|not found|denied|cannot|can't|unable|fatal/i.test(line)) ?? candidates.at(-1);
  return said === undefined ? undefined : said.trim().slice(0, 300);
}

/**
 * The logger given to core, remembering the last lines stdio servers wrote to stderr (core logs
 * them at debug level as `<label> stderr: <line>`), so a start-up failure can quote the reason.
 */
function recordingLogger(inner: Logger): Logger & { readonly backendStderr: readonly string[] } {
  const backendStderr: string[] = [];
  return {
    backendStderr,
    debug(message, fields) {
      const line = fields?.backendStderr;
      if (typeof line === "string") {
        backendStderr.push(line);
        if (backendStderr.length > 50) backendStderr.shift();
      }
      inner.debug(message, fields);
    },
    info: (message, fields) => inner.info(message, fields),
    warn: (message, fields) => inner.warn(message, fields),
    error: (message, fields) => inner.error(message, fields),
  };
}

/** An error's message on one line, without the SDK's "MCP error <code>: " prefix. */
function plain(error: unknown): string {
  return oneLine(plainMessage(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The ready line (`serving ... on URL`: tests and scripts read it), plus how to connect to the demo. */
async function announce(running: RunningProxy, proxy: FastMCPProxy, options: CliOptions, logs: CliLogs, opsOrigin?: string): Promise<void> {
  const ready = { transport: running.transport, ...(running.url !== undefined && { url: running.url }) };
  const tools = proxy.registry.list("tools").tools.length;
  const resources = proxy.registry.list("resources").resources.length + proxy.registry.list("resourceTemplates").resourceTemplates.length;
  const prompts = proxy.registry.list("prompts").prompts.length;
  // Those that could not be reached are named as such, never counted among the served.
  const health = await proxy.health({ ping: false });
  const down = new Set(health.backends.filter((b) => b.status === "down").map((b) => b.name));
  const label = (b: FastMCPProxy["backends"][number]) => `${b.prefix ? `${b.name} (${b.connector.label})` : b.connector.label}${down.has(b.name) ? " [down, retrying]" : ""}`;
  const backends = options.backend.kind === "demo" ? "the built-in demo server (a stdio child)" : proxy.backends.map(label).join(", ");
  const summary = `proxying ${backends}: ${plural(tools, "tool")}, ${plural(resources, "resource")}, ${plural(prompts, "prompt")}`;
  if (running.transport === "stdio") {
    logs.say(`serving stdio, ${summary}`, "info", ready);
  } else {
    const streamable = running.url!.replace(/\/sse$/, options.path);
    const origin = opsOrigin ?? new URL(running.url!).origin;
    const probes = `health on ${HEALTH_PATHS.map((path) => origin + path).join(" and ")}`;
    if (running.transport === "http") logs.say(`serving streamable HTTP on ${running.url}${options.stateless ? " (stateless)" : ""}`, "info", ready);
    else logs.say(`serving SSE on ${running.url} (streamable HTTP also on ${streamable})`, "info", { ...ready, streamableUrl: streamable });
    logs.say(summary);
    logs.say(options.metrics ? `${probes}, metrics on ${origin}${METRICS_PATH}` : probes);
  }
  if (options.backend.kind === "demo") logs.hint(demoHints(running, options));
}

function demoHints(running: RunningProxy, options: CliOptions): string[] {
  if (running.transport === "stdio") {
    return [
      "  The demo speaks MCP on this process's stdin/stdout. Use it from an MCP client's config:",
      '    { "mcpServers": { "demo": { "command": "fastmcp-proxy", "args": ["--demo"] } } }',
      "  or serve it over HTTP instead: fastmcp-proxy --demo --transport http",
    ];
  }
  const url = running.transport === "sse" ? running.url!.replace(/\/sse$/, options.path) : running.url!;
  const initialize = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1.0.0" } },
  });
  return [
    "  The demo server (tools echo, add, current_time; resource demo://readme; prompt greeting) runs as a",
    `  stdio child of this proxy, which serves it over streamable HTTP at ${url}. Try it:`,
    `    npx @modelcontextprotocol/inspector --cli ${url} --transport http --method tools/list`,
    `    npx @modelcontextprotocol/inspector      (UI: transport "Streamable HTTP", URL ${url})`,
    `    curl -si ${url} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '${initialize}'`,
    "  Press Ctrl+C to stop.",
  ];
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** proxy.close() (which ends stdio children: stdin closed, SIGTERM, SIGKILL), bounded in time. */
async function closeWithin(proxy: FastMCPProxy, logger: Logger, settled?: Promise<void>, options: { force?: boolean } = {}): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn(`backends did not close within ${CLOSE_TIMEOUT_MS} ms`);
      resolve();
    }, CLOSE_TIMEOUT_MS);
  });
  const close = async () => {
    await proxy.close(options).catch((error: unknown) => logger.warn(`closing: ${oneLine(String((error as Error)?.message ?? error))}`));
    if (settled) {
      await settled;
      await proxy.close().catch(() => {});
    }
  };
  try {
    await Promise.race([close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a line may wait for others before stderr is written, and how much text may wait. */
const STDERR_BATCH_MS = 20;
const STDERR_BATCH_CHARS = 8192;

/**
 * stderr written in batches: at most STDERR_BATCH_MS after a line, sooner once STDERR_BATCH_CHARS
 * wait, and what is left at exit. A pipe on Linux is written synchronously and each write wakes its
 * reader: with one request line per call, a write per turn of the event loop was still a visible
 * share of the CLI's cost (docs/performance.md, "The CLI's own cost").
 */
function batchedStderr(): (text: string) => void {
  // A stderr whose reader went away drops the lines (never an uncaught EPIPE looping through the
  // error handler); with stdout gone too, nobody is left: shut down as on SIGTERM.
  const write = safeStderr(process.stderr, () => process.kill(process.pid, "SIGTERM"));
  let queued = "";
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const text = queued;
    queued = "";
    if (text) write(text);
  };
  process.once("exit", flush);
  return (text) => {
    queued += text;
    if (queued.length >= STDERR_BATCH_CHARS) flush();
    else timer ??= setTimeout(flush, STDERR_BATCH_MS);
  };
}

/** The TLS files, read now: one that cannot be read stops start-up with its path and why. */
function readTls(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new UsageError(`${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  };
  return { cert: read("--tls-cert", files.certFile), key: read("--tls-key", files.keyFile) };
}

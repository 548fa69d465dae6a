import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { DependencyContainer } from "tsyringe";
import type { Backend } from "./backends/backend.js";
import type { BackendHealth } from "./backends/supervision.js";
import { BackendSet } from "./backends/backend-set.js";
import { proxyConnector } from "./backends/connectors.js";
import type { MCPConfig } from "./backends/config.js";
import type { BackendPool, CredentialsProvider } from "./backends/pool.js";
import type { ReloadResult } from "./backends/reload.js";
import { resolveBackends, type BackendSpec } from "./backends/resolve.js";
import type { ComponentRegistry } from "./components/registry.js";
import { createProxyDeps } from "./container.js";
import { ProxyError, ProxyErrorCode } from "./errors.js";
import { ProxyEventBus, type ProxyEventListener, type ProxyEventName } from "./events.js";
import type { Logger } from "./logger.js";
import type { ProxyMethod, ResultOf } from "./methods.js";
import type { Middleware, ProxyMiddleware } from "./middleware/compose.js";
import type { AnsweredContext, AnyProxyContext } from "./middleware/context.js";
import { positive, type MountOptions, type ProxyHealth, type ProxyOptions, type ResolvedOptions, type RunOptions, type RunningProxy } from "./options.js";
import { MemoryEventStore } from "./serve/event-store.js";
import { FrontSession, type FrontSessionOptions } from "./serve/front-session.js";
import { HTTP_LIMITS, applyServerTimeouts, isLoopback, loopbackHosts } from "./serve/http-guards.js";
import { createHttpHandler, type HttpFrontOptions, type HttpHandler } from "./serve/http.js";
import { SessionHost } from "./pipeline/session-host.js";
import { StdioFrontTransport } from "./serve/stdio.js";
import { serveStdioFront, type ModernFrontHost, type StdioFront } from "./eras/index.js";

/** What the composition root hands a proxy. */
export interface ProxyDeps {
  options: ResolvedOptions;
  logger: Logger;
  backends: Backend[];
  registry: ComponentRegistry;
  /** A new, empty mirror: one per capability profile the proxy's clients declare. */
  newRegistry: () => ComponentRegistry;
  pool: BackendPool;
  container?: DependencyContainer;
}

/**
 * An MCP server that fronts one or many MCP servers. Subclass it and override `beforeForward`
 * and `afterForward`, or add middleware with `use()`.
 */
export class FastMCPProxy {
  /** Builds a proxy (of the class it is called on) for any backend form. Connects on `start()`/`run()`. */
  static asProxy<T extends FastMCPProxy>(this: new (deps: ProxyDeps) => T, backend: BackendSpec, options: ProxyOptions = {}): T {
    return new this(createProxyDeps(backend, options));
  }

  /** The mirror as a client that declares every capability the proxy relays sees it. */
  readonly registry: ComponentRegistry;
  readonly logger: Logger;
  readonly #options: ResolvedOptions;
  readonly #pool: BackendPool;
  readonly #container: DependencyContainer | undefined;
  readonly #events: ProxyEventBus;
  readonly #host: SessionHost;
  readonly #backends: Backend[];
  readonly #mounted: FastMCPProxy[] = [];
  /** The backends' lifecycle: start, reload, supervision. */
  readonly #set: BackendSet;
  #draining = false;
  #http: { server: HttpServer; handler: HttpHandler } | undefined;
  #stdio: StdioFront | undefined;

  constructor(deps: ProxyDeps) {
    this.#options = deps.options;
    this.logger = deps.logger;
    this.#backends = [...deps.backends];
    this.registry = deps.registry;
    this.#pool = deps.pool;
    this.#container = deps.container;
    this.#events = new ProxyEventBus(deps.logger);
    this.#host = new SessionHost({
      ...deps,
      backends: this.#backends,
      events: this.#events,
      unavailable: (backend) => this.#set.supervision.unavailable(backend),
      sharedLost: (backend, capabilities) => this.#set.supervision.lost(backend, capabilities),
      hooks: { beforeForward: (ctx) => this.beforeForward(ctx), afterForward: (ctx) => this.afterForward(ctx) },
    });
    this.#set = new BackendSet({ ...deps, list: this.#backends, events: this.#events, host: this.#host });
    if (deps.options.failMode === "closed") this.#host.listGuard = () => this.#set.supervision.refuseListsWhileDown();
  }

  // ── Extension points ────────────────────────────────────────────────────────

  /** Adds middleware for every method, or for one: `use("tools/call", mw)`. Runs in registration order. */
  use(middleware: Middleware): this;
  use<M extends ProxyMethod>(method: M, middleware: ProxyMiddleware<M>): this;
  use(method: ProxyMethod, middleware: Middleware): this;
  use(first: ProxyMethod | Middleware, second?: ProxyMiddleware<ProxyMethod> | Middleware): this {
    if (typeof first === "function") this.#host.dispatcher.use(undefined, first);
    else this.#host.dispatcher.use(first, second!);
    return this;
  }

  /** Runs before any middleware, for every forwarded request; throw (e.g. a ProxyError) to refuse it. */
  protected beforeForward(_ctx: AnyProxyContext): void | Promise<void> {}

  /**
   * Runs after all middleware with the final result (`ctx.result`, cached or not); return it, or a
   * replacement. Narrowing on `ctx.method` narrows `ctx.result`.
   */
  protected afterForward(ctx: AnsweredContext): ResultOf<ProxyMethod> | Promise<ResultOf<ProxyMethod>> {
    return ctx.result;
  }

  /** Listens to backend events (list changes, resource updates, losses, restarts); returns the way to stop. */
  on<E extends ProxyEventName>(event: E, listener: ProxyEventListener<E>): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Supplies credentials for each backend session as it is opened, for its tenant (`owner.tenant`;
   * undefined: the proxy's own discovery). A provider whose `perCaller(backend)` is true for a
   * backend makes it per caller: served only per tenant, and never to an anonymous caller.
   */
  credentials(provider: CredentialsProvider): this {
    this.#pool.credentials = provider;
    this.#host.router.perCaller = (backend) => provider.perCaller?.(backend) ?? false;
    return this;
  }

  /**
   * Whether `backend` acts with each caller's own credentials (the credentials provider's
   * `perCaller`): what it answers one caller must never reach another (caches partition it by tenant).
   */
  isPerCaller(backend: Backend): boolean {
    return this.#host.router.perCaller(backend);
  }

  // ── Composition ─────────────────────────────────────────────────────────────

  /** Every mounted backend, in mount order. */
  get backends(): readonly Backend[] {
    return this.#backends;
  }

  /**
   * Adds another proxy, an in-process server, or any backend spec to this gateway, before start().
   * With a `namespace` its components are prefixed like a config server's. Without one they are
   * this proxy's own (local) components, and win over mirrored components of the same name.
   * A mounted proxy keeps its own hooks and middleware, and gets a front session per session here.
   */
  mount(target: FastMCPProxy | BackendSpec, options: MountOptions = {}): this {
    if (this.#set.starting) throw new Error("mount() components before start() or run()");
    const { namespace, ...rules } = options;
    const hasRules = rules.include || rules.exclude || rules.tools;
    const mounted: Backend[] =
      target instanceof FastMCPProxy
        ? [{ name: namespace ?? "mounted proxy", prefix: undefined, connector: proxyConnector(target), timeoutMs: undefined }]
        : resolveBackends(target, this.logger);
    if (target instanceof FastMCPProxy) this.#mounted.push(target);
    for (const backend of mounted) {
      const prefix = [namespace, backend.prefix].filter((p) => p !== undefined).join("_") || undefined;
      this.#backends.push({
        ...backend,
        name: namespace === undefined ? `local:${backend.name}` : backend.prefix ? prefix! : namespace,
        prefix,
        local: namespace === undefined,
        rules: hasRules ? rules : backend.rules,
      });
    }
    return this;
  }

  // ── Lifecycle ───────────────────────────────────────────────────────────────

  /** Whether start() has finished: every reachable backend connected and mirrored. */
  get started(): boolean {
    return this.#set.ready;
  }

  /** Front sessions open now (clients connected). */
  get sessions(): number {
    return this.#host.sessions.size;
  }

  /** Requests being served now, from every front (what `drain()` waits for). */
  get inFlight(): number {
    return this.#host.dispatcher.inFlight;
  }

  /** What the proxy tells clients it can do: what its backends can, mirrored. */
  get capabilities(): ServerCapabilities {
    return this.#host.capabilities;
  }

  /** Connects every backend and mirrors its components. Idempotent. */
  start(): Promise<void> {
    return this.#set.start();
  }

  /**
   * Applies a new config (an `{ mcpServers }` object, or the path of a config file) to the servers
   * the proxy was made with, by name: removed servers leave (their sessions closed, calls in flight
   * on them fail), added ones are connected as at start, changed ones are replaced, the others are
   * untouched; clients then get list_changed. An invalid config or a name collision rejects and
   * changes nothing. Reloads run one at a time. See docs/gateway.md, "Reload".
   */
  reload(config: MCPConfig | string): Promise<ReloadResult> {
    return this.#set.reload(config);
  }

  /** Serves one client on a transport (stdio, in-memory, or any SDK server transport). */
  async connect(transport: Transport): Promise<FrontSession> {
    await this.start();
    const session = this.#newSession();
    await session.connect(transport);
    return session;
  }

  /** Starts and serves on stdio, streamable HTTP or SSE. */
  async run(options: RunOptions = {}): Promise<RunningProxy> {
    const transport = options.transport ?? "stdio";
    const { maxInFlightPerBackend, maxInFlightPerCaller, ...limits } = options.limits ?? {};
    if (maxInFlightPerBackend !== undefined) this.#options.maxInFlightPerBackend = positive("limits.maxInFlightPerBackend", maxInFlightPerBackend)!;
    if (maxInFlightPerCaller !== undefined) this.#options.maxInFlightPerCaller = positive("limits.maxInFlightPerCaller", maxInFlightPerCaller)!;
    await this.start();
    if (transport === "stdio") {
      this.#host.singleFront = true;
      // Both eras: the client's first message decides (eras/stdio-front.ts).
      this.#stdio = serveStdioFront(this.modernFrontHost(), new StdioFrontTransport(), options.modern);
      return { transport, closed: this.#stdio.closed };
    }
    const host = options.host ?? "127.0.0.1";
    const { port: _, host: __, transport: ___, resumable, stateless, limits: ____, tls: _____, ...front } = options;
    const loopback = isLoopback(host);
    const unguarded = rebindingWarning(host, options.allowedHosts);
    if (unguarded) this.logger.warn(unguarded);
    // Made once the port is known: on loopback, Host and Origin must name this port too.
    let handler!: HttpHandler;
    const serverOptions = { connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void handler(req, res);
    const server: HttpServer = options.tls ? createTlsServer({ ...serverOptions, ...options.tls }, onRequest) : createServer(serverOptions, onRequest);
    // Slow clients (slowloris): headers within 10 s, a whole request within 30 s.
    applyServerTimeouts(server, limits);
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "EADDRINUSE"
            ? new ProxyError(ProxyErrorCode.InvalidConfig, `Port ${options.port ?? 8000} on ${host} is in use: choose another with --port`)
            : error,
        ),
      );
      server.listen(options.port ?? 8000, host, resolve);
    });
    const { port } = server.address() as AddressInfo;
    handler = this.httpHandler({
      ...front,
      limits,
      sse: transport === "sse",
      ...(stateless ? { stateless: true } : {}),
      ...(resumable && !front.eventStore ? { eventStore: () => new MemoryEventStore() } : {}),
      ...(options.allowedHosts ? {} : loopback ? { allowedHosts: loopbackHosts(port) } : {}),
    });
    this.#http = { server, handler };
    const base = `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return { transport, url: transport === "sse" ? `${base}/sse` : `${base}${options.path ?? "/mcp"}` };
  }

  /**
   * A Node request handler serving this proxy over streamable HTTP (and SSE), to mount in your own
   * server. It starts the proxy on its first request if start() has not been called.
   */
  httpHandler(options: HttpFrontOptions = {}): HttpHandler {
    return createHttpHandler({ logger: this.logger, start: () => this.start(), newSession: (o) => this.#newSession(o), modern: this.modernFrontHost() }, options);
  }

  #newSession(options?: FrontSessionOptions): FrontSession {
    return new FrontSession(this.#host, options);
  }

  /**
   * Advanced: what a 2026-07-28 front is served through (`createModernFront`, `serveStdioFront`):
   * the same pipeline as every front, and a legacy session for a legacy stdio client.
   */
  modernFrontHost(): ModernFrontHost {
    const host = this.#host;
    return {
      logger: this.logger,
      get serverInfo() {
        return host.serverInfo;
      },
      get capabilities() {
        return host.capabilities;
      },
      get instructions() {
        return host.instructions;
      },
      handle: (method, params, call) => host.handle(method, params, call),
      connectLegacy: async (transport) => {
        const session = this.#newSession();
        await session.connect(transport);
        return session;
      },
      on: (event, listener) => this.#events.on(event, listener),
    };
  }

  /**
   * Whether each backend answers a ping (or, with `ping: false`, has its session open), through the
   * proxy's own supervision: a session found lost is restarted as any other loss.
   */
  async health(options: { timeoutMs?: number; ping?: boolean } = {}): Promise<ProxyHealth> {
    if (!this.#set.ready) return { started: false, backends: this.#backends.map((b) => ({ name: b.name, status: "down", error: "not started" })) };
    const backends = await this.#set.supervision.health(this.#backends, options);
    // A backend whose clients' sessions keep crashing is down too, however its shared session fares.
    const reported = backends.map((health, i): BackendHealth => {
      const crashing = this.#host.router.crashLoop(this.#backends[i]!);
      return crashing ? { name: health.name, status: "down", error: crashing } : health;
    });
    return { started: true, ...(this.#draining && { draining: true }), backends: reported };
  }

  /**
   * Begins a graceful shutdown: `health()` reports `draining` (readiness fails), HTTP fronts refuse
   * new sessions with 503, and requests in flight go on. Settles once none is in flight, or after
   * `timeoutMs` (default 10 s); then `close()`: a request still running gets a JSON-RPC error.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    this.#draining = true;
    this.#http?.handler.drain();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /**
   * Stops the fronts, closes every session and backend (children included). With `force` (a second
   * Ctrl+C, say), children get SIGTERM at once, those already closing included.
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) await this.#pool.closeAll({ force: true });
    this.#set.stop();
    if (this.#http) {
      const { server, handler } = this.#http;
      this.#http = undefined;
      await handler.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await this.#stdio?.close();
    await Promise.all([...this.#host.sessions].map((s) => s.close()));
    await this.#pool.closeAll();
    await Promise.all(this.#mounted.map((p) => p.close()));
    await this.#container?.dispose();
  }
}

/** The loud warning for an HTTP front that no Host/Origin check guards (bound beyond loopback, no allowed hosts), if it is one. */
export function rebindingWarning(host: string, allowedHosts: readonly string[] | undefined): string | undefined {
  if (isLoopback(host) || allowedHosts) return undefined;
  return (
    `serving on ${host}, not a loopback address, with no allowed hosts: Host and Origin are NOT checked (no DNS-rebinding protection). ` +
    "Set allowedHosts to the names clients use, or bind to 127.0.0.1."
  );
}

import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  McpError,
  type Implementation,
  type JSONRPCRequest,
  type Notification,
  type Result,
  type ServerCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { DependencyContainer } from "tsyringe";
import { describe, type Backend } from "./backends/backend.js";
import { proxyConnector } from "./backends/connectors.js";
import type { BackendPool, BackendSink } from "./backends/pool.js";
import { resolveBackends, type BackendSpec } from "./backends/resolve.js";
import { BackendSupervisor } from "./backends/supervisor.js";
import type { ComponentRules } from "./components/rules.js";
import type { ComponentKind, ComponentRegistry } from "./components/registry.js";
import { pageOf } from "./components/pages.js";
import { createProxyDeps } from "./container.js";
import { ProxyError, ProxyErrorCode, plainMessage, toMcpError } from "./errors.js";
import type { Logger } from "./logger.js";
import { compose, type Middleware, type ProxyMiddleware, type Terminal } from "./middleware/compose.js";
import type { AnyComponent, AnyProxyContext, ProxyContext } from "./middleware/context.js";
import type { ParamsOf, ProxyMethod, ResultOf } from "./methods.js";
import type { ProxyOptions, ResolvedOptions } from "./options.js";
import { FrontSession, type FrontExtra, type FrontHost } from "./serve/front-session.js";
import { LeanStdioServerTransport } from "./serve/stdio.js";
import { MemoryEventStore } from "./serve/streamable-http.js";
import { taskOf } from "./serve/tasks.js";
import { LOOPBACK_HOSTS, createHttpHandler, type HttpFrontOptions, type HttpHandler, type HttpRoute } from "./serve/http.js";

/** What the composition root hands a proxy. */
export interface ProxyDeps {
  options: ResolvedOptions;
  logger: Logger;
  backends: Backend[];
  registry: ComponentRegistry;
  pool: BackendPool;
  container?: DependencyContainer;
}

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
  /** Extra HTTP routes tried before the MCP endpoint (e.g. /metrics, /healthz). */
  routes?: HttpRoute[];
  /** Keep each session's recent events (bounded, in memory) so clients can resume streams with Last-Event-ID. */
  resumable?: boolean;
}

export interface MountOptions extends ComponentRules {
  /** Prefix for the mounted components (`{namespace}_{tool}`, `scheme://{namespace}/...`). */
  namespace?: string;
}

export interface RunningProxy {
  transport: "stdio" | "http" | "sse";
  /** Where clients connect (http: the MCP endpoint; sse: the /sse stream). */
  url?: string;
}

interface MiddlewareEntry {
  method: ProxyMethod | undefined;
  fn: ProxyMiddleware<ProxyMethod>;
}

/** Each list_changed notification, and the kind of component it is about. */
const LIST_KINDS: Record<string, ComponentKind> = {
  "notifications/tools/list_changed": "tools",
  "notifications/resources/list_changed": "resources",
  "notifications/prompts/list_changed": "prompts",
};

/**
 * An MCP server that fronts one or many MCP servers. Subclass it and override `beforeForward`
 * and `afterForward`, or add middleware with `use()`.
 */
export class FastMCPProxy implements FrontHost {
  /** Builds a proxy (of the class it is called on) for any backend form. Connects on `start()`/`run()`. */
  static asProxy<T extends FastMCPProxy>(this: new (deps: ProxyDeps) => T, backend: BackendSpec, options: ProxyOptions = {}): T {
    return new this(createProxyDeps(backend, options));
  }

  readonly registry: ComponentRegistry;
  readonly logger: Logger;
  readonly pool: BackendPool;
  readonly #options: ResolvedOptions;
  readonly #container: DependencyContainer | undefined;
  readonly #middleware: MiddlewareEntry[] = [];
  readonly #chains = new Map<ProxyMethod, Terminal<ProxyMethod>>();
  readonly #sessions = new Set<FrontSession>();
  #connected: Backend[] = [];
  readonly #backendCaps = new Map<Backend, ServerCapabilities>();
  #started: Promise<void> | undefined;
  readonly #backends: Backend[];
  readonly #mounted: FastMCPProxy[] = [];
  #capabilities: ServerCapabilities = {};
  #instructions: string | undefined;
  #singleFront = false;
  #closing = false;
  readonly #supervisor: BackendSupervisor | undefined;
  #ready = false;
  #http: { server: HttpServer; handler: HttpHandler } | undefined;

  constructor(deps: ProxyDeps) {
    this.#options = deps.options;
    this.logger = deps.logger;
    this.#backends = [...deps.backends];
    this.registry = deps.registry;
    this.pool = deps.pool;
    this.#container = deps.container;
    const restart = deps.options.restart;
    this.#supervisor = restart === false ? undefined : new BackendSupervisor(restart, this.logger, (backend) => this.#recover(backend));
  }

  // ── Extension points ────────────────────────────────────────────────────────

  /** Adds middleware for every method, or for one: `use("tools/call", mw)`. Runs in registration order. */
  use(middleware: Middleware): this;
  use<M extends ProxyMethod>(method: M, middleware: ProxyMiddleware<M>): this;
  use(first: ProxyMethod | Middleware, second?: ProxyMiddleware<ProxyMethod>): this {
    const entry = typeof first === "function" ? { method: undefined, fn: first } : { method: first, fn: second! };
    this.#middleware.push(entry as MiddlewareEntry);
    this.#chains.clear();
    return this;
  }

  /** Runs before any middleware, for every forwarded request; throw (e.g. a ProxyError) to refuse it. */
  protected beforeForward(_ctx: AnyProxyContext): void | Promise<void> {}

  /** Runs after all middleware with the final result (cached or not); return a replacement to change it. */
  protected afterForward<M extends ProxyMethod>(_ctx: ProxyContext<M>, result: ResultOf<M>): ResultOf<M> | Promise<ResultOf<M>> {
    return result;
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
    if (this.#started) throw new Error("mount() components before start() or run()");
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
    return this.#ready;
  }

  /** Connects every backend and mirrors its components. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const results = await Promise.allSettled(
      this.backends.map(async (backend) => {
        const client = await this.primary(backend);
        await this.registry.discover(backend, client);
        return backend;
      }),
    );
    const failures = results.flatMap((r, i) => (r.status === "rejected" ? [{ backend: this.backends[i]!, error: r.reason }] : []));
    this.#connected = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    if (this.#connected.length === 0) {
      await this.pool.closeAll();
      throw failures.length === 1 ? toMcpError(failures[0]!.error) : new ProxyError(ProxyErrorCode.BackendUnavailable,
        `No backend could be reached: ${failures.map((f) => plainMessage(f.error)).join("; ")}`);
    }
    for (const { backend, error } of failures) {
      this.logger.warn(`backend ${describe(backend)} left out for now: ${plainMessage(error)}`);
      this.#supervisor?.lost(backend, plainMessage(error));
    }
    if (this.registry.collisions.length > 0) {
      this.#supervisor?.stop();
      await this.pool.closeAll();
      throw new ProxyError(ProxyErrorCode.InvalidConfig, `Name collision: ${this.registry.collisions.join("; ")}`);
    }
    const clients = await Promise.all(this.#connected.map((b) => this.primary(b)));
    this.#connected.forEach((backend, i) => this.#backendCaps.set(backend, clients[i]!.getServerCapabilities() ?? {}));
    this.#capabilities = mirrorCapabilities([...this.#backendCaps.values()]);
    this.#instructions = this.#options.instructions ?? (clients.length === 1 ? clients[0]!.getInstructions() : undefined);
    this.#ready = true;
  }

  /** Serves one client on a transport (stdio, in-memory, or any SDK server transport). */
  async connect(transport: Transport): Promise<FrontSession> {
    await this.start();
    const session = this.newSession();
    await session.connect(transport);
    return session;
  }

  /** Starts and serves on stdio, streamable HTTP or SSE. */
  async run(options: RunOptions = {}): Promise<RunningProxy> {
    const transport = options.transport ?? "stdio";
    await this.start();
    if (transport === "stdio") {
      this.#singleFront = true;
      await this.connect(new LeanStdioServerTransport());
      return { transport };
    }
    const host = options.host ?? "127.0.0.1";
    const loopback = LOOPBACK_HOSTS.includes(host);
    const handler = this.httpHandler({
      ...(options.path ? { path: options.path } : {}),
      sse: transport === "sse",
      ...(options.stateless ? { stateless: true } : {}),
      ...(options.routes ? { routes: options.routes } : {}),
      ...(options.resumable ? { eventStore: () => new MemoryEventStore() } : {}),
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : loopback ? { allowedHosts: LOOPBACK_HOSTS } : {}),
    });
    const server = createServer((req, res) => void handler(req, res));
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
    this.#http = { server, handler };
    const { port } = server.address() as AddressInfo;
    const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return { transport, url: transport === "sse" ? `${base}/sse` : `${base}${options.path ?? "/mcp"}` };
  }

  /** A Node request handler serving this proxy over streamable HTTP (and SSE), to mount in your own server. */
  httpHandler(options: HttpFrontOptions = {}): HttpHandler {
    return createHttpHandler({ logger: this.logger, newSession: (o) => this.newSession(o) }, options);
  }

  /** A front session not yet connected; `connect()` and the HTTP front make these. */
  newSession(options?: { shared?: boolean }): FrontSession {
    if (!this.#started) throw new Error("start() the proxy before opening sessions");
    const session = new FrontSession(this, options);
    this.#sessions.add(session);
    return session;
  }

  /** Stops the fronts, closes every session and backend (children included). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#supervisor?.stop();
    if (this.#http) {
      const { server, handler } = this.#http;
      this.#http = undefined;
      await handler.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await Promise.all([...this.#sessions].map((s) => s.close()));
    await this.pool.closeAll();
    await Promise.all(this.#mounted.map((p) => p.close()));
    await this.#container?.dispose();
  }

  // ── The request path ────────────────────────────────────────────────────────

  /** Every forwarded request: beforeForward → middleware → component → backend → afterForward. */
  async handle(session: FrontSession, request: JSONRPCRequest, extra: FrontExtra): Promise<Result> {
    const method = request.method as ProxyMethod;
    if (!this.#supports(method)) throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    const params = (request.params ?? {}) as ParamsOf<ProxyMethod>;
    const ctx = {
      method,
      params,
      component: this.#target(method, params as Record<string, unknown>),
      session,
      sessionId: extra.sessionId,
      requestId: extra.requestId,
      authInfo: extra.authInfo,
      signal: extra.signal,
      state: {},
    } as ProxyContext;
    try {
      await this.beforeForward(ctx as AnyProxyContext);
      const result = await this.#chain(method)(ctx);
      return (await this.afterForward(ctx, result)) as Result;
    } catch (error) {
      throw toMcpError(error);
    }
  }

  #chain(method: ProxyMethod): Terminal<ProxyMethod> {
    let chain = this.#chains.get(method);
    if (!chain) {
      const layers = this.#middleware.filter((m) => m.method === undefined || m.method === method).map((m) => m.fn);
      chain = compose(layers as ProxyMiddleware<ProxyMethod>[], this.#terminals[method] as Terminal<ProxyMethod>);
      this.#chains.set(method, chain);
    }
    return chain;
  }

  /** The component a request targets, found before middleware runs so middleware can see it. */
  #target(method: ProxyMethod, params: Record<string, unknown>): AnyComponent | undefined {
    switch (method) {
      case "tools/call":
        return this.registry.tool(String(params.name));
      case "prompts/get":
        return this.registry.prompt(String(params.name));
      case "resources/read":
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.registry.resource(String(params.uri));
      case "completion/complete": {
        const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
        if (ref?.type === "ref/prompt") return this.registry.prompt(String(ref.name));
        if (ref?.type === "ref/resource") return this.registry.template(String(ref.uri)) ?? this.registry.resource(String(ref.uri));
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** The innermost step of each method: answered from the mirror, or forwarded by the component. */
  readonly #terminals: { [M in ProxyMethod]: Terminal<M> } = {
    "tools/list": async (ctx) => (this.#listable(), this.#page(ctx, this.registry.listTools(), "tools")),
    "resources/list": async (ctx) => (this.#listable(), this.#page(ctx, this.registry.listResources(), "resources")),
    "resources/templates/list": async (ctx) => (this.#listable(), this.#page(ctx, this.registry.listResourceTemplates(), "resourceTemplates")),
    "prompts/list": async (ctx) => (this.#listable(), this.#page(ctx, this.registry.listPrompts(), "prompts")),
    "tools/call": (ctx) => {
      if (ctx.component?.kind !== "tool") throw new McpError(ErrorCode.InvalidParams, `Unknown tool: "${ctx.params.name}"`);
      return ctx.component.forward(ctx);
    },
    "prompts/get": (ctx) => {
      if (ctx.component?.kind !== "prompt") throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: "${ctx.params.name}"`);
      return ctx.component.forward(ctx);
    },
    "resources/read": (ctx) => {
      const target = ctx.component;
      if (target?.kind !== "resource" && target?.kind !== "template") throw resourceNotFound(ctx.params.uri);
      return target.forward(ctx);
    },
    "resources/subscribe": (ctx) => this.#forwardUri(ctx),
    "resources/unsubscribe": (ctx) => this.#forwardUri(ctx),
    "completion/complete": (ctx) => {
      const target = ctx.component;
      const ref = ctx.params.ref;
      if (!target) throw new McpError(ErrorCode.InvalidParams, `Unknown completion reference: ${JSON.stringify(ref)}`);
      const backendRef =
        target.kind === "prompt" ? { ...ref, name: target.backendName }
        : target.kind === "template" ? { ...ref, uri: target.definition.uriTemplate }
        : target.kind === "resource" ? { ...ref, uri: target.definition.uri }
        : ref;
      return ctx.session.forward(target.backend, "completion/complete", { ...ctx.params, ref: backendRef }, ctx);
    },
    "logging/setLevel": async (ctx) => {
      const logging = this.#connected.filter((b) => this.#backendCaps.get(b)?.logging);
      await Promise.all(logging.map((backend) => ctx.session.forward(backend, "logging/setLevel", ctx.params, ctx)));
      return {};
    },
    // Tasks go to the backend that created them (see FrontSession.forwardTask).
    "tasks/get": (ctx) => ctx.session.forwardTask(this.#taskBackends(), ctx),
    "tasks/result": (ctx) => ctx.session.forwardTask(this.#taskBackends(), ctx),
    "tasks/cancel": (ctx) => ctx.session.forwardTask(this.#taskBackends("cancel"), ctx),
    "tasks/list": (ctx) => ctx.session.listTasks(this.#taskBackends("list"), ctx),
  };

  /** One page of a mirrored list (the whole list unless `pageSize` is set). */
  #page<R extends object>(ctx: ProxyContext, list: R, key: keyof R & string): R {
    const cursor = (ctx.params as { cursor?: string } | undefined)?.cursor;
    return pageOf(ctx.method, list, key, cursor, this.#options.pageSize);
  }

  /** The connected backends with tasks (and, if named, that task feature). */
  #taskBackends(feature?: "list" | "cancel"): Backend[] {
    return this.#connected.filter((b) => {
      const tasks = this.#backendCaps.get(b)?.tasks;
      return tasks && (!feature || tasks[feature]);
    });
  }

  #forwardUri(ctx: ProxyContext<"resources/subscribe" | "resources/unsubscribe">): Promise<Result> {
    const target = ctx.component;
    if (target?.kind !== "resource" && target?.kind !== "template") throw resourceNotFound(ctx.params.uri);
    return ctx.session.forward(target.backend, ctx.method, { ...ctx.params, uri: target.backendUri(ctx.params.uri) }, ctx);
  }

  #supports(method: string): boolean {
    const caps = this.#capabilities;
    switch (method) {
      case "tools/list":
      case "tools/call":
        return !!caps.tools;
      case "resources/list":
      case "resources/templates/list":
      case "resources/read":
        return !!caps.resources;
      case "resources/subscribe":
      case "resources/unsubscribe":
        return !!caps.resources?.subscribe;
      case "prompts/list":
      case "prompts/get":
        return !!caps.prompts;
      case "completion/complete":
        return !!caps.completions;
      case "logging/setLevel":
        return !!caps.logging;
      case "tasks/get":
      case "tasks/result":
        return !!caps.tasks;
      case "tasks/list":
        return !!caps.tasks?.list;
      case "tasks/cancel":
        return !!caps.tasks?.cancel;
      default:
        return false;
    }
  }

  // ── Backend health ──────────────────────────────────────────────────────────

  /** A backend's primary session; losing it marks the backend down and starts restarting it. */
  primary(backend: Backend): Promise<Client> {
    return this.pool.primary(backend, this.primarySink, () => this.#lost(backend));
  }

  /** Why calls to this backend fail fast right now (its breaker is open), if they do. */
  unavailable(backend: Backend): string | undefined {
    return this.#supervisor?.breakerOpen(backend);
  }

  #lost(backend: Backend): void {
    if (this.#closing || !this.#supervisor) return;
    this.logger.warn(`backend ${describe(backend)} was lost; restarting it`);
    this.registry.setDown(backend, true);
    this.#supervisor.lost(backend, "its connection closed");
    this.#announceLists();
  }

  /** Reconnects a lost backend and mirrors it again (called by the supervisor, with backoff). */
  async #recover(backend: Backend): Promise<void> {
    const client = await this.primary(backend);
    await this.registry.discover(backend, client);
    this.#backendCaps.set(backend, client.getServerCapabilities() ?? {});
    if (!this.#connected.includes(backend)) this.#connected.push(backend);
    this.registry.setDown(backend, false);
    this.#announceLists();
  }

  /** Fail-closed: while a backend is down, lists fail rather than leave it out. */
  #listable(): void {
    if (this.#options.failMode !== "closed") return;
    const down = this.#supervisor?.anyDown ?? [];
    if (down.length > 0) {
      throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${down.map(describe).join(", ")} is down; lists are refused until it is back`);
    }
  }

  #announceLists(): void {
    for (const session of this.#sessions) {
      for (const method of Object.keys(LIST_KINDS)) void session.notify({ method } as Notification);
    }
  }

  // ── FrontHost: what front sessions ask of the proxy ─────────────────────────

  get serverInfo(): Implementation {
    return { name: this.#options.name, version: this.#options.version };
  }

  get capabilities(): ServerCapabilities {
    return this.#capabilities;
  }

  get instructions(): string | undefined {
    return this.#instructions;
  }

  get timeouts(): { requestMs: number; maxTotalMs: number } {
    return { requestMs: this.#options.timeoutMs, maxTotalMs: this.#options.maxTimeoutMs };
  }

  get sessionLimits(): { maxSessions: number; idleTimeoutMs: number } {
    return { maxSessions: this.#options.maxSessions, idleTimeoutMs: this.#options.idleTimeoutMs };
  }

  isolates(backend: Backend): boolean {
    const mode = this.#options.sessions ?? (this.#singleFront ? "shared" : "isolated");
    return mode === "isolated" && backend.connector.isolatable;
  }

  /**
   * Traffic from primary (shared) sessions: list changes refresh the mirror; the rest goes to the
   * client it can be attributed to without doubt (see `#owner`), and is never broadcast.
   */
  readonly primarySink: BackendSink = {
    notification: (backend, notification) => {
      if (LIST_KINDS[notification.method]) return this.listChanged(backend, notification.method);
      const owner = this.#owner(backend, taskOf(notification));
      if (owner && notification.method === "notifications/tasks/status") owner.session.observeTask(backend, notification.params);
      if (owner) void owner.session.notify(notification, owner.via);
      else this.logger.debug(`dropped ${notification.method} from ${describe(backend)}: no single client owns the shared session now`);
    },
    request: async (backend, request, signal) => {
      const owner = this.#owner(backend, taskOf(request));
      if (!owner) {
        throw new McpError(ErrorCode.InvalidRequest,
          `${request.method} from ${describe(backend)} cannot be routed: no single client of the shared session (${this.#sessions.size} connected) is waiting on it`);
      }
      return owner.session.request(backend, request, signal, owner.via);
    },
  };

  /**
   * Who a shared session's server→client message belongs to: the client that created the task it
   * is about (a task status, or a message with a related task), else the one request waiting on
   * that backend (on its stream), else the one client with requests waiting on it, else the one
   * client connected. Anything else is ambiguous (undefined).
   */
  #owner(backend: Backend, taskId?: string): { session: FrontSession; via?: FrontExtra } | undefined {
    if (taskId !== undefined) {
      const creator = [...this.#sessions].find((session) => session.ownsTask(backend, taskId));
      if (creator) {
        const via = creator.sharedCalls(backend);
        return via.length === 1 ? { session: creator, via: via[0]! } : { session: creator };
      }
    }
    const waiting = [...this.#sessions].flatMap((session) => session.sharedCalls(backend).map((via) => ({ session, via })));
    if (waiting.length === 1) return waiting[0];
    const owners = new Set(waiting.map((w) => w.session));
    if (owners.size === 1) return { session: waiting[0]!.session };
    if (owners.size === 0) {
      const only = this.#onlySession();
      return only && { session: only };
    }
    return undefined;
  }

  /** A backend's list changed: mirror it again, then tell every client. */
  listChanged(backend: Backend, method: string): void {
    const kind = LIST_KINDS[method];
    if (!kind) return;
    void (async () => {
      const client = await this.primary(backend);
      await this.registry.discover(backend, client, [kind]);
      await Promise.all([...this.#sessions].map((s) => s.notify({ method } as Notification)));
    })().catch((error) => this.logger.warn(`refreshing ${kind} of ${describe(backend)} failed: ${plainMessage(error)}`));
  }

  /**
   * A client's roots changed. Its own backend sessions were told by its front session; a shared
   * backend session is told only when this is its one client (a stdio front, say), since with
   * several clients the backend could not know whose roots changed.
   */
  rootsChanged(session: FrontSession): void {
    if (this.#onlySession() !== session) return;
    for (const backend of this.#connected) {
      if (!session.sharesSession(backend)) continue;
      void this.primary(backend)
        .then((client) => client.notification({ method: "notifications/roots/list_changed" }))
        .catch((error) => this.logger.debug(`could not tell ${describe(backend)} of changed roots: ${plainMessage(error)}`));
    }
  }

  detach(session: FrontSession): void {
    this.#sessions.delete(session);
  }

  #onlySession(): FrontSession | undefined {
    return this.#sessions.size === 1 ? this.#sessions.values().next().value : undefined;
  }
}

function resourceNotFound(uri: string): McpError {
  return new McpError(-32002, `Resource not found: ${uri}`, { uri });
}

/** The proxy advertises what its backends can do; list_changed always, since it re-lists on any change. */
function mirrorCapabilities(all: ServerCapabilities[]): ServerCapabilities {
  const caps: ServerCapabilities = {};
  if (all.some((c) => c.tools)) caps.tools = { listChanged: true };
  if (all.some((c) => c.resources)) caps.resources = { listChanged: true, ...(all.some((c) => c.resources?.subscribe) && { subscribe: true }) };
  if (all.some((c) => c.prompts)) caps.prompts = { listChanged: true };
  if (all.some((c) => c.logging)) caps.logging = {};
  if (all.some((c) => c.completions)) caps.completions = {};
  const tasks = all.flatMap((c) => (c.tasks ? [c.tasks] : []));
  if (tasks.length > 0) {
    caps.tasks = {
      ...(tasks.some((t) => t.list) && { list: {} }),
      ...(tasks.some((t) => t.cancel) && { cancel: {} }),
      ...(tasks.some((t) => t.requests?.tools?.call) && { requests: { tools: { call: {} } } }),
    };
  }
  return caps;
}

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  McpError,
  PingRequestSchema,
  type ClientCapabilities,
  type ListTasksResult,
  type Implementation,
  type JSONRPCRequest,
  type Notification,
  type Request,
  type RequestId,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { describe, type Backend } from "../backends/backend.js";
import { passthrough } from "../backends/passthrough.js";
import { profileKey, removed, type BackendPool, type BackendSink, type SessionOwner } from "../backends/pool.js";
import { ProxyError, ProxyErrorCode, forwardedError, plainMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ProxyContext } from "../middleware/context.js";
import { CLIENT_REQUESTS, LIST_CHANGED, relayable, type ProxyMethod, type ResultOf } from "../methods.js";
import { decodeCursor, encodeCursor } from "../components/pages.js";
import { TaskTable } from "./tasks.js";
import { InFlightLimit } from "./http-guards.js";

/** Requests in flight to one backend, from every front session: past the cap a call fails at once (never queued). */
const DEFAULT_MAX_IN_FLIGHT_PER_BACKEND = 1024;
const inFlightByBackend = new WeakMap<Backend, InFlightLimit>();
function backendInFlight(backend: Backend, max = DEFAULT_MAX_IN_FLIGHT_PER_BACKEND): InFlightLimit {
  let limit = inFlightByBackend.get(backend);
  if (!limit) inFlightByBackend.set(backend, (limit = new InFlightLimit(max, `to backend "${backend.name}"`)));
  return limit;
}

export type FrontExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a front session needs from the proxy that owns it. */
export interface FrontHost {
  readonly serverInfo: Implementation;
  readonly capabilities: ServerCapabilities;
  readonly instructions: string | undefined;
  readonly pool: BackendPool;
  readonly logger: Logger;
  readonly timeouts: { requestMs: number; maxTotalMs: number };
  /** Isolated backend sessions: at most `maxSessions` open per backend; closed after `idleTimeoutMs` unused. */
  readonly sessionLimits: { maxSessions: number; idleTimeoutMs: number; maxInFlightPerBackend?: number };
  /** Whether this backend gets a session of its own per front session. */
  isolates(backend: Backend): boolean;
  /** Every mounted backend. */
  readonly backends: readonly Backend[];
  /** A backend's shared (primary) session for a capability profile. */
  shared(backend: Backend, capabilities: ClientCapabilities): Promise<Client>;
  /** Why calls to a backend fail fast right now (a crash loop opened its breaker), if they do. */
  unavailable(backend: Backend): string | undefined;
  handle(session: FrontSession, request: JSONRPCRequest, extra: FrontExtra): Promise<Result>;
  /** A backend's list changed: refresh the mirror and tell every front session. */
  listChanged(backend: Backend, method: string): void;
  /** A backend's resources/updated: observers are told; returns it as the client should see it. */
  resourceUpdated(backend: Backend, notification: Notification): Notification;
  /** This session's client changed its roots: tell the shared backend sessions it is the only client of. */
  rootsChanged(session: FrontSession): void;
  detach(session: FrontSession): void;
}

export interface FrontSessionOptions {
  /** Reach every backend through its shared session (stateless requests, which can remember nothing). */
  shared?: boolean;
  /** A stateless HTTP request: nothing can be sent to its client but the answer. */
  stateless?: boolean;
  /** Who opened the session (the HTTP front's `authenticate`). */
  authInfo?: AuthInfo | undefined;
}

const PING_TIMEOUT_MS = 5000;

/** A backend session of this front session's own (isolated mode). */
interface IsolatedSession {
  readonly client: Promise<Client>;
  /** Requests of this session now using it. */
  busy: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** URIs subscribed through it: a session with subscriptions is never idle. */
  readonly subscriptions: Set<string>;
}

type TaskMethod = "tasks/get" | "tasks/result" | "tasks/cancel";

/**
 * One client connection to the proxy: an SDK Server on a front transport, and the backend
 * sessions that serve it. Server→client traffic from its backend sessions comes back here only.
 */
export class FrontSession implements BackendSink {
  readonly server: Server;
  readonly #host: FrontHost;
  readonly #isolated = new Map<Backend, IsolatedSession>();
  /** Backends whose own session was closed for idleness (the log level is set again on reopening). */
  readonly #reaped = new Set<Backend>();
  /** The level this client last set with logging/setLevel. */
  #logLevel: { level: unknown } | undefined;
  /** Tasks this session created, and the backend that holds each. */
  readonly #tasks = new TaskTable();
  readonly #inFlight = new Map<RequestId, FrontExtra>();
  /** Requests of this session now waiting on a backend's shared (primary) session. */
  readonly #sharedCalls = new Map<FrontExtra, Backend>();
  readonly #shared: boolean;
  readonly #stateless: boolean;
  /** The caller's AuthInfo as of its latest request (a client that refreshes its token brings a new one). */
  #authInfo: AuthInfo | undefined;
  /** Who its own backend sessions are for, read when they are used: credentials follow the latest token. */
  readonly #owner: SessionOwner;
  #profile: { capabilities: ClientCapabilities; key: string } | undefined;
  #closed = false;

  constructor(host: FrontHost, options: FrontSessionOptions = {}) {
    this.#host = host;
    this.#shared = options.shared ?? false;
    this.#stateless = options.stateless ?? false;
    this.#authInfo = options.authInfo;
    const self = this;
    this.#owner = {
      get authInfo() {
        return self.#authInfo;
      },
      get sessionId() {
        return self.id;
      },
    };
    this.server = new Server(host.serverInfo, {
      capabilities: host.capabilities,
      ...(host.instructions === undefined ? {} : { instructions: host.instructions }),
    });
    // Every request goes through the proxy's one dispatch point, unparsed, so nothing is lost.
    this.server.removeRequestHandler("logging/setLevel");
    this.server.fallbackRequestHandler = async (request, extra) => {
      this.#inFlight.set(extra.requestId, extra);
      // The HTTP front lets only the identity that opened the session use it: this is the same caller.
      if (extra.authInfo) this.#authInfo = extra.authInfo;
      try {
        return await host.handle(this, request, extra);
      } finally {
        this.#inFlight.delete(extra.requestId);
      }
    };
    this.server.fallbackNotificationHandler = async (notification) => {
      if (notification.method === "notifications/roots/list_changed") {
        for (const own of this.#isolated.values()) void own.client.then((c) => c.notification(notification)).catch(() => {});
        if (!this.#shared) host.rootsChanged(this);
      }
    };
    // A client's ping checks the whole path: the backend sessions it is using must answer too.
    this.server.setRequestHandler(PingRequestSchema, async (_request, extra) => {
      await this.#pingBackends(extra.signal);
      return {};
    });
    this.server.onclose = () => void this.close();
  }

  async #pingBackends(signal: AbortSignal): Promise<void> {
    const using = this.#host.backends.filter((backend) => (this.sharesSession(backend) ? !this.#host.unavailable(backend) : this.#isolated.has(backend)));
    await Promise.all(
      using.map(async (backend) => {
        try {
          await (await this.client(backend)).ping({ signal, timeout: Math.min(PING_TIMEOUT_MS, this.#host.timeouts.requestMs) });
        } catch (error) {
          throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} did not answer ping: ${plainMessage(error)}`);
        }
      }),
    );
  }

  get id(): string | undefined {
    return this.server.transport?.sessionId;
  }

  get clientCapabilities(): ClientCapabilities | undefined {
    return this.server.getClientCapabilities();
  }

  /** Who opened this session, when the front authenticates its callers. */
  get authInfo(): AuthInfo | undefined {
    return this.#authInfo;
  }

  /** The client capabilities its backend sessions declare: those it declared that the proxy relays. */
  get profile(): ClientCapabilities {
    return this.#profileOf().capabilities;
  }

  /** One key per distinct profile: sessions with the same one share mirrors and shared backend sessions. */
  get profileKey(): string {
    return this.#profileOf().key;
  }

  #profileOf(): { capabilities: ClientCapabilities; key: string } {
    if (this.#profile) return this.#profile;
    const declared = this.clientCapabilities;
    const capabilities = relayable(declared);
    const profile = { capabilities, key: profileKey(capabilities) };
    // Known for good once the client has initialized.
    if (declared) this.#profile = profile;
    return profile;
  }

  /** Requests being served right now (for diagnostics and leak checks). */
  get pending(): number {
    return this.#inFlight.size;
  }

  connect(transport: Transport): Promise<void> {
    return this.server.connect(transport);
  }

  /** Whether this session reaches `backend` through its shared shared session rather than one of its own. */
  sharesSession(backend: Backend): boolean {
    return this.#shared || !this.#host.isolates(backend);
  }

  /**
   * This session's requests now waiting on `backend`'s shared session: what the proxy routes that
   * session's server→client traffic by (see `FastMCPProxy.primarySink`).
   */
  sharedCalls(backend: Backend): FrontExtra[] {
    return [...this.#sharedCalls].flatMap(([extra, b]) => (b === backend ? [extra] : []));
  }

  /** This session's client for a backend: its own (isolated) or the shared primary. */
  client(backend: Backend): Promise<Client> {
    if (this.sharesSession(backend)) return this.#host.shared(backend, this.profile);
    return this.#isolatedSession(backend).client;
  }

  /** How many backend sessions of its own this session has open (isolated mode). */
  get isolatedSessions(): number {
    return this.#isolated.size;
  }

  /** This session's own session with `backend`, opened on first use (within the backend's maxSessions). */
  #isolatedSession(backend: Backend): IsolatedSession {
    let own = this.#isolated.get(backend);
    if (own) return own;
    // A request still running when its session closed must not open a backend session nobody would close.
    if (this.#closed) throw new McpError(ErrorCode.ConnectionClosed, "The client session has closed");
    const reopening = this.#reaped.delete(backend);
    const opened = this.#host.pool
      .open(backend, {
        capabilities: this.profile,
        sink: this,
        onclose: () => this.#lostIsolated(backend, own!),
        maxSessions: this.#host.sessionLimits.maxSessions,
        owner: this.#owner,
      })
      .then(async (client) => {
        // A session reopened after idling gets the log level its client had set.
        if (reopening && this.#logLevel && client.getServerCapabilities()?.logging) {
          await client.request({ method: "logging/setLevel", params: this.#logLevel }, passthrough).catch(() => {});
        }
        return client;
      });
    own = { client: opened, busy: 0, lastUsed: Date.now(), idleTimer: undefined, subscriptions: new Set() };
    this.#isolated.set(backend, own);
    opened.catch(() => this.#lostIsolated(backend, own!));
    return own;
  }

  /** Its own session with a backend closed (or never opened): forget it, and the tasks it held. */
  #lostIsolated(backend: Backend, own: IsolatedSession): void {
    clearTimeout(own.idleTimer);
    if (this.#isolated.get(backend) !== own) return;
    this.#isolated.delete(backend);
    this.#tasks.forget(backend);
  }

  /** Traffic on its own session with `backend`: it is in use. */
  #touch(backend: Backend): void {
    const own = this.#isolated.get(backend);
    if (own) own.lastUsed = Date.now();
  }

  #scheduleIdleCheck(backend: Backend, own: IsolatedSession, delay: number): void {
    clearTimeout(own.idleTimer);
    own.idleTimer = setTimeout(() => this.#closeIfIdle(backend, own), delay);
    own.idleTimer.unref?.();
  }

  /**
   * Closes its own session with a backend once unused for `idleTimeoutMs`: no request on it, no
   * message from it, no subscription through it and no task of this session still running on it.
   * The next request opens a new one.
   */
  #closeIfIdle(backend: Backend, own: IsolatedSession, idleMs = this.#host.sessionLimits.idleTimeoutMs): void {
    if (this.#closed || this.#isolated.get(backend) !== own || own.busy > 0) return;
    const idleFor = Date.now() - own.lastUsed;
    if (idleFor < idleMs) return this.#scheduleIdleCheck(backend, own, idleMs - idleFor);
    if (own.subscriptions.size > 0 || this.#tasks.running(backend)) return this.#scheduleIdleCheck(backend, own, idleMs);
    this.#isolated.delete(backend);
    this.#reaped.add(backend);
    this.#host.logger.debug(`closing idle session with backend ${describe(backend)} (unused for ${idleFor} ms)`);
    void own.client.then((client) => this.#host.pool.release(client), () => {});
  }

  /** Lets go now of its own backend sessions that nothing holds (no request, subscription or running task). */
  releaseIdle(): void {
    for (const [backend, own] of [...this.#isolated]) this.#closeIfIdle(backend, own, 0);
  }

  /**
   * Sends one request to a backend on behalf of `ctx`: the client's progress token is restored
   * on progress, cancellation is passed on, and failures name the backend.
   */
  async forward<M extends ProxyMethod>(backend: Backend, method: M, params: object, ctx: ProxyContext): Promise<ResultOf<M>> {
    const down = this.#host.unavailable(backend);
    if (down) throw new ProxyError(ProxyErrorCode.BackendUnavailable, down);
    const leave = backendInFlight(backend, this.#host.sessionLimits.maxInFlightPerBackend).enter();
    try {
      return await this.#forward(backend, method, params, ctx);
    } finally {
      leave();
    }
  }

  async #forward<M extends ProxyMethod>(backend: Backend, method: M, params: object, ctx: ProxyContext): Promise<ResultOf<M>> {
    const own = this.sharesSession(backend) ? undefined : this.#isolatedSession(backend);
    if (!own) return this.#send(backend, await this.client(backend), method, params, ctx);
    own.busy++;
    clearTimeout(own.idleTimer);
    try {
      const result = await this.#send(backend, await own.client, method, params, ctx);
      const uri = (params as { uri?: string }).uri;
      if (method === "resources/subscribe" && uri !== undefined) own.subscriptions.add(uri);
      if (method === "resources/unsubscribe" && uri !== undefined) own.subscriptions.delete(uri);
      return result;
    } finally {
      own.busy--;
      own.lastUsed = Date.now();
      const idleMs = this.#host.sessionLimits.idleTimeoutMs;
      if (own.busy === 0 && Number.isFinite(idleMs) && idleMs > 0) this.#scheduleIdleCheck(backend, own, idleMs);
    }
  }

  async #send<M extends ProxyMethod>(backend: Backend, client: Client, method: M, params: object, ctx: ProxyContext): Promise<ResultOf<M>> {
    const extra = this.#inFlight.get(ctx.requestId);
    const meta = (params as { _meta?: Record<string, unknown> })._meta;
    const progressToken = meta?.progressToken as string | number | undefined;
    let outgoing = params;
    let onprogress: ((progress: object) => void) | undefined;
    // The last progress relayed: awaited before the result, so no progress arrives after it.
    let relayed: Promise<void> | undefined;
    if (progressToken !== undefined) {
      const { progressToken: _, ...rest } = meta!;
      outgoing = { ...params, _meta: rest };
      onprogress = (progress) => {
        const notification = { method: "notifications/progress", params: { ...progress, progressToken } } as ServerNotification;
        // A task-augmented call's progress goes on after its answer, when its stream may be gone: then on the session's own.
        relayed = (extra ? extra.sendNotification(notification) : Promise.reject(new Error("no request stream"))).catch(() =>
          this.notify(notification, undefined, true),
        );
      };
    }
    const { requestMs, maxTotalMs } = this.#host.timeouts;
    // tasks/result waits, by design, until the task ends: only the hard maximum bounds it.
    const timeout = method === "tasks/result" ? maxTotalMs : (backend.timeoutMs ?? requestMs);
    // On a shared backend session, the proxy routes server→client traffic by the calls waiting on it.
    const shared = extra !== undefined && this.sharesSession(backend);
    if (shared) this.#sharedCalls.set(extra, backend);
    let result: ResultOf<M>;
    try {
      result = (await client.request({ method, params: outgoing } as Request, passthrough, {
        signal: ctx.signal,
        timeout,
        maxTotalTimeout: maxTotalMs,
        resetTimeoutOnProgress: true,
        ...(onprogress ? { onprogress } : {}),
      })) as ResultOf<M>;
    } catch (error) {
      throw this.#host.pool.isRetired(backend) ? removed(backend) : backendFailure(backend, method, error, ctx.signal);
    } finally {
      if (shared) this.#sharedCalls.delete(extra);
    }
    if (relayed) await relayed;
    if (method === "tools/call" && (params as { task?: unknown }).task !== undefined) this.#tasks.created(backend, result);
    if (method === "logging/setLevel") this.#logLevel = { level: (params as { level?: unknown }).level };
    return result;
  }

  // ── Tasks ───────────────────────────────────────────────────────────────────

  /**
   * Whether this session may address only the tasks it created on `backend`: true when the
   * backend session is shared with other front sessions (and this one is a real session, not a
   * stateless request, which can remember nothing).
   */
  #tasksPrivate(backend: Backend): boolean {
    return !this.#shared && !this.#host.isolates(backend);
  }

  /** Whether this session created `taskId` on `backend` (how a shared session's task traffic is routed). */
  ownsTask(backend: Backend, taskId: string): boolean {
    return this.#tasks.owns(backend, taskId);
  }

  /** A task's status, seen on the way to this session's client. */
  observeTask(backend: Backend, task: unknown): void {
    this.#tasks.observe(backend, task);
  }

  /**
   * tasks/get, tasks/result and tasks/cancel, sent to the backend that created the task (through
   * this session); a task this session does not know goes to the one backend with tasks, if there
   * is only one and its session is not shared with other clients.
   */
  async forwardTask<M extends TaskMethod>(candidates: readonly Backend[], ctx: ProxyContext<M>): Promise<ResultOf<M>> {
    const taskId = String(ctx.params.taskId);
    let backend = this.#tasks.backendOf(taskId);
    if (!backend && candidates.length === 1 && !this.#tasksPrivate(candidates[0]!)) backend = candidates[0];
    if (!backend) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    const result = await this.forward(backend, ctx.method, ctx.params, ctx);
    if (ctx.method === "tasks/result") this.#tasks.observe(backend, { taskId, status: "completed" });
    else this.#tasks.observe(backend, result);
    return result;
  }

  /**
   * tasks/list: one backend's pages as they are; with several, one backend at a time, under
   * cursors the proxy mints (`{ backend index, backend cursor }`). On a shared backend session
   * only this session's own tasks are listed.
   */
  async listTasks(candidates: readonly Backend[], ctx: ProxyContext<"tasks/list">): Promise<ListTasksResult> {
    const params = ctx.params ?? {};
    if (candidates.length === 1) return this.#listTasksOf(candidates[0]!, params, ctx);
    let at = { b: 0, c: undefined as string | undefined };
    if (params.cursor !== undefined) {
      const decoded = decodeCursor(params.cursor);
      const b = decoded?.b;
      if (decoded?.k !== "tasks" || typeof b !== "number" || !Number.isInteger(b) || b < 0 || b >= candidates.length) {
        throw new McpError(ErrorCode.InvalidParams, `Invalid cursor for tasks/list: it is not one this proxy gave (list again without a cursor)`);
      }
      at = { b, c: typeof decoded.c === "string" ? decoded.c : undefined };
    }
    const { cursor: _, ...rest } = params;
    const page = await this.#listTasksOf(candidates[at.b]!, at.c === undefined ? rest : { ...rest, cursor: at.c }, ctx);
    const next =
      page.nextCursor !== undefined ? { k: "tasks", b: at.b, c: page.nextCursor }
      : at.b + 1 < candidates.length ? { k: "tasks", b: at.b + 1 }
      : undefined;
    const { nextCursor: __, ...result } = page;
    return next ? { ...result, nextCursor: encodeCursor(next) } : result;
  }

  async #listTasksOf(backend: Backend, params: object, ctx: ProxyContext<"tasks/list">): Promise<ListTasksResult> {
    const page = await this.forward(backend, "tasks/list", params, ctx);
    const tasks = Array.isArray(page.tasks) ? page.tasks : [];
    for (const task of tasks) if (this.#tasks.owns(backend, task.taskId)) this.#tasks.observe(backend, task);
    if (!this.#tasksPrivate(backend)) return page;
    return { ...page, tasks: tasks.filter((task) => this.#tasks.owns(backend, task.taskId)) };
  }

  // ── Server→client traffic ───────────────────────────────────────────────────

  /** A notification from one of this session's backend sessions. */
  notification(backend: Backend, notification: Notification): void {
    this.#touch(backend);
    if (LIST_CHANGED[notification.method]) return this.#host.listChanged(backend, notification.method);
    if (notification.method === "notifications/tasks/status") this.#tasks.observe(backend, notification.params);
    if (notification.method === "notifications/resources/updated") notification = this.#host.resourceUpdated(backend, notification);
    void this.notify(notification);
  }

  /**
   * A request from one of this session's backend sessions (sampling, elicitation, roots), sent on
   * the stream of `via` when given, else of the only request in flight, else on the standalone stream.
   */
  request(backend: Backend, request: JSONRPCRequest, signal: AbortSignal, via?: FrontExtra): Promise<Result> {
    this.#touch(backend);
    const declared = CLIENT_REQUESTS[request.method];
    if (this.#stateless && declared) {
      const why = `${request.method} from ${describe(backend)} cannot reach a client of the stateless HTTP front, which can only answer requests: serve with sessions for sampling, elicitation and roots`;
      return Promise.reject(new McpError(ErrorCode.InvalidRequest, why));
    }
    if (declared && !declared(this.clientCapabilities ?? {}, request.params)) {
      return Promise.reject(new McpError(ErrorCode.InvalidRequest, `${request.method} from ${describe(backend)}: the client did not declare the capability it needs`));
    }
    const related = via ?? this.#related();
    const message = { method: request.method, params: request.params } as ServerRequest;
    return related
      ? related.sendRequest(message, passthrough, { signal })
      : this.server.request(message, passthrough, { signal });
  }

  /**
   * Sends to the client, on the stream of `via`, else of the request it most likely belongs to
   * (the only one in flight), else (or when `standalone`) on the session's own stream.
   */
  async notify(notification: Notification, via?: FrontExtra, standalone = false): Promise<void> {
    if (this.#closed) return;
    const related = standalone ? undefined : (via ?? this.#related());
    try {
      if (related) await related.sendNotification(notification as ServerNotification);
      else await this.server.notification(notification as ServerNotification);
    } catch (error) {
      this.#host.logger.debug(`could not deliver ${notification.method}: ${plainMessage(error)}`);
    }
  }

  #onClosed!: () => void;
  /** Settles once the session has closed (its client went away, or the proxy closed it). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#onClosed = resolve));

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed();
    this.#host.detach(this);
    const own = [...this.#isolated.values()];
    this.#isolated.clear();
    for (const { idleTimer } of own) clearTimeout(idleTimer);
    await Promise.all(own.map((o) => o.client.then((client) => this.#host.pool.release(client), () => {})));
    await this.server.close().catch(() => {});
  }

  #related(): FrontExtra | undefined {
    if (this.#inFlight.size !== 1) return undefined;
    return this.#inFlight.values().next().value;
  }
}

/** A failed backend request as the client should see it. */
function backendFailure(backend: Backend, method: string, error: unknown, signal: AbortSignal): McpError {
  if (signal.aborted && error instanceof McpError && error.code === ErrorCode.RequestTimeout) return error;
  if (error instanceof McpError) {
    if (error.code === ErrorCode.ConnectionClosed) {
      return new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} closed the connection during ${method}`);
    }
    if (error.code === ErrorCode.RequestTimeout) {
      return new ProxyError(ProxyErrorCode.Timeout, `Backend ${describe(backend)} did not answer ${method} in time: ${plainMessage(error)}`);
    }
    return error instanceof ProxyError ? error : forwardedError(error);
  }
  return new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} failed during ${method}: ${plainMessage(error)}`);
}

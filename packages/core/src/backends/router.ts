// Which backend session serves a request, decided by its tenant alone; and the one way a request is
// sent to a backend (progress, cancellation, timeouts, failures). Each backend session's
// server→client traffic goes back to the one caller it can be attributed to (routing.ts).
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { ErrorCode, McpError, type ClientCapabilities, type JSONRPCRequest, type LoggingLevel, type Notification, type Result } from "@modelcontextprotocol/sdk/types.js";
import { HttpError, ProxyError, ProxyErrorCode, forwardedError, plainMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { InFlightSet } from "../in-flight.js";
import { LIST_CHANGED, methodSpec, type MethodSpec } from "../methods.js";
import { Undelivered, profileKey, type Call, type Cancellable, type Channel, type Listener, type Tenant } from "../tenant.js";
import { describe, type Backend } from "./backend.js";
import { WireErrorCode } from "../wire/codes.js";
import { passthrough } from "../wire/message.js";
import { RELAY_CAPABILITIES, attributesAsks, notACrash, removed, type BackendPool, type BackendSink, type SessionOwner } from "./pool.js";
import { CrashLoop, InFlight } from "./guards.js";
import { deliver, ownerOf } from "./routing.js";
import { forwarder } from "./forwarder.js";
import { LogLevels } from "./log-levels.js";
import { Subscriptions } from "./subscriptions.js";
import { TaskBook, taskOf } from "./tasks.js";

/** How backend sessions are shared: per front session, per tenant, or one per capability profile. */
export type SessionMode = "isolated" | "tenant" | "shared";

export interface RouterDeps {
  pool: BackendPool;
  logger: Logger;
  mode: () => SessionMode;
  /** alwaysAskProgress: every request asks for progress, to extend its timeout (else only a client's that did). */
  timeouts: () => { requestMs: number; maxTotalMs: number; alwaysAskProgress: boolean };
  /** askingSessions: extra sessions of one route that run an exclusive call at once (one more waits for one of them). */
  limits: () => { maxSessions: number; maxSessionsPerCaller: number; idleTimeoutMs: number; maxInFlightPerBackend: number; maxInFlightPerCaller: number; askingSessions: number };
  /** Why calls to a backend fail fast right now, if they do. */
  unavailable: (backend: Backend) => string | undefined;
  /** A shared session closed (supervision restarts it). */
  sharedLost: (backend: Backend, capabilities: ClientCapabilities) => void;
  listChanged: (backend: Backend, method: string) => void;
  /** A resources/updated as the client should see it. */
  resourceUpdated: (backend: Backend, notification: Notification) => Notification;
}

/** One backend session and who is using it. */
interface Lane {
  readonly key: string;
  readonly backend: Backend;
  /** Opened for one tenant (or one front session), with its credentials; else shared by a profile. */
  readonly owner: { tenant: Tenant; sessionKey: string | undefined } | undefined;
  /** One of the route's extra sessions for exclusive calls (closed when idle, as private ones are): its route's key. */
  readonly extra: string | undefined;
  /** Asks of its call now waiting for the client's answer (an extra session's call is then parked, not running). */
  asking: number;
  readonly profile: ClientCapabilities;
  client: () => Promise<Client>;
  /** The session, once open (until it closes). */
  ready: Client | undefined;
  readonly waiting: InFlightSet<Call>;
  busy: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** Who subscribed to what through it: a lane with subscriptions is never idle. */
  readonly subscriptions: Subscriptions;
  /** The log level each client set through it. */
  readonly logLevels: LogLevels;
  /** URL-mode elicitations by id, and the client each was given: its completion goes there alone (the newest MAX_ELICITATIONS). */
  readonly elicitations: Map<string, Channel>;
  /** Calls on it that timed out in a row. */
  timeouts: number;
  authInfo: AuthInfo | undefined;
}

const FULL_PROFILE = profileKey(RELAY_CAPABILITIES);
/** Calls in a row that time out on a session of its own before it is closed and replaced. */
const EVICT_AFTER_TIMEOUTS = 3;
const PING_TIMEOUT_MS = 5000;

export class BackendRouter {
  readonly tasks = new TaskBook();
  readonly #deps: RouterDeps;
  readonly #lanes = new Map<string, Lane>();
  readonly #listeners = new Set<Listener>();
  readonly #inFlight = new WeakMap<Backend, InFlight>();
  readonly #crashes = new CrashLoop();
  /** The log level last set through each private lane's key: set again when it reopens after idling. */
  readonly #levels = new Map<string, unknown>();
  /** Calls that may be asked, waiting on a session whose asks say whose they are: by the tag sent with their request. */
  readonly #askers = new Map<number, Call>();
  #lastAsker = 0;
  /** Per route: exclusive calls waiting for one of its extra sessions. */
  readonly #queued = new Map<string, Array<() => void>>();
  /** Per backend: whether it acts with each caller's own credentials (see `FastMCPProxy.credentials`). */
  perCaller: (backend: Backend) => boolean = () => false;

  constructor(deps: RouterDeps) {
    this.#deps = deps;
  }

  attach(listener: Listener): void {
    this.#listeners.add(listener);
  }

  /**
   * A front session closed: its own backend sessions close with it, on the others its
   * subscriptions end (at the backend too, where nobody else wants them), and an anonymous
   * session's record of its tasks goes.
   */
  async detach(listener: Listener): Promise<void> {
    this.#listeners.delete(listener);
    // An anonymous session's tasks are nobody's once it ends (a principal's outlive its sessions).
    if (listener.tenant.principal === undefined) this.tasks.drop(listener.tenant.id);
    const own = [...this.#lanes.values()].filter((lane) => lane.owner?.sessionKey === listener.sessionKey);
    for (const lane of this.#lanes.values()) {
      if (own.includes(lane)) continue;
      const failed = (what: string) => (error: unknown) => this.#deps.logger.debug(`could not ${what} at ${describe(lane.backend)}: ${plainMessage(error)}`);
      for (const uri of lane.subscriptions.forget(listener)) void lane.ready?.unsubscribeResource({ uri }).catch(failed(`unsubscribe from ${uri}`));
      const level = lane.logLevels.forget(listener);
      if (level !== undefined && level !== lane.logLevels.sent && lane.ready) {
        lane.logLevels.sent = level;
        void lane.ready.setLoggingLevel(level as LoggingLevel).catch(failed(`set the log level ${level}`));
      }
    }
    await Promise.all(own.map((lane) => this.#close(lane)));
  }

  /** Lets go now of a front session's own backend sessions that nothing holds. */
  releaseIdle(listener: Listener): void {
    for (const lane of this.#lanes.values()) if (lane.owner?.sessionKey === listener.sessionKey) this.#closeIfIdle(lane, 0);
  }

  /** How many backend sessions of its own (or its tenant's) a front session has open. */
  privateSessions(listener: Listener): number {
    let n = 0;
    for (const lane of this.#lanes.values()) if (lane.owner && (lane.owner.sessionKey === listener.sessionKey || lane.owner.tenant.key === listener.tenant.key)) n++;
    return n;
  }

  /** Why calls to a backend fail fast because its sessions keep crashing, if they do. */
  crashLoop(backend: Backend): string | undefined {
    return this.#crashes.down(backend);
  }

  /** A backend's shared session for a capability profile (the proxy's own credentials: discovery, and callers of shared mode). */
  shared(backend: Backend, capabilities: ClientCapabilities = RELAY_CAPABILITIES): Promise<Client> {
    return this.#sharedLane(backend, capabilities).client();
  }

  /** The backend session that serves `call` (opened on first use, with its tenant's credentials). */
  client(backend: Backend, call: Pick<Call, "tenant" | "listener" | "authInfo">): Promise<Client> {
    return this.#lane(backend, call)!.client(); // not an exclusive call: never queued
  }

  /** Whether `call`'s backend session with `backend` is its tenant's (or front session's) own, not shared. */
  isPrivate(backend: Backend, call: Pick<Call, "tenant" | "listener">): boolean {
    return this.#route(backend, call.tenant, call.listener).owner !== undefined;
  }

  /** Pings the backend sessions a front session is using now. */
  async ping(listener: Listener, backends: readonly Backend[], signal: AbortSignal): Promise<void> {
    const using = backends.filter((backend) => {
      try {
        const route = this.#route(backend, listener.tenant, listener);
        return route.owner ? this.#lanes.has(route.key) : !this.#deps.unavailable(backend);
      } catch {
        return false;
      }
    });
    await Promise.all(
      using.map(async (backend) => {
        try {
          const client = await this.client(backend, { tenant: listener.tenant, listener, authInfo: undefined });
          await client.ping({ signal, timeout: Math.min(PING_TIMEOUT_MS, this.#deps.timeouts().requestMs) });
        } catch (error) {
          throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} did not answer ping: ${plainMessage(error)}`);
        }
      }),
    );
  }

  /** A client's roots changed: its own backend sessions are told, and a shared one whose only client it is. */
  rootsChanged(listener: Listener, backends: readonly Backend[]): void {
    for (const backend of backends) {
      let lane: Lane | undefined;
      try {
        lane = this.#lanes.get(this.#route(backend, listener.tenant, listener).key);
      } catch {
        continue;
      }
      if (!lane || (!lane.owner && this.#listenersOf(lane).length !== 1)) continue;
      void lane
        .client()
        .then((client) => client.notification({ method: "notifications/roots/list_changed" }))
        .catch((error) => this.#deps.logger.debug(`could not tell ${describe(backend)} of changed roots: ${plainMessage(error)}`));
    }
  }

  /**
   * Sends one request to a backend for `call`: the client's progress token is restored on progress,
   * cancellation is passed on, timeouts apply (reset by progress), and failures name the backend.
   */
  async send(backend: Backend, method: string, params: object, call: Call): Promise<Result> {
    const down = this.#deps.unavailable(backend) ?? this.#crashes.down(backend);
    if (down) throw new ProxyError(ProxyErrorCode.BackendUnavailable, down);
    const inFlight = this.#inFlightOf(backend);
    const caller = call.tenant.share;
    inFlight.enter(caller);
    const asker = call.exclusive ? ++this.#lastAsker : undefined;
    if (asker !== undefined) this.#askers.set(asker, call);
    try {
      let lane = this.#lane(backend, call);
      while (lane === undefined) {
        await this.#extraFreed(backend, call);
        lane = this.#lane(backend, call);
      }
      // Subscriptions and log levels are each client's. A subscribe is noted before it goes (an update
      // may follow it at once) and undone if it fails; an unsubscribe goes only when nobody else here
      // still wants the URI; the backend's log level is the most verbose any client here set.
      const spec = methodSpec(method);
      const leaves = spec?.leaves;
      const uri = (params as { uri?: unknown }).uri;
      const who = call.listener ?? call.channel;
      if (leaves === "unsubscription" && typeof uri === "string" && !lane.subscriptions.remove(uri, who)) return {};
      const subscribed = leaves === "subscription" && typeof uri === "string" && lane.subscriptions.add(uri, who);
      if (leaves === "logLevel") {
        const wanted = lane.logLevels.set(who, (params as { level: string }).level);
        if (wanted === lane.logLevels.sent) return {};
        params = { ...params, level: wanted };
      }
      lane.busy++;
      lane.waiting.add(call);
      if (call.authInfo) lane.authInfo = call.authInfo;
      try {
        // An open session is used at once: the request is written in the turn it came in.
        const client = lane.ready ?? (await lane.client());
        const { requestMs, maxTotalMs, alwaysAskProgress } = this.#deps.timeouts();
        const progress = ProgressRelay.of(call, params, alwaysAskProgress);
        // tasks/result waits, by design, until the task ends: only the hard maximum bounds it.
        const timeout = spec?.timeout === "task" ? maxTotalMs : (backend.timeoutMs ?? requestMs);
        let result: Result;
        try {
          result = await forwarder(client).request(method, params as Record<string, unknown>, { signal: call.cancellation ?? call.signal, timeout, maxTotalTimeout: maxTotalMs, onprogress: progress.onprogress, relatedRequestId: asker });
        } catch (error) {
          // A URL elicitation the caller must complete (-32042): its completion notice is this caller's.
          if ((error as { code?: unknown }).code === WireErrorCode.UrlElicitationRequired) this.#noteElicitations(lane, (error as { data?: { elicitations?: unknown } }).data?.elicitations, who);
          throw this.#deps.pool.isRetired(backend) ? removed(backend) : backendFailure(backend, method, error, call.cancellation ?? call.signal);
        }
        // The last progress relayed goes before the result.
        if (progress.relayed) await progress.relayed;
        if (leaves) this.#observe(lane, call, leaves, params, result);
        lane.timeouts = 0;
        return result;
      } catch (error) {
        if (subscribed) lane.subscriptions.remove(uri as string, who);
        if (error instanceof ProxyError && error.code === ProxyErrorCode.Timeout) this.#timedOut(lane);
        throw error;
      } finally {
        lane.waiting.delete(call);
        lane.busy--;
        if (lane.extra !== undefined) this.#wake(lane.extra);
        lane.lastUsed = Date.now();
        // One idle check armed at a time: a call does not clear it (the check finds the lane busy, or
        // used since, and waits on), so a busy lane costs no timer per call.
        if (reapable(lane) && lane.busy === 0 && lane.idleTimer === undefined) {
          const idleMs = this.#deps.limits().idleTimeoutMs;
          if (Number.isFinite(idleMs) && idleMs > 0) this.#scheduleIdleCheck(lane, idleMs);
        }
      }
    } finally {
      if (asker !== undefined) this.#askers.delete(asker);
      inFlight.leave(caller);
    }
  }

  /**
   * A call on this session timed out: after EVICT_AFTER_TIMEOUTS in a row, a session of its own is
   * closed (a child that stopped reading is ended) and the next call opens a new one.
   */
  #timedOut(lane: Lane): void {
    if (++lane.timeouts < EVICT_AFTER_TIMEOUTS || !reapable(lane)) return;
    this.#deps.logger.warn(`closing a session with backend ${describe(lane.backend)}: ${lane.timeouts} calls in a row timed out (it stopped answering); the next call opens a new one`);
    void this.#close(lane);
  }

  /** What a forwarded request leaves on its backend session (the method table says): the log level, a task. */
  #observe(lane: Lane, call: Call, leaves: NonNullable<MethodSpec["leaves"]>, params: object, result: Result): void {
    const { level, task } = params as { level?: unknown; task?: unknown };
    if (leaves === "logLevel") {
      lane.logLevels.sent = level as string;
      if (lane.owner) this.#levels.set(lane.key, { level });
    }
    if (leaves === "task" && task !== undefined) this.tasks.of(call.tenant.id).created(lane.backend, result);
  }

  // ── Routes: the tenant decides ──────────────────────────────────────────────

  /**
   * Which backend session serves a tenant. A backend that acts with each caller's own credentials
   * is never reached with the proxy's on a caller's behalf: no identity, no session (401).
   */
  #route(backend: Backend, tenant: Tenant, listener: Listener | undefined): { key: string; owner: Lane["owner"] } {
    if (!backend.connector.isolatable) return { key: sharedKey(backend, FULL_PROFILE), owner: undefined };
    const mode = this.#deps.mode();
    const own = (sessionKey: string | undefined) =>
      sessionKey !== undefined
        ? { key: `${idOf(backend)}\0session\0${sessionKey}`, owner: { tenant, sessionKey } }
        : { key: `${idOf(backend)}\0tenant\0${tenant.key}`, owner: { tenant, sessionKey: undefined } };
    if (this.perCaller(backend)) {
      if (tenant.principal === undefined) {
        throw new HttpError(401, `Backend ${describe(backend)} acts with each caller's own credentials: authenticate to use it (an anonymous caller is never served with the proxy's credentials)`);
      }
      return own(mode === "isolated" ? listener?.sessionKey : undefined);
    }
    if (mode === "shared" || tenant.ephemeral) return { key: sharedKey(backend, tenant.profileKey), owner: undefined };
    return own(mode === "isolated" ? listener?.sessionKey : undefined);
  }

  #lane(backend: Backend, call: Pick<Call, "tenant" | "listener" | "authInfo" | "exclusive">): Lane | undefined {
    const route = this.#route(backend, call.tenant, call.listener);
    const lane = route.owner ? this.#lanes.get(route.key) : this.#sharedLane(backend, backend.connector.isolatable ? call.tenant.profile : RELAY_CAPABILITIES);
    // An exclusive call (it may be asked) shares its route's session when that session is its own
    // caller's (an ask it cannot be told apart by goes to that caller's oldest call: see `ownerOf`), or
    // says whose each ask is; else it gets an extra session no other call is waiting on (kept for the next one).
    const shares = route.owner !== undefined || (backend.connector.attributesAsks && (lane?.ready === undefined || attributesAsks(lane.ready)));
    if (call.exclusive && backend.connector.isolatable && !shares) return this.#extraLane(backend, route, call);
    return lane ?? this.#openLane(route.key, backend, route.owner!, call);
  }

  /** An idle extra session of the route, or a new one; none while `askingSessions` of them run a call (one waiting for its client's input does not count). */
  #extraLane(backend: Backend, route: { key: string; owner: Lane["owner"] }, call: Pick<Call, "tenant" | "listener" | "authInfo">): Lane | undefined {
    let n = 1;
    let running = 0;
    for (let lane = this.#lanes.get(`${route.key}#${n}`); lane; lane = this.#lanes.get(`${route.key}#${++n}`)) {
      if (lane.waiting.size === 0) return lane;
      if (lane.asking === 0) running++;
    }
    if (running >= this.#deps.limits().askingSessions) return undefined;
    return this.#openLane(`${route.key}#${n}`, backend, route.owner, call, route.key);
  }

  /** Resolves when an extra session of the call's route may be free (one ended its call, or its call waits for input). */
  #extraFreed(backend: Backend, call: Call): Promise<void> {
    const key = this.#route(backend, call.tenant, call.listener).key;
    return new Promise<void>((resolve, reject) => {
      if (call.signal.aborted) return reject(call.signal.reason);
      const queue = this.#queued.get(key) ?? [];
      this.#queued.set(key, queue);
      const aborted = () => {
        queue.splice(queue.indexOf(woken), 1);
        reject(call.signal.reason);
      };
      const woken = () => {
        call.signal.removeEventListener("abort", aborted);
        resolve();
      };
      queue.push(woken);
      call.signal.addEventListener("abort", aborted, { once: true });
    });
  }

  #wake(route: string): void {
    const queue = this.#queued.get(route);
    queue?.shift()?.();
    if (queue?.length === 0) this.#queued.delete(route);
  }

  #openLane(key: string, backend: Backend, owner: Lane["owner"], call: Pick<Call, "tenant" | "listener" | "authInfo">, extra?: string): Lane {
    if (call.listener && !this.#listeners.has(call.listener)) throw new McpError(ErrorCode.ConnectionClosed, "The client session has closed");
    const lane = this.#newLane(key, backend, owner, call.tenant.profile, extra);
    lane.authInfo = call.authInfo;
    const opened = this.#openPrivate(lane);
    lane.client = () => opened;
    void opened.then((client) => (lane.ready = client), () => {});
    this.#lanes.set(lane.key, lane);
    opened.catch((error: unknown) => {
      // A session that could not start (a child that exits at once) counts towards a crash loop; a full pool or a slow start does not.
      if (this.#lanes.get(lane.key) === lane && !notACrash(error)) this.#crashes.crashed(lane.backend);
      this.#forget(lane);
    });
    return lane;
  }

  /** A session of a tenant's own (its credentials), or an extra one of a shared route (the proxy's). */
  async #openPrivate(lane: Lane): Promise<Client> {
    if (lane.owner) this.#withinShare(lane);
    const self = lane;
    // Read when used: credentials follow the caller's latest token.
    const owner: SessionOwner = {
      get authInfo() {
        return self.owner ? self.authInfo : undefined;
      },
      sessionId: lane.owner?.sessionKey,
      tenant: lane.owner?.tenant,
    };
    const client = await this.#deps.pool.open(lane.backend, {
      capabilities: lane.profile,
      sink: this.#sink(lane),
      onclose: () => {
        // Closed by itself (the proxy forgets a lane before closing it): a crash, unless a reload took the backend out.
        if (this.#lanes.get(lane.key) === lane && !this.#deps.pool.isRetired(lane.backend)) this.#crashes.crashed(lane.backend);
        this.#forget(lane);
      },
      maxSessions: this.#deps.limits().maxSessions,
      owner,
    });
    // A session reopened after idling gets the log level its client had set.
    const level = this.#levels.get(lane.key);
    if (level !== undefined && client.getServerCapabilities()?.logging) {
      await client.request({ method: "logging/setLevel", params: level as Record<string, unknown> }, passthrough).catch(() => {});
    }
    return client;
  }

  /** A caller's sessions of their own with one backend are at most its share of `maxSessions` (`tenant.share`). */
  #withinShare(lane: Lane): void {
    const { maxSessionsPerCaller } = this.#deps.limits();
    const caller = lane.owner!.tenant.share;
    let mine = 0;
    for (const other of this.#lanes.values()) if (other !== lane && other.backend === lane.backend && other.owner && other.owner.tenant.share === caller) mine++;
    if (mine >= maxSessionsPerCaller) {
      throw new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(lane.backend)}: too many sessions of yours (${mine} open, at most ${maxSessionsPerCaller} of one caller's); close one first`);
    }
  }

  #sharedLane(backend: Backend, capabilities: ClientCapabilities): Lane {
    const profile = backend.connector.isolatable ? profileKey(capabilities) : FULL_PROFILE;
    const key = sharedKey(backend, profile);
    let lane = this.#lanes.get(key);
    if (!lane) {
      const declared = profile === FULL_PROFILE ? RELAY_CAPABILITIES : capabilities;
      const made = this.#newLane(key, backend, undefined, declared);
      const sink = this.#sink(made);
      const lost = () => {
        made.ready = undefined;
        this.#deps.sharedLost(backend, declared);
      };
      made.client = () => {
        const client = this.#deps.pool.shared(backend, sink, lost, declared);
        if (!made.ready) void client.then((open) => (made.ready = open), () => {});
        return client;
      };
      this.#lanes.set(key, (lane = made));
    }
    return lane;
  }

  #newLane(key: string, backend: Backend, owner: Lane["owner"], profile: ClientCapabilities, extra?: string): Lane {
    return { key, backend, owner, extra, asking: 0, profile, client: () => Promise.reject(new Error("not open")), ready: undefined, waiting: new InFlightSet(), busy: 0, lastUsed: Date.now(), idleTimer: undefined, subscriptions: new Subscriptions(), logLevels: new LogLevels(), elicitations: new Map(), authInfo: undefined, timeouts: 0 };
  }

  /** A private lane's session closed (or never opened): forget it, and the tasks its tenant held there. */
  #forget(lane: Lane): void {
    clearTimeout(lane.idleTimer);
    lane.idleTimer = undefined;
    lane.ready = undefined;
    if (this.#lanes.get(lane.key) !== lane) return;
    this.#lanes.delete(lane.key);
    if (lane.owner && lane.extra === undefined) this.tasks.find(lane.owner.tenant.id)?.forget(lane.backend);
  }

  async #close(lane: Lane): Promise<void> {
    this.#forget(lane);
    await lane.client().then((client) => this.#deps.pool.release(client), () => {});
  }

  #scheduleIdleCheck(lane: Lane, delay: number): void {
    clearTimeout(lane.idleTimer);
    lane.idleTimer = setTimeout(() => {
      lane.idleTimer = undefined;
      this.#closeIfIdle(lane);
    }, delay);
    lane.idleTimer.unref?.();
  }

  /**
   * Closes a private backend session once unused for `idleTimeoutMs`: no request on it, no message
   * from it, no subscription through it and no task of its tenant still running on it.
   */
  #closeIfIdle(lane: Lane, idleMs = this.#deps.limits().idleTimeoutMs): void {
    if (this.#lanes.get(lane.key) !== lane || lane.busy > 0 || !reapable(lane)) return;
    const idleFor = Date.now() - lane.lastUsed;
    if (idleFor < idleMs) return this.#scheduleIdleCheck(lane, idleMs - idleFor);
    const running = lane.owner && this.tasks.find(lane.owner.tenant.id)?.running(lane.backend);
    if (lane.subscriptions.size > 0 || running) return this.#scheduleIdleCheck(lane, idleMs);
    this.#deps.logger.debug(`closing idle session with backend ${describe(lane.backend)} (unused for ${idleFor} ms)`);
    void this.#close(lane);
  }

  #inFlightOf(backend: Backend): InFlight {
    let limit = this.#inFlight.get(backend);
    if (!limit) this.#inFlight.set(backend, (limit = new InFlight(this.#deps.limits().maxInFlightPerBackend, this.#deps.limits().maxInFlightPerCaller, backend)));
    return limit;
  }

  // ── Server→client traffic ───────────────────────────────────────────────────

  /** The front sessions a lane's traffic may belong to when no request of theirs is waiting on it. */
  #listenersOf(lane: Lane): Listener[] {
    if (lane.extra !== undefined) return [];
    if (lane.owner?.sessionKey !== undefined) return [...this.#listeners].filter((l) => l.sessionKey === lane.owner!.sessionKey);
    return [...this.#listeners].filter((listener) => {
      try {
        return this.#route(lane.backend, listener.tenant, listener).key === lane.key;
      } catch {
        return false;
      }
    });
  }

  /** Who a message from a lane belongs to (see `ownerOf`). */
  #ownerOf(lane: Lane, taskId: string | undefined): Channel | undefined {
    const owns = taskId === undefined ? undefined : (tenant: Tenant) => this.tasks.find(tenant.id)?.owns(lane.backend, taskId) === true;
    return ownerOf([...lane.waiting], this.#listenersOf(lane), owns);
  }

  /** A resource changed: its subscribers on this session are told, and no one else. */
  #updated(lane: Lane, backend: Backend, notification: Notification): void {
    const subscribers = lane.subscriptions.of((notification.params as { uri?: unknown } | undefined)?.uri);
    notification = this.#deps.resourceUpdated(backend, notification);
    if (subscribers.length === 0) this.#deps.logger.debug(`dropped ${notification.method} from ${describe(backend)}: nobody subscribed to that resource through that backend session`);
    for (const who of subscribers) void who.notify(notification).catch((error) => this.#deps.logger.debug(`could not deliver ${notification.method}: ${plainMessage(error)}`));
  }

  /** The client behind `channel`: its front session when it is a waiting call's (whose own stream ends with it). */
  #clientOf(lane: Lane, channel: Channel): Channel {
    for (const call of lane.waiting) if (call.channel === channel) return call.listener ?? channel;
    return channel;
  }

  /** A call of `client`'s waiting on the session (its stream is the one the client surely reads), else `client`. */
  #callOf(lane: Lane, client: Channel): Channel {
    for (const call of lane.waiting) if ((call.listener ?? call.channel) === client) return call.channel;
    return client;
  }

  /** Notes whose the URL-mode elicitations among `elicitations` are. */
  #noteElicitations(lane: Lane, elicitations: unknown, who: Channel): void {
    if (!Array.isArray(elicitations)) return;
    for (const elicitation of elicitations as Array<{ mode?: unknown; elicitationId?: unknown } | undefined>) {
      if (elicitation?.mode !== "url" || typeof elicitation.elicitationId !== "string") continue;
      lane.elicitations.delete(elicitation.elicitationId);
      lane.elicitations.set(elicitation.elicitationId, who);
      if (lane.elicitations.size > MAX_ELICITATIONS) lane.elicitations.delete(lane.elicitations.keys().next().value!);
    }
  }

  /**
   * A URL elicitation completed: the client it was given is told. One the proxy did not see given is
   * routed as any notification on a session of one caller's, and dropped on a shared one.
   */
  #elicitationComplete(lane: Lane, backend: Backend, notification: Notification): void {
    const id = (notification.params as { elicitationId?: unknown } | undefined)?.elicitationId;
    const given = typeof id === "string" ? lane.elicitations.get(id) : undefined;
    if (given) lane.elicitations.delete(id as string);
    const owner = given ? this.#callOf(lane, given) : lane.owner ? this.#ownerOf(lane, undefined) : undefined;
    if (!owner) return this.#deps.logger.debug(`dropped ${notification.method} from ${describe(backend)}: no client was given that elicitation through that backend session`);
    void owner.notify(notification).catch((error) => this.#deps.logger.debug(`could not deliver ${notification.method}: ${plainMessage(error)}`));
  }

  /** A server→client request to `owner`; while it waits for its client, a call queued for an extra session need not wait for it. */
  async #ask(lane: Lane, backend: Backend, owner: Channel, request: JSONRPCRequest, signal: AbortSignal): Promise<Result> {
    if (lane.extra === undefined) return deliver(backend, owner, request, signal);
    lane.asking++;
    this.#wake(lane.extra);
    try {
      return await deliver(backend, owner, request, signal);
    } finally {
      lane.asking--;
    }
  }

  #sink(lane: Lane): BackendSink {
    const touch = () => void (lane.lastUsed = Date.now());
    return {
      notification: (backend, notification) => {
        touch();
        if (LIST_CHANGED[notification.method]) return this.#deps.listChanged(backend, notification.method);
        if (notification.method === "notifications/resources/updated") return this.#updated(lane, backend, notification);
        if (notification.method === "notifications/elicitation/complete") return this.#elicitationComplete(lane, backend, notification);
        const taskId = taskOf(notification);
        const owner = this.#ownerOf(lane, taskId);
        if (!owner) return this.#deps.logger.debug(`dropped ${notification.method} from ${describe(backend)}: no single client owns that backend session now`);
        // A log message below the level its client set is not for it (another client here asked for it).
        if (notification.method === "notifications/message" && !lane.logLevels.wants(this.#clientOf(lane, owner), (notification.params as { level?: unknown } | undefined)?.level)) return;
        if (notification.method === "notifications/tasks/status") {
          const tenant = [...lane.waiting].find((c) => c.channel === owner)?.tenant ?? (owner as Partial<Listener>).tenant;
          if (tenant) this.tasks.find(tenant.id)?.observe(backend, notification.params);
        }
        void owner.notify(notification).catch((error) => this.#deps.logger.debug(`could not deliver ${notification.method}: ${plainMessage(error)}`));
      },
      request: async (backend, request, signal, asker) => {
        touch();
        // Asked during a request of a call that may be asked: its own, without doubt.
        const call = asker === undefined ? undefined : this.#askers.get(Number(asker));
        // A call handed an ask it cannot be told apart by may end before its client sees it: the ask goes
        // on to whoever owns the session then (that call has stopped waiting), a few times at most.
        for (let handed = 0; ; handed++) {
          const owner = call && lane.waiting.has(call) ? call.channel : this.#ownerOf(lane, taskOf(request));
          if (!owner) {
            throw new McpError(ErrorCode.InvalidRequest, `${request.method} from ${describe(backend)} cannot be routed: no single client is waiting on that backend session`);
          }
          if (request.method === "elicitation/create") this.#noteElicitations(lane, [request.params], this.#clientOf(lane, owner));
          try {
            return await this.#ask(lane, backend, owner, request, signal);
          } catch (error) {
            if (!(error instanceof Undelivered) || handed >= MAX_HANDED_ON) throw error;
          }
          // A call being cancelled leaves `waiting` once its cancellation has run.
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
    };
  }
}

/** The URL elicitations a backend session remembers the client of (the oldest forgotten first). */
const MAX_ELICITATIONS = 1000;

/** How many times an ask goes on to another call after the one it was given to ended without showing it. */
const MAX_HANDED_ON = 3;

/**
 * A forwarded request's progress, relayed under the client's own token. The backend is asked for
 * progress (the forwarder's own token) when the client asked, or for every request with
 * `alwaysAskProgress`, so that a backend's progress extends the timeout of any call; it is relayed
 * only to a client that gave a token.
 */
class ProgressRelay {
  /** A call whose client gave no token: the backend is not asked (one for all of them). */
  static readonly #none = new ProgressRelay(undefined);
  /** The same with `alwaysAskProgress`: asked, and nothing relayed. */
  static readonly #keepAlive = new ProgressRelay(ignore);
  /** The last progress relayed: awaited before the result, so no progress arrives after it. */
  relayed: Promise<void> | undefined;

  static of(call: Call, params: object, alwaysAsk: boolean): ProgressRelay {
    const progressToken = (params as { _meta?: { progressToken?: string | number } })._meta?.progressToken;
    if (progressToken === undefined) return alwaysAsk ? ProgressRelay.#keepAlive : ProgressRelay.#none;
    const relay: ProgressRelay = new ProgressRelay((progress) => {
      const notification = { method: "notifications/progress", params: { ...progress, progressToken } };
      // A task-augmented call's progress goes on after its answer, when its stream may be gone: then on the session's own.
      relay.relayed = call.channel.notify(notification).catch(() => call.listener?.notify(notification).catch(() => {}));
    });
    return relay;
  }

  private constructor(readonly onprogress: ((progress: object) => void) | undefined) {}
}

function ignore(): void {}

/** Private lanes and extra ones close when idle; a shared one is the proxy's, kept and supervised. */
function reapable(lane: Lane): boolean {
  return lane.owner !== undefined || lane.extra !== undefined;
}

/** Each backend's shared-session keys by profile, built once: routing a call builds (and hashes) no new string. */
const sharedKeys = new WeakMap<Backend, Map<string, string>>();
const MAX_SHARED_KEYS = 256;

function sharedKey(backend: Backend, profile: string): string {
  let keys = sharedKeys.get(backend);
  if (!keys || keys.size >= MAX_SHARED_KEYS) sharedKeys.set(backend, (keys = new Map()));
  let key = keys.get(profile);
  if (key === undefined) keys.set(profile, (key = `${idOf(backend)}\0shared\0${profile}`));
  return key;
}

/** Each mounted backend's own number: a server a reload replaced keeps its name, never its sessions. */
const ids = new WeakMap<Backend, number>();
let lastId = 0;
function idOf(backend: Backend): number {
  let id = ids.get(backend);
  if (id === undefined) ids.set(backend, (id = ++lastId));
  return id;
}

/** A failed backend request as the client should see it. */
function backendFailure(backend: Backend, method: string, error: unknown, signal: Cancellable): McpError {
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

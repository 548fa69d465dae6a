// What front sessions run on: the set of them, the per-client views of the mirror, the request
// path (dispatch.ts), and the server→client traffic of the shared backend sessions (routing.ts).
// FastMCPProxy owns one and drives its lifecycle; nothing outside core sees it.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ErrorCode,
  McpError,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCRequest,
  type Notification,
  type Result,
  type ServerCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import { describe, type Backend } from "../backends/backend.js";
import { RELAY_CAPABILITIES, profileKey, type BackendPool, type BackendSink } from "../backends/pool.js";
import { prefixUri } from "../components/naming.js";
import type { ComponentRegistry } from "../components/registry.js";
import { plainMessage } from "../errors.js";
import type { ProxyEventBus } from "../events.js";
import type { Logger } from "../logger.js";
import { LIST_CHANGED } from "../methods.js";
import type { ResolvedOptions } from "../options.js";
import { Dispatcher, type DispatchHost } from "./dispatch.js";
import { FrontSession, type FrontExtra, type FrontHost, type FrontSessionOptions } from "./front-session.js";
import { ownerOf } from "./routing.js";
import { taskOf } from "./tasks.js";

const FULL_PROFILE = profileKey(RELAY_CAPABILITIES);

export interface SessionHostDeps {
  options: ResolvedOptions;
  logger: Logger;
  pool: BackendPool;
  /** The mirror as a client that declares every relayed capability sees it. */
  registry: ComponentRegistry;
  /** A new, empty mirror (for another capability profile). */
  newRegistry: () => ComponentRegistry;
  backends: readonly Backend[];
  events: ProxyEventBus;
  /** Why calls to a backend fail fast now, if they do. */
  unavailable: (backend: Backend) => string | undefined;
  /** A shared session of a backend closed (of the profile with these capabilities). */
  sharedLost: (backend: Backend, capabilities: ClientCapabilities) => void;
  hooks: Pick<DispatchHost, "beforeForward" | "afterForward">;
}

export class SessionHost implements FrontHost, DispatchHost {
  readonly sessions = new Set<FrontSession>();
  readonly dispatcher = new Dispatcher(this);
  readonly logger: Logger;
  readonly pool: BackendPool;
  readonly backends: readonly Backend[];
  /** Backends connected and mirrored, and what each can do. */
  readonly connected = new Map<Backend, ServerCapabilities>();
  capabilities: ServerCapabilities = {};
  instructions: string | undefined;
  /** A stdio front: one client, which shares every backend session. */
  singleFront = false;
  readonly #deps: SessionHostDeps;
  /** Whether any backend can open more than one session (else every profile sees the one mirror); decided on first use, after start. */
  #anyIsolatable: boolean | undefined;
  /** The mirrors of the other capability profiles, made on first use. */
  readonly #views = new Map<string, Promise<ComponentRegistry>>();
  /** Refreshes under way per backend and kind, and whether another must follow. */
  readonly #refreshing = new Map<string, { again: boolean }>();

  constructor(deps: SessionHostDeps) {
    this.#deps = deps;
    this.logger = deps.logger;
    this.pool = deps.pool;
    this.backends = deps.backends;
  }

  // ── What front sessions ask ─────────────────────────────────────────────────

  get serverInfo(): Implementation {
    return { name: this.#deps.options.name, version: this.#deps.options.version };
  }

  get timeouts(): { requestMs: number; maxTotalMs: number } {
    return { requestMs: this.#deps.options.timeoutMs, maxTotalMs: this.#deps.options.maxTimeoutMs };
  }

  get sessionLimits(): { maxSessions: number; idleTimeoutMs: number; maxInFlightPerBackend: number } {
    const { maxSessions, idleTimeoutMs, maxInFlightPerBackend } = this.#deps.options;
    return { maxSessions, idleTimeoutMs, maxInFlightPerBackend };
  }

  get pageSize(): number | undefined {
    return this.#deps.options.pageSize;
  }

  newSession(options?: FrontSessionOptions): FrontSession {
    const session = new FrontSession(this, options);
    this.sessions.add(session);
    return session;
  }

  detach(session: FrontSession): void {
    this.sessions.delete(session);
  }

  isolates(backend: Backend): boolean {
    const mode = this.#deps.options.sessions ?? (this.singleFront ? "shared" : "isolated");
    return mode === "isolated" && backend.connector.isolatable;
  }

  unavailable(backend: Backend): string | undefined {
    return this.#deps.unavailable(backend);
  }

  /** A backend's shared session for a capability profile; a backend with one session has one for all. */
  shared(backend: Backend, capabilities: ClientCapabilities = RELAY_CAPABILITIES): Promise<Client> {
    const key = primaryKey(backend, profileKey(capabilities));
    const profile = key === FULL_PROFILE ? RELAY_CAPABILITIES : capabilities;
    return this.pool.shared(backend, this.#sink(key), () => this.#deps.sharedLost(backend, profile), profile);
  }

  handle(session: FrontSession, request: JSONRPCRequest, extra: FrontExtra): Promise<Result> {
    return this.dispatcher.handle(session, request, extra);
  }

  // ── Views: a client sees what its own backend session would show it ─────────

  /** The mirror for the capabilities a session's client declared (kept per profile, not per request). */
  view(session: FrontSession): ComponentRegistry | Promise<ComponentRegistry> {
    const key = session.profileKey;
    // Backends are mounted before start() and never change after: decided once, not per request.
    this.#anyIsolatable ??= this.backends.some((b) => b.connector.isolatable);
    if (key === FULL_PROFILE || !this.#anyIsolatable) return this.#deps.registry;
    let view = this.#views.get(key);
    if (!view) {
      const registry = this.#deps.newRegistry();
      // Listed through the backend sessions this client will use anyway (its own, when isolated):
      // a new profile costs no session of its own. One its own credentials cannot open yet (a user
      // who has not signed in upstream) is listed through the profile's shared session instead.
      const capabilities = session.profile;
      const listing = async (backend: Backend) => session.client(backend).catch(() => this.shared(backend, capabilities));
      // A backend a reload takes out meanwhile is left out of the view, not a failure of it.
      const list = (backend: Backend) =>
        listing(backend)
          .then((client) => registry.discover(backend, client))
          .catch((error: unknown) => {
            if (this.connected.has(backend)) throw error;
          });
      view = Promise.all([...this.connected.keys()].map(list)).then(() => registry);
      this.#views.set(key, view);
      view.catch(() => this.#views.delete(key));
    }
    return view;
  }

  /** Every mirror there is, with the profile it lists for. */
  async #mirrors(): Promise<Array<{ registry: ComponentRegistry; capabilities: ClientCapabilities }>> {
    const others = await Promise.allSettled(
      [...this.#views.entries()].map(async ([key, view]) => ({ registry: await view, capabilities: JSON.parse(key) as ClientCapabilities })),
    );
    return [{ registry: this.#deps.registry, capabilities: RELAY_CAPABILITIES }, ...others.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))];
  }

  /** A backend went down or came back: its components leave or rejoin every view's lists. */
  async setDown(backend: Backend, down: boolean): Promise<void> {
    for (const { registry } of await this.#mirrors()) registry.setDown(backend, down);
  }

  /** Forgets the other profiles' views of a backend that was mirrored again (they are rebuilt on use). */
  resetViews(): void {
    this.#views.clear();
  }

  assertListable(): void {
    // Set by the proxy (fail-closed with a backend down); nothing by default.
    this.listGuard?.();
  }

  listGuard: (() => void) | undefined;

  backendsWith(test: (capabilities: ServerCapabilities) => boolean): Backend[] {
    return [...this.connected].flatMap(([backend, capabilities]) => (test(capabilities) ? [backend] : []));
  }

  beforeForward(ctx: Parameters<DispatchHost["beforeForward"]>[0]): void | Promise<void> {
    return this.#deps.hooks.beforeForward(ctx);
  }

  afterForward(...args: Parameters<DispatchHost["afterForward"]>): Result | Promise<Result> {
    return this.#deps.hooks.afterForward(...args);
  }

  // ── Server→client traffic ───────────────────────────────────────────────────

  /** A backend's list changed: mirror it again in every view, then tell every client (coalesced per backend and kind). */
  listChanged(backend: Backend, method: string): void {
    const kind = LIST_CHANGED[method];
    if (!kind) return;
    const key = `${backend.name}\0${kind}`;
    const running = this.#refreshing.get(key);
    if (running) return void (running.again = true);
    const state = { again: false };
    this.#refreshing.set(key, state);
    void (async () => {
      do {
        state.again = false;
        for (const { registry, capabilities } of await this.#mirrors()) await registry.discover(backend, await this.shared(backend, capabilities), [kind]);
      } while (state.again);
      this.#deps.events.emit("listChanged", { backend, kind });
      await Promise.all([...this.sessions].map((s) => s.notify({ method } as Notification)));
    })()
      .catch((error) => this.logger.warn(`refreshing ${kind} of ${describe(backend)} failed: ${plainMessage(error)}`))
      .finally(() => this.#refreshing.delete(key));
  }

  /** A backend said a resource changed: observers hear of it; the client gets it under the URI it knows. */
  resourceUpdated(backend: Backend, notification: Notification): Notification {
    const backendUri = String((notification.params as { uri?: unknown } | undefined)?.uri);
    const uri = prefixUri(backend.prefix, backendUri);
    this.#deps.events.emit("resourceUpdated", { backend, uri, backendUri });
    return uri === backendUri ? notification : { ...notification, params: { ...notification.params, uri } };
  }

  /** Tells every client that every list may have changed (a backend was lost or is back). */
  announceLists(): void {
    for (const session of this.sessions) for (const method of Object.keys(LIST_CHANGED)) void session.notify({ method } as Notification);
  }

  /**
   * A client's roots changed. Its own backend sessions were told by its front session; a shared
   * backend session is told only when this is its one client (a stdio front, say), since with
   * several clients the backend could not know whose roots changed.
   */
  rootsChanged(session: FrontSession): void {
    if (this.sessions.size !== 1) return;
    for (const backend of this.connected.keys()) {
      if (!session.sharesSession(backend)) continue;
      void session
        .client(backend)
        .then((client) => client.notification({ method: "notifications/roots/list_changed" }))
        .catch((error) => this.logger.debug(`could not tell ${describe(backend)} of changed roots: ${plainMessage(error)}`));
    }
  }

  /** Where a shared (primary) session of one profile sends its traffic: to the one client it belongs to, never to all. */
  #sink(profile: string): BackendSink {
    const sharing = (backend: Backend) => [...this.sessions].filter((s) => s.sharesSession(backend) && primaryKey(backend, s.profileKey) === profile);
    return {
      notification: (backend, notification) => {
        if (LIST_CHANGED[notification.method]) return this.listChanged(backend, notification.method);
        if (notification.method === "notifications/resources/updated") notification = this.resourceUpdated(backend, notification);
        const owner = ownerOf(sharing(backend), backend, taskOf(notification));
        if (owner && notification.method === "notifications/tasks/status") owner.session.observeTask(backend, notification.params);
        if (owner) void owner.session.notify(notification, owner.via);
        else this.logger.debug(`dropped ${notification.method} from ${describe(backend)}: no single client owns the shared session now`);
      },
      request: async (backend, request, signal) => {
        const clients = sharing(backend);
        const owner = ownerOf(clients, backend, taskOf(request));
        if (!owner) {
          throw new McpError(ErrorCode.InvalidRequest,
            `${request.method} from ${describe(backend)} cannot be routed: no single client of the shared session (${clients.length} connected) is waiting on it`);
        }
        return owner.session.request(backend, request, signal, owner.via);
      },
    };
  }
}

/** Which shared session of a backend a profile uses: its own, or the one there is for a backend with one session. */
function primaryKey(backend: Backend, profile: string): string {
  return backend.connector.isolatable ? profile : FULL_PROFILE;
}

// What every front runs on: the pipeline (dispatch.ts), the router of backend sessions
// (backends/router.ts), the per-profile views of the mirror, and the front sessions that listen for
// server→client traffic. FastMCPProxy owns one and drives its lifecycle; nothing outside core sees it.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ClientCapabilities, Implementation, Notification, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { describe, type Backend } from "../backends/backend.js";
import { RELAY_CAPABILITIES, type BackendPool } from "../backends/pool.js";
import { BackendRouter, type SessionMode } from "../backends/router.js";
import { prefixUri } from "../components/naming.js";
import type { ComponentRegistry } from "../components/registry.js";
import { plainMessage } from "../errors.js";
import type { ProxyEventBus } from "../events.js";
import type { Logger } from "../logger.js";
import { LIST_CHANGED } from "../methods.js";
import type { ResolvedOptions } from "../options.js";
import { callerShare, profileKey, type Call, type Listener } from "../tenant.js";
import { Dispatcher, type DispatchHost } from "./dispatch.js";

const FULL_PROFILE = profileKey(RELAY_CAPABILITIES);

/** A front session as the host sees it: a listener the proxy can tell of list changes. */
export interface HostedSession extends Listener {
  close(): Promise<void>;
  /** Requests being served now. */
  readonly pending: number;
}

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

export class SessionHost implements DispatchHost {
  readonly sessions = new Set<HostedSession>();
  readonly dispatcher = new Dispatcher(this);
  readonly router: BackendRouter;
  readonly logger: Logger;
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
    this.backends = deps.backends;
    const { options } = deps;
    this.router = new BackendRouter({
      pool: deps.pool,
      logger: deps.logger,
      mode: (): SessionMode => options.sessions ?? (this.singleFront ? "shared" : "isolated"),
      timeouts: () => ({ requestMs: options.timeoutMs, maxTotalMs: options.maxTimeoutMs, alwaysAskProgress: options.alwaysAskProgress }),
      limits: () => ({ maxSessions: options.maxSessions, maxSessionsPerCaller: options.maxSessionsPerCaller, idleTimeoutMs: options.idleTimeoutMs, maxInFlightPerBackend: options.maxInFlightPerBackend, maxInFlightPerCaller: options.maxInFlightPerCaller ?? callerShare(options.maxInFlightPerBackend), askingSessions: options.askingSessions }),
      unavailable: deps.unavailable,
      sharedLost: deps.sharedLost,
      listChanged: (backend, method) => this.listChanged(backend, method),
      resourceUpdated: (backend, notification) => this.resourceUpdated(backend, notification),
    });
  }

  get serverInfo(): Implementation {
    return { name: this.#deps.options.name, version: this.#deps.options.version };
  }

  get pageSize(): number | undefined {
    return this.#deps.options.pageSize;
  }

  // ── Front sessions ──────────────────────────────────────────────────────────

  attach(session: HostedSession): void {
    this.sessions.add(session);
    this.router.attach(session);
  }

  async detach(session: HostedSession): Promise<void> {
    this.sessions.delete(session);
    await this.router.detach(session);
  }

  ping(session: HostedSession, signal: AbortSignal): Promise<void> {
    return this.router.ping(session, [...this.connected.keys()], signal);
  }

  rootsChanged(session: HostedSession): void {
    this.router.rootsChanged(session, [...this.connected.keys()]);
  }

  releaseIdle(session: HostedSession): void {
    this.router.releaseIdle(session);
  }

  privateSessions(session: HostedSession): number {
    return this.router.privateSessions(session);
  }

  /** The pipeline, for every front (the dispatcher's own method: no frame of this file on a request's path). */
  readonly handle: (method: string, params: Record<string, unknown> | undefined, call: Call) => Promise<Result> = this.dispatcher.handle.bind(this.dispatcher);

  /** A backend's shared session for a capability profile (the proxy's own: discovery, supervision). */
  shared(backend: Backend, capabilities: ClientCapabilities = RELAY_CAPABILITIES): Promise<Client> {
    return this.router.shared(backend, capabilities);
  }

  // ── Views: a client sees what its own backend session would show it ─────────

  /** The mirror for the capabilities a caller declared (kept per profile, not per request). */
  view(call: Call): ComponentRegistry | Promise<ComponentRegistry> {
    const key = call.tenant.profileKey;
    // Backends are mounted before start() and never change after: decided once, not per request.
    this.#anyIsolatable ??= this.backends.some((b) => b.connector.isolatable);
    if (key === FULL_PROFILE || !this.#anyIsolatable) return this.#deps.registry;
    let view = this.#views.get(key);
    if (!view) {
      const registry = this.#deps.newRegistry();
      // Listed through the backend sessions this caller will use anyway: a new profile costs no
      // session of its own. One its credentials cannot open (a caller who has not signed in
      // upstream, an anonymous one) is listed through the profile's shared session: discovery.
      const capabilities = call.tenant.profile;
      const listing = async (backend: Backend) => this.router.client(backend, call).catch(() => this.shared(backend, capabilities));
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

  afterForward(ctx: Parameters<DispatchHost["afterForward"]>[0]): Result | Promise<Result> {
    return this.#deps.hooks.afterForward(ctx);
  }

  // ── Server→client traffic ───────────────────────────────────────────────────

  /** A backend's list changed: mirror it again in every view, then tell every client (coalesced per backend and kind). */
  listChanged(backend: Backend, method: string): void {
    const kind = LIST_CHANGED[method];
    if (!kind) return;
    // Said at once, every time: a cache drops what it holds of that list before the re-list ends.
    this.#deps.events.emit("listStale", { backend, kind });
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
      await Promise.all([...this.sessions].map((s) => s.notify({ method }).catch(() => {})));
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
    for (const session of this.sessions) for (const method of Object.keys(LIST_CHANGED)) void session.notify({ method }).catch(() => {});
  }
}

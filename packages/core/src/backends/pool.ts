import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ClientCapabilities, JSONRPCRequest, Notification, RequestId, Result } from "@modelcontextprotocol/sdk/types.js";
import { ProxyError, ProxyErrorCode, plainMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { profileKey, type Tenant } from "../tenant.js";
import { describe, type Backend, type BackendCredentials } from "./backend.js";
import type { HttpBackendTransport } from "./http-transport.js";

/** Where a backend session's server→client traffic goes: the front session that owns it, or the proxy. */
export interface BackendSink {
  notification(backend: Backend, notification: Notification): void;
  /** `asker`: the `relatedRequestId` of the request the backend asked this during, when its transport can tell. */
  request(backend: Backend, request: JSONRPCRequest, signal: AbortSignal, asker?: RequestId): Promise<Result>;
}

/** What the proxy declares to a backend it opens on its own behalf: everything it can relay. */
export const RELAY_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

export interface PoolOptions {
  clientInfo: { name: string; version: string };
  connectTimeoutMs: number;
  logger: Logger;
  /** Isolated sessions kept open ahead, per backend whose connector is `warm` (a stdio child), per profile. Default 0. */
  spareSessions?: number;
}

/** Where a session's traffic and its close go; a spare's are set when a front session takes it. */
interface Route {
  sink: BackendSink;
  onclose: (() => void) | undefined;
}

/** A spare's sink until a front session takes it: nobody to tell, nobody to ask. */
const PARKED: BackendSink = {
  notification: () => {},
  request: () => Promise.reject(new ProxyError(ProxyErrorCode.BackendUnavailable, "no client is using this backend session yet")),
};

/** Who a backend session is opened for: a tenant, or the proxy itself (no tenant: its own discovery). */
export interface SessionOwner {
  /** The tenant's latest credentials (read when used: a client that refreshes its token brings a new one). */
  readonly authInfo: AuthInfo | undefined;
  /** The front session, when the backend session is that session's own. */
  readonly sessionId: string | undefined;
  /** Undefined only for the proxy's own sessions (discovery, shared ones). */
  readonly tenant?: Tenant | undefined;
}

/**
 * Supplies credentials for each backend session as it is opened (see `FastMCPProxy.credentials`).
 * `perCaller(backend)` says which backends act with each caller's own credentials: those are never
 * reached with the proxy's (`owner.tenant` undefined) on a caller's behalf.
 */
export type CredentialsProvider = ((backend: Backend, owner: SessionOwner) => BackendCredentials | undefined | Promise<BackendCredentials | undefined>) & {
  readonly perCaller?: (backend: Backend) => boolean;
};

export interface OpenOptions {
  capabilities: ClientCapabilities;
  sink: BackendSink;
  onclose?: (() => void) | undefined;
  /** Refused (BackendUnavailable, before anything is started) when this many limited sessions are open with the backend. */
  maxSessions?: number | undefined;
  owner?: SessionOwner | undefined;
}

const PROXY_ITSELF: SessionOwner = { authInfo: undefined, sessionId: undefined };

/**
 * Opens backend sessions. Each backend has a shared session per capability profile (discovery,
 * list_changed, and the front sessions that share it); isolated front sessions open their own.
 */
export class BackendPool {
  readonly #options: PoolOptions;
  /** Per backend, per capability profile. */
  readonly #shared = new Map<Backend, Map<string, Promise<Client>>>();
  readonly #openClients = new Set<Client>();
  /** Sessions opened with a `maxSessions` limit (isolated ones), per backend, connecting ones included. */
  readonly #limited = new Map<Backend, number>();
  /** Isolated sessions opened ahead, per backend and profile. */
  readonly #spares = new Map<Backend, Map<string, Promise<Client>[]>>();
  readonly #routes = new WeakMap<Client, Route>();
  /** Sessions a closeAll is closing now. */
  readonly #closing = new Set<Client>();
  /** How to give back a limited session's place, once, when it closes. */
  readonly #unlimit = new WeakMap<Client, () => void>();
  /** Which backend each client was made for (what retire() closes). */
  readonly #backendOf = new WeakMap<Client, Backend>();
  /** Backends a reload took out: no session of theirs opens again. */
  readonly #retired = new WeakSet<Backend>();

  /** Whether a reload took the backend out (its calls then fail saying so). */
  isRetired(backend: Backend): boolean {
    return this.#retired.has(backend);
  }

  /** Per-session credentials; set once by the proxy. */
  credentials: CredentialsProvider | undefined;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /**
   * The backend's shared session for a capability profile (by default every capability the proxy
   * relays), reopened if it has closed; `onLost` hears when it closes.
   */
  shared(backend: Backend, sink: BackendSink, onLost?: () => void, capabilities: ClientCapabilities = RELAY_CAPABILITIES): Promise<Client> {
    if (this.#retired.has(backend)) return Promise.reject(removed(backend));
    let byProfile = this.#shared.get(backend);
    if (!byProfile) this.#shared.set(backend, (byProfile = new Map()));
    const key = profileKey(capabilities);
    let client = byProfile.get(key);
    if (!client) {
      const forget = () => byProfile.get(key) === client && byProfile.delete(key);
      client = this.open(backend, {
        capabilities,
        sink,
        onclose: () => {
          forget();
          onLost?.();
        },
      });
      byProfile.set(key, client);
      client.catch(forget);
    }
    return client;
  }

  /** How many sessions opened with a `maxSessions` limit (isolated sessions) are open with `backend`. */
  limitedSessions(backend: Backend): number {
    return this.#limited.get(backend) ?? 0;
  }

  /**
   * A new session with `backend`, declaring `capabilities`; its traffic goes to `sink`. An isolated
   * one (with `maxSessions`) is a spare opened ahead when there is one for that profile.
   */
  async open(backend: Backend, options: OpenOptions): Promise<Client> {
    if (this.#retired.has(backend)) throw removed(backend);
    if (options.maxSessions === undefined) return this.#open(backend, options);
    const spare = this.#spares.get(backend)?.get(profileKey(options.capabilities))?.shift();
    if (!spare) {
      // The client first, then a spare for the next one: a spare never takes a place a client needs.
      const client = await this.#open(backend, options);
      this.#refill(backend, options);
      return client;
    }
    this.#refill(backend, options);
    try {
      const client = await spare;
      const route = this.#routes.get(client)!;
      route.sink = options.sink;
      route.onclose = options.onclose;
      return client;
    } catch {
      return this.#open(backend, options);
    }
  }

  /** Keeps `spareSessions` isolated sessions of this profile open ahead (not for per-caller credentials). */
  #refill(backend: Backend, options: OpenOptions): void {
    const wanted = backend.connector.warm && !this.credentials ? (this.#options.spareSessions ?? 0) : 0;
    if (wanted <= 0) return;
    const key = profileKey(options.capabilities);
    let byProfile = this.#spares.get(backend);
    if (!byProfile) this.#spares.set(backend, (byProfile = new Map()));
    let spares = byProfile.get(key);
    if (!spares) byProfile.set(key, (spares = []));
    const list = spares;
    while (list.length < wanted) {
      const drop = () => list.includes(spare) && void list.splice(list.indexOf(spare), 1);
      const spare: Promise<Client> = this.#open(backend, { capabilities: options.capabilities, sink: PARKED, maxSessions: options.maxSessions, onclose: () => drop() });
      list.push(spare);
      spare.catch(drop);
    }
  }

  async #open(backend: Backend, options: OpenOptions): Promise<Client> {
    const { capabilities, sink, onclose, maxSessions } = options;
    const owner = options.owner ?? PROXY_ITSELF;
    const route: Route = { sink, onclose };
    if (maxSessions === undefined) return this.#connect(backend, capabilities, route, owner);
    const count = this.limitedSessions(backend);
    if (count >= maxSessions) {
      throw new ProxyError(
        ProxyErrorCode.BackendUnavailable,
        `Backend ${describe(backend)}: too many sessions (${count} open, maxSessions is ${maxSessions}); try again when a client has disconnected`,
        { maxSessions },
      );
    }
    this.#limited.set(backend, count + 1);
    let counted = true;
    const giveBack = () => {
      if (!counted) return;
      counted = false;
      const left = this.limitedSessions(backend) - 1;
      if (left > 0) this.#limited.set(backend, left);
      else this.#limited.delete(backend);
    };
    try {
      const client = await this.#connect(backend, capabilities, route, owner, giveBack);
      this.#unlimit.set(client, giveBack);
      return client;
    } catch (error) {
      giveBack();
      throw error;
    }
  }

  async #connect(backend: Backend, capabilities: ClientCapabilities, route: Route, owner: SessionOwner, giveBack?: () => void): Promise<Client> {
    const { clientInfo, connectTimeoutMs, logger } = this.#options;
    // Every client made is tracked from birth, so closeAll() also ends one still connecting.
    const made: Client[] = [];
    const newClient = () => {
      const client = new Client(clientInfo, { capabilities });
      client.fallbackNotificationHandler = async (notification) => route.sink.notification(backend, notification);
      client.fallbackRequestHandler = (request, extra) => route.sink.request(backend, request, extra.signal, askerOf(client, extra.requestId));
      made.push(client);
      this.#openClients.add(client);
      this.#backendOf.set(client, backend);
      return client;
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StartTimeout(`no answer to initialize within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    });
    let client: Client;
    try {
      const connecting = (async () => backend.connector.connect(newClient, await this.credentials?.(backend, owner)))();
      client = await Promise.race([connecting, timeout]);
    } catch (error) {
      // A failed or timed-out connect must not leave its child process behind.
      for (const half of made) {
        this.#openClients.delete(half);
        void half.close().catch(() => {});
      }
      throw connectFailure(backend, error);
    } finally {
      clearTimeout(timer);
    }
    keepWireOrder(client);
    this.#openClients.add(client);
    const previous = client.onclose;
    client.onclose = () => {
      this.#openClients.delete(client);
      logger.debug(`backend ${describe(backend)} session closed`);
      previous?.();
      giveBack?.();
      route.onclose?.();
    };
    client.onerror = (error) => logger.debug(`backend ${describe(backend)}: ${error.message}`);
    this.#routes.set(client, route);
    // Taken out by a reload while it was connecting: it must not outlive the backend.
    if (this.#retired.has(backend)) {
      await this.release(client);
      throw removed(backend);
    }
    return client;
  }

  /**
   * A reload took `backend` out: every session with it (shared, isolated, spares, connecting ones)
   * is closed, so calls in flight on them fail now, and none opens again.
   */
  async retire(backend: Backend): Promise<void> {
    this.#retired.add(backend);
    this.#shared.delete(backend);
    this.#spares.delete(backend);
    const clients = [...this.#openClients].filter((client) => this.#backendOf.get(client) === backend);
    await Promise.all(clients.map((client) => this.release(client)));
  }

  /** Closes a session this pool opened (a stdio child is ended: stdin closed, then SIGTERM, then SIGKILL). */
  async release(client: Client): Promise<void> {
    this.#openClients.delete(client);
    await client.close().catch(() => {});
    // Its place is given back once it has closed (its onclose normally did), not before.
    this.#unlimit.get(client)?.();
  }

  /**
   * Closes every session. With `force`, also those a closeAll already under way is closing, and
   * a stdio child gets SIGTERM at once rather than a grace period after its stdin ends.
   */
  async closeAll(options: { force?: boolean } = {}): Promise<void> {
    const clients = [...this.#openClients, ...(options.force ? this.#closing : [])];
    this.#openClients.clear();
    this.#shared.clear();
    this.#spares.clear();
    for (const client of clients) this.#unlimit.get(client)?.();
    await Promise.all(
      clients.map(async (client) => {
        this.#closing.add(client);
        try {
          if (options.force) await (client.transport as { close(graceMs?: number): Promise<void> } | undefined)?.close(0);
          await client.close();
        } catch {
          // closing anyway
        } finally {
          this.#closing.delete(client);
        }
      }),
    );
  }
}

export function removed(backend: Backend): ProxyError {
  return new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} was removed from the config`);
}

/**
 * Why a backend session could not be opened, as a client should read it: a backend that refused the
 * proxy's credentials (HTTP 401/403, or the SDK's UnauthorizedError) is an auth failure naming the
 * fix, never "check that the server is running". The original error stays as `cause`.
 */
function connectFailure(backend: Backend, error: unknown): ProxyError {
  const status = (error as { code?: unknown }).code;
  const name = (error as { name?: unknown }).name;
  const refused = name === "UnauthorizedError" ? 401 : error instanceof StreamableHTTPError && (status === 401 || status === 403) ? status : undefined;
  if (refused !== undefined) {
    const fix = `set mcpServers.${backend.name}.auth in the config, or run: fastmcp-proxy auth login ${backend.name} <config.json>`;
    return new ProxyError(refused === 401 ? ProxyErrorCode.Unauthorized : ProxyErrorCode.Forbidden,
      `Backend ${describe(backend)} refused the proxy's credentials (HTTP ${refused}): ${fix}`, undefined, { cause: error });
  }
  const data = error instanceof StartTimeout ? { slowStart: true } : undefined;
  return new ProxyError(ProxyErrorCode.BackendUnavailable, `Backend ${describe(backend)} is unavailable: ${plainMessage(error)}`, data, { cause: error });
}

/** A session whose backend did not answer `initialize` in time: slow (a starved machine), not crashed. */
class StartTimeout extends Error {}

/** Whether a session that could not start says nothing about the backend's health: a full pool, or a slow start. */
export function notACrash(error: unknown): boolean {
  const data = error instanceof ProxyError ? (error.data as { maxSessions?: number; slowStart?: boolean } | undefined) : undefined;
  return Boolean(data?.maxSessions || data?.slowStart);
}

const ordered = new WeakSet<Client>();

/**
 * The SDK client handles a response at once but a notification a microtask later, so a progress
 * notification read in the same chunk as its request's response finds its progress handler gone
 * and is lost (typically the last progress of a fast tool over stdio). Handling responses one
 * microtask later lets the notifications before them run first, as they came on the wire.
 */
function keepWireOrder(client: Client): void {
  const transport = client.transport;
  const onmessage = transport?.onmessage;
  if (!transport || !onmessage || ordered.has(client)) return;
  ordered.add(client);
  transport.onmessage = (message, extra) => {
    if ("id" in message && ("result" in message || "error" in message)) queueMicrotask(() => onmessage.call(transport, message, extra));
    else onmessage.call(transport, message, extra);
  };
}

/** Whose request a backend's request came during, when the session's transport can tell (HTTP: the request's own stream). */
function askerOf(client: Client, id: RequestId): RequestId | undefined {
  return (client.transport as Partial<Pick<HttpBackendTransport, "askerOf">> | undefined)?.askerOf?.(id);
}

/** Whether a session's transport tells whose request each backend request came during. */
export function attributesAsks(client: Client): boolean {
  return typeof (client.transport as Partial<Pick<HttpBackendTransport, "askerOf">> | undefined)?.askerOf === "function";
}

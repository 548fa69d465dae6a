import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  McpError,
  type ClientCapabilities,
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
import type { BackendPool, BackendSink } from "../backends/pool.js";
import { ProxyError, ProxyErrorCode, forwardedError, plainMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ProxyContext } from "../middleware/context.js";
import type { ProxyMethod, ResultOf } from "../methods.js";

export type FrontExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a front session needs from the proxy that owns it. */
export interface FrontHost {
  readonly serverInfo: Implementation;
  readonly capabilities: ServerCapabilities;
  readonly instructions: string | undefined;
  readonly pool: BackendPool;
  readonly logger: Logger;
  readonly timeouts: { requestMs: number; maxTotalMs: number };
  /** Whether this backend gets a session of its own per front session. */
  isolates(backend: Backend): boolean;
  /** The proxy's own sink for primary sessions. */
  readonly primarySink: BackendSink;
  /** A backend's primary (shared) session. */
  primary(backend: Backend): Promise<Client>;
  /** Why calls to a backend fail fast right now (a crash loop opened its breaker), if they do. */
  unavailable(backend: Backend): string | undefined;
  handle(session: FrontSession, request: JSONRPCRequest, extra: FrontExtra): Promise<Result>;
  /** A backend's list changed: refresh the mirror and tell every front session. */
  listChanged(backend: Backend, method: string): void;
  detach(session: FrontSession): void;
}

const LIST_CHANGED = new Set([
  "notifications/tools/list_changed",
  "notifications/resources/list_changed",
  "notifications/prompts/list_changed",
]);

/**
 * One client connection to the proxy: an SDK Server on a front transport, and the backend
 * sessions that serve it. Server→client traffic from its backend sessions comes back here only.
 */
export class FrontSession implements BackendSink {
  readonly server: Server;
  readonly #host: FrontHost;
  readonly #clients = new Map<Backend, Promise<Client>>();
  readonly #inFlight = new Map<RequestId, FrontExtra>();
  /** Requests of this session now waiting on a backend's shared (primary) session. */
  readonly #sharedCalls = new Map<FrontExtra, Backend>();
  readonly #shared: boolean;
  #closed = false;

  constructor(host: FrontHost, options: { shared?: boolean } = {}) {
    this.#host = host;
    this.#shared = options.shared ?? false;
    this.server = new Server(host.serverInfo, {
      capabilities: host.capabilities,
      ...(host.instructions === undefined ? {} : { instructions: host.instructions }),
    });
    // Every request goes through the proxy's one dispatch point, unparsed, so nothing is lost.
    this.server.removeRequestHandler("logging/setLevel");
    this.server.fallbackRequestHandler = async (request, extra) => {
      this.#inFlight.set(extra.requestId, extra);
      try {
        return await host.handle(this, request, extra);
      } finally {
        this.#inFlight.delete(extra.requestId);
      }
    };
    this.server.fallbackNotificationHandler = async (notification) => {
      if (notification.method === "notifications/roots/list_changed") {
        for (const client of this.#clients.values()) void client.then((c) => c.notification(notification)).catch(() => {});
      }
    };
    this.server.onclose = () => void this.close();
  }

  get id(): string | undefined {
    return this.server.transport?.sessionId;
  }

  get clientCapabilities(): ClientCapabilities | undefined {
    return this.server.getClientCapabilities();
  }

  /** Requests being served right now (for diagnostics and leak checks). */
  get pending(): number {
    return this.#inFlight.size;
  }

  connect(transport: Transport): Promise<void> {
    return this.server.connect(transport);
  }

  /** Whether this session reaches `backend` through its shared primary session rather than one of its own. */
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
    if (this.sharesSession(backend)) return this.#host.primary(backend);
    let client = this.#clients.get(backend);
    if (!client) {
      client = this.#host.pool.open(backend, relayable(this.clientCapabilities), this, () => this.#clients.delete(backend));
      this.#clients.set(backend, client);
      client.catch(() => this.#clients.delete(backend));
    }
    return client;
  }

  /**
   * Sends one request to a backend on behalf of `ctx`: the client's progress token is restored
   * on progress, cancellation is passed on, and failures name the backend.
   */
  async forward<M extends ProxyMethod>(backend: Backend, method: M, params: object, ctx: ProxyContext): Promise<ResultOf<M>> {
    const down = this.#host.unavailable(backend);
    if (down) throw new ProxyError(ProxyErrorCode.BackendUnavailable, down);
    const client = await this.client(backend);
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
        relayed = extra
          ?.sendNotification({ method: "notifications/progress", params: { ...progress, progressToken } } as ServerNotification)
          .catch(() => {});
      };
    }
    const { requestMs, maxTotalMs } = this.#host.timeouts;
    // On a shared backend session, the proxy routes server→client traffic by the calls waiting on it.
    const shared = extra !== undefined && this.sharesSession(backend);
    if (shared) this.#sharedCalls.set(extra, backend);
    let result: ResultOf<M>;
    try {
      result = (await client.request({ method, params: outgoing } as Request, passthrough, {
        signal: ctx.signal,
        timeout: backend.timeoutMs ?? requestMs,
        maxTotalTimeout: maxTotalMs,
        resetTimeoutOnProgress: true,
        ...(onprogress ? { onprogress } : {}),
      })) as ResultOf<M>;
    } catch (error) {
      throw backendFailure(backend, method, error, ctx.signal);
    } finally {
      if (shared) this.#sharedCalls.delete(extra);
    }
    if (relayed) await relayed;
    return result;
  }

  /** A notification from one of this session's backend sessions. */
  notification(backend: Backend, notification: Notification): void {
    if (LIST_CHANGED.has(notification.method)) return this.#host.listChanged(backend, notification.method);
    void this.notify(notification);
  }

  /**
   * A request from one of this session's backend sessions (sampling, elicitation, roots), sent on
   * the stream of `via` when given, else of the only request in flight, else on the standalone stream.
   */
  request(_backend: Backend, request: JSONRPCRequest, signal: AbortSignal, via?: FrontExtra): Promise<Result> {
    const related = via ?? this.#related();
    const message = { method: request.method, params: request.params } as ServerRequest;
    return related
      ? related.sendRequest(message, passthrough, { signal })
      : this.server.request(message, passthrough, { signal });
  }

  /** Sends to the client, on the stream of `via`, else of the request it most likely belongs to (the only one in flight). */
  async notify(notification: Notification, via?: FrontExtra): Promise<void> {
    if (this.#closed) return;
    const related = via ?? this.#related();
    try {
      if (related) await related.sendNotification(notification as ServerNotification);
      else await this.server.notification(notification as ServerNotification);
    } catch (error) {
      this.#host.logger.debug(`could not deliver ${notification.method}: ${plainMessage(error)}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.detach(this);
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((c) => c.then((client) => this.#host.pool.release(client), () => {})));
    await this.server.close().catch(() => {});
  }

  #related(): FrontExtra | undefined {
    if (this.#inFlight.size !== 1) return undefined;
    return this.#inFlight.values().next().value;
  }
}

/** The client capabilities a backend may use through this session: those the proxy can relay. */
function relayable(capabilities: ClientCapabilities | undefined): ClientCapabilities {
  if (!capabilities) return {};
  const { sampling, elicitation, roots } = capabilities;
  return { ...(sampling && { sampling }), ...(elicitation && { elicitation }), ...(roots && { roots }) };
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

import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  PingRequestSchema,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type ClientCapabilities,
  type Implementation,
  type Notification,
  type Request,
  type RequestId,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { passthrough } from "../wire/message.js";
import { plainMessage } from "../errors.js";
import { InFlightMap } from "../in-flight.js";
import type { Logger } from "../logger.js";
import type { HostedSession } from "../pipeline/session-host.js";
import { Cancellation } from "../cancellation.js";
import { tenantOf, type Call, type Channel, type Listener, type Tenant } from "../tenant.js";

export type FrontExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a front session needs from the proxy that owns it. */
export interface FrontHost {
  readonly serverInfo: Implementation;
  readonly capabilities: ServerCapabilities;
  readonly instructions: string | undefined;
  readonly logger: Logger;
  /** The pipeline every front hands its requests to. */
  handle(method: string, params: Record<string, unknown> | undefined, call: Call): Promise<Result>;
  attach(session: HostedSession): void;
  detach(session: HostedSession): Promise<void>;
  /** Pings the backend sessions this session is using. */
  ping(session: HostedSession, signal: AbortSignal): Promise<void>;
  /** Its client changed its roots: its own backend sessions (and a shared one it alone uses) are told. */
  rootsChanged(session: HostedSession): void;
  /** Lets go of its own backend sessions that nothing holds now. */
  releaseIdle(session: HostedSession): void;
  /** How many backend sessions of its own (or its tenant's) it has open. */
  privateSessions(session: HostedSession): number;
}

export interface FrontSessionOptions {
  /** A stateless HTTP request: nothing can be sent to its client but the answer, and nothing ties it to another request. */
  stateless?: boolean;
  /** Who opened the session (the HTTP front's `authenticate`). */
  authInfo?: AuthInfo | undefined;
  /** Its key (default: random): a session taken up on another replica keeps the one its id carries. */
  sessionKey?: string | undefined;
}

/** Requests the SDK Server answers itself; every other request goes straight to the pipeline. */
const SDK_ANSWERS = new Set(["initialize", "ping"]);

/**
 * One client connection to the proxy: an SDK Server on a front transport, and the channel back to
 * its client. Its requests go to the pipeline with its tenant; which backend sessions serve them
 * is the router's to decide. A request is read once, by the transport: all but `initialize` and
 * `ping` go from there to the pipeline, past the SDK `Protocol` (one table of requests in flight,
 * which `notifications/cancelled` aborts); the SDK Server keeps those two, notifications, and the
 * requests the proxy sends its client.
 */
export class FrontSession implements HostedSession {
  readonly server: Server;
  readonly sessionKey: string;
  readonly #host: FrontHost;
  readonly #stateless: boolean;
  /** Requests read and not answered yet, each with what aborts it. */
  readonly #inFlight = new InFlightMap<RequestId, Cancellation>();
  /** The caller's AuthInfo as of its latest request (a client that refreshes its token brings a new one). */
  #authInfo: AuthInfo | undefined;
  #tenant: Tenant | undefined;
  #closed = false;

  constructor(host: FrontHost, options: FrontSessionOptions = {}) {
    this.#host = host;
    this.#stateless = options.stateless ?? false;
    this.#authInfo = options.authInfo;
    this.sessionKey = options.sessionKey ?? randomUUID();
    this.server = new Server(host.serverInfo, {
      capabilities: host.capabilities,
      ...(host.instructions === undefined ? {} : { instructions: host.instructions }),
    });
    // What reaches the SDK Server unanswered goes to the pipeline too (the methods it knows are its own).
    this.server.removeRequestHandler("logging/setLevel");
    this.server.fallbackRequestHandler = async (request, extra) => host.handle(request.method, request.params, this.#call(extra.requestId, Cancellation.following(extra.signal), extra.authInfo));
    this.server.fallbackNotificationHandler = async (notification) => {
      if (notification.method === "notifications/roots/list_changed") host.rootsChanged(this);
    };
    // A client's ping checks the whole path: the backend sessions it is using must answer too.
    this.server.setRequestHandler(PingRequestSchema, async (_request, extra) => {
      await host.ping(this, extra.signal);
      return {};
    });
    this.server.onclose = () => void this.close();
    host.attach(this);
  }

  /** One request as the pipeline takes it: this session's tenant, and the request's own stream back. */
  #call(requestId: RequestId, cancellation: Cancellation, authInfo: AuthInfo | undefined): Call {
    // The HTTP front lets only the identity that opened the session use it: this is the same caller.
    if (authInfo) this.#authInfo = authInfo;
    return new FrontCall(this, requestId, cancellation, this.#stateless);
  }

  /** Takes a request the pipeline answers (or a cancellation of one) off the transport; false for anything else. */
  #take(message: JSONRPCMessage, extra: MessageExtraInfo | undefined, transport: Transport): boolean {
    if (!("method" in message)) return false;
    if (!("id" in message)) {
      if (message.method === "notifications/cancelled") {
        const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        const cancellation = id === undefined ? undefined : this.#inFlight.get(id);
        if (cancellation) {
          this.#inFlight.delete(id!);
          cancellation.abort((message.params as { reason?: unknown }).reason);
        }
      }
      return false;
    }
    if (SDK_ANSWERS.has(message.method)) return false;
    const { id, method, params } = message as JSONRPCRequest;
    if (this.#inFlight.has(id)) {
      // Two answers with one id could not be told apart.
      void transport.send({ jsonrpc: "2.0", id, error: { code: ErrorCode.InvalidRequest, message: `Invalid Request: a request with id ${JSON.stringify(id)} is already in flight` } }).catch(() => {});
      return true;
    }
    const cancellation = new Cancellation();
    this.#inFlight.set(id, cancellation);
    void this.#serve(id, method, params, cancellation, extra?.authInfo, transport);
    return true;
  }

  get id(): string | undefined {
    return this.server.transport?.sessionId;
  }

  /** What its client declared at initialize. */
  get capabilities(): ClientCapabilities | undefined {
    return this.server.getClientCapabilities();
  }

  /** Who opened this session, when the front authenticates its callers. */
  get authInfo(): AuthInfo | undefined {
    return this.#authInfo;
  }

  /**
   * Its tenant: its principal when authenticated, else this session (a stateless request: itself
   * alone); with the profile its client declared. Fixed once the client has initialized.
   */
  get tenant(): Tenant {
    if (this.#tenant) return this.#tenant;
    const declared = this.capabilities;
    const tenant = tenantOf({ authInfo: this.#authInfo, sessionId: this.#stateless ? undefined : this.sessionKey, capabilities: declared });
    if (declared) this.#tenant = tenant;
    return tenant;
  }

  /** Requests being served right now (for diagnostics and leak checks). */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** How many backend sessions of its own (or its tenant's) it has open. */
  get isolatedSessions(): number {
    return this.#host.privateSessions(this);
  }

  /** Answers one request from the pipeline, unless it was cancelled meanwhile (the spec: no answer then). */
  async #serve(id: RequestId, method: string, params: Record<string, unknown> | undefined, cancellation: Cancellation, authInfo: AuthInfo | undefined, transport: Transport): Promise<void> {
    let reply: JSONRPCMessage;
    try {
      reply = { jsonrpc: "2.0", id, result: await this.#host.handle(method, params, this.#call(id, cancellation, authInfo)) };
    } catch (caught) {
      const error = caught as { code?: unknown; message?: unknown; data?: unknown };
      const code = Number.isSafeInteger(error.code) ? (error.code as number) : ErrorCode.InternalError;
      const message = typeof error.message === "string" ? error.message : "Internal error";
      reply = { jsonrpc: "2.0", id, error: { code, message, ...(error.data !== undefined && { data: error.data }) } };
    }
    if (cancellation.aborted) return;
    this.#inFlight.delete(id);
    try {
      await transport.send(reply, { relatedRequestId: id });
    } catch (error) {
      this.#host.logger.debug(`could not answer ${method}: ${plainMessage(error)}`);
    }
  }

  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
    const sdkMessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (!this.#take(message, extra, transport)) sdkMessage?.call(transport, message, extra);
    };
  }

  /** Lets go now of its own backend sessions that nothing holds (no request, subscription or running task). */
  releaseIdle(): void {
    this.#host.releaseIdle(this);
  }

  // ── The listener: its client between requests ──────────────────────────────

  /** Sends to the client on the session's own stream. */
  async notify(notification: Notification): Promise<void> {
    if (this.#closed) return;
    try {
      await this.server.notification(notification as ServerNotification);
    } catch (error) {
      this.#host.logger.debug(`could not deliver ${notification.method}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  get request(): ((request: Request, signal: AbortSignal) => Promise<Result>) | undefined {
    if (this.#stateless) return undefined;
    return (request, signal) => this.server.request(request as ServerRequest, passthrough, { signal });
  }

  #onClosed!: () => void;
  /** Settles once the session has closed (its client went away, or the proxy closed it). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#onClosed = resolve));

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancellation of this.#inFlight.values()) cancellation.abort(undefined);
    this.#inFlight.clear();
    this.#onClosed();
    await this.#host.detach(this);
    await this.server.close().catch(() => {});
  }
}

/** One request of a front session: the call the pipeline takes, and its own stream back to the client (its channel). */
class FrontCall implements Call, Channel {
  readonly tenant: Tenant;
  readonly authInfo: AuthInfo | undefined;
  readonly capabilities: ClientCapabilities | undefined;
  readonly sessionId: string;
  readonly channel: Channel = this;
  /** Absent on a stateless request: nothing but its answer reaches the client. */
  readonly request: Channel["request"];
  readonly #session: FrontSession;

  constructor(
    session: FrontSession,
    readonly requestId: RequestId,
    readonly cancellation: Cancellation,
    stateless: boolean,
  ) {
    this.#session = session;
    this.tenant = session.tenant;
    this.authInfo = session.authInfo;
    this.capabilities = session.capabilities;
    this.sessionId = session.server.transport?.sessionId ?? session.sessionKey;
    this.request = stateless ? undefined : this.#ask;
  }

  get listener(): Listener {
    return this.#session;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  notify(notification: Notification): Promise<void> {
    return this.#session.server.notification(notification as ServerNotification, { relatedRequestId: this.requestId });
  }

  #ask(request: Request, signal: AbortSignal): Promise<Result> {
    return this.#session.server.request(request as ServerRequest, passthrough, { signal, relatedRequestId: this.requestId });
  }
}

import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  PingRequestSchema,
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
import type { Logger } from "../logger.js";
import type { HostedSession } from "../pipeline/session-host.js";
import { tenantOf, type Call, type Channel, type Tenant } from "../tenant.js";

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

/**
 * One client connection to the proxy: an SDK Server on a front transport, and the channel back to
 * its client. Its requests go to the pipeline with its tenant; which backend sessions serve them
 * is the router's to decide.
 */
export class FrontSession implements HostedSession {
  readonly server: Server;
  readonly sessionKey: string;
  readonly #host: FrontHost;
  readonly #stateless: boolean;
  readonly #inFlight = new Map<RequestId, FrontExtra>();
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
    // Every request goes to the pipeline, unparsed, so nothing is lost.
    this.server.removeRequestHandler("logging/setLevel");
    this.server.fallbackRequestHandler = async (request, extra) => {
      this.#inFlight.set(extra.requestId, extra);
      // The HTTP front lets only the identity that opened the session use it: this is the same caller.
      if (extra.authInfo) this.#authInfo = extra.authInfo;
      try {
        return await host.handle(request.method, request.params, this.#call(extra));
      } finally {
        this.#inFlight.delete(extra.requestId);
      }
    };
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
  #call(extra: FrontExtra): Call {
    const channel: Channel = {
      capabilities: this.capabilities,
      notify: (notification) => extra.sendNotification(notification as ServerNotification),
      request: this.#stateless ? undefined : (request, signal) => extra.sendRequest(request as ServerRequest, passthrough, { signal }),
    };
    return { tenant: this.tenant, authInfo: this.#authInfo, channel, listener: this, signal: extra.signal, requestId: extra.requestId, sessionId: extra.sessionId ?? this.sessionKey };
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

  connect(transport: Transport): Promise<void> {
    return this.server.connect(transport);
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
    this.#onClosed();
    await this.#host.detach(this);
    await this.server.close().catch(() => {});
  }
}

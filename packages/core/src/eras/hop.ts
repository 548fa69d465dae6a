import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResultSchema,
  type ClientCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { FrontSession } from "../serve/front-session.js";
import { isObject, type JsonObject } from "./wire.js";

/** A server→client request the proxy relayed during a call: it waits for the 2026 client's answer. */
export interface Ask {
  readonly method: string;
  readonly params: JsonObject;
  resolve(result: JsonObject): void;
  reject(error: Error): void;
}

export interface HopEvents {
  /** A backend asked for sampling, elicitation or roots (only those the client declared are accepted). */
  ask(ask: Ask): void;
  /** A log message for this request. */
  log(params: JsonObject): void;
}

/**
 * One 2026-07-28 request's way into the proxy: a front session of its own (on the backends' shared
 * sessions, as stateless HTTP does, when the host connects it so) with an in-memory SDK client that declares exactly the
 * capabilities of the request's `_meta`. Everything the proxy does for a legacy client (hooks,
 * middleware, routing of server→client traffic) happens unchanged; what comes back is collected here.
 */
export class Hop {
  readonly client: Client;
  readonly #session: FrontSession;
  #closed = false;

  private constructor(session: FrontSession, client: Client) {
    this.#session = session;
    this.client = client;
  }

  static async open(
    connect: (transport: Transport) => Promise<FrontSession>,
    envelope: { clientInfo?: unknown; capabilities?: unknown },
    authInfo: AuthInfo | undefined,
    events: HopEvents,
  ): Promise<Hop> {
    const capabilities = relayable(envelope.capabilities);
    const info = isObject(envelope.clientInfo) && typeof envelope.clientInfo.name === "string" ? envelope.clientInfo : { name: "2026-07-28 client", version: "0" };
    const client = new Client(info as { name: string; version: string }, { capabilities });
    const asked = (method: string) => async (request: { params?: unknown }) =>
      new Promise<JsonObject>((resolve, reject) => events.ask({ method, params: (request.params ?? {}) as JsonObject, resolve, reject }));
    if (capabilities.elicitation) client.setRequestHandler(ElicitRequestSchema, asked("elicitation/create") as never);
    if (capabilities.sampling) client.setRequestHandler(CreateMessageRequestSchema, asked("sampling/createMessage") as never);
    if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, asked("roots/list") as never);
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => events.log(n.params as JsonObject));

    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    if (authInfo) {
      // The front session sees the caller's AuthInfo on every message, as on the HTTP front.
      const send = clientSide.send.bind(clientSide);
      clientSide.send = (message, options) => send(message, { ...options, authInfo });
    }
    const hop = new Hop(await connect(serverSide), client);
    try {
      await client.connect(clientSide);
    } catch (error) {
      await hop.close();
      throw error;
    }
    return hop;
  }

  /** Sends the request through the proxy; the result as the proxy answered it, unparsed. */
  request(method: string, params: JsonObject, signal: AbortSignal, onprogress?: (progress: JsonObject) => void): Promise<JsonObject> {
    return this.client.request({ method, params } as never, ResultSchema.passthrough(), {
      signal,
      timeout: 24 * 60 * 60_000, // the proxy's own backend timeouts apply; this hop adds none
      ...(onprogress ? { onprogress: onprogress as never, resetTimeoutOnProgress: true } : {}),
    }) as Promise<JsonObject>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.client.close().catch(() => {});
    await this.#session.close();
  }
}

/** The client capabilities the proxy can relay server→client requests for. */
function relayable(capabilities: unknown): ClientCapabilities {
  if (!isObject(capabilities)) return {};
  const out: ClientCapabilities = {};
  if (isObject(capabilities.elicitation)) out.elicitation = capabilities.elicitation;
  if (isObject(capabilities.sampling)) out.sampling = capabilities.sampling;
  if (isObject(capabilities.roots)) out.roots = {};
  return out;
}

import { randomUUID } from "node:crypto";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { Server, ServerNotifier } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { StdioFrontTransport } from "../serve/stdio.js";
import type { ModernFrontHost, ModernFrontOptions } from "./modern-front.js";
import { ModernCore } from "./modern-server.js";
import { listenedUris, listenerCapabilities } from "./watcher.js";
import { META, MODERN_VERSIONS, UNSUPPORTED_PROTOCOL_VERSION, isObject } from "./wire.js";

export interface StdioFront {
  /** Settles once the client has gone (stdin ended, and the requests read were answered) or close(). */
  readonly closed: Promise<void>;
  /** Which era the client spoke first, once it has spoken. */
  readonly era: "legacy" | "modern" | undefined;
  /** 2026 calls now held open for a retry. */
  readonly held: number;
  close(): Promise<void>;
}

/**
 * The stdio front for both eras. The v2 SDK's `serveStdio` reads the opening message: `initialize`
 * (or any message without a 2026 `_meta` claim) pins the connection to a legacy front session, served
 * exactly as before; a 2026-07-28 request pins it to one 2026 server, whose requests go to the pipeline
 * as on HTTP, and the SDK serves `subscriptions/listen` on the connection. Once a legacy connection is
 * pinned, its messages bypass serveStdio (`LegacyLine`). `modern: false` keeps it legacy.
 */
export function serveStdioFront(host: ModernFrontHost, transport: StdioFrontTransport, options: ModernFrontOptions | false = {}): StdioFront {
  if (options === false) {
    const session = host.connectLegacy(transport);
    session.catch((error: unknown) => host.logger.error(`stdio front: ${String(error)}`));
    return { closed: transport.closed, era: "legacy", held: 0, close: () => session.then((s) => s.close(), () => transport.close()) };
  }
  let era: StdioFront["era"];
  let pinned: Server | undefined;
  let legacy: LegacyLine | undefined;
  /** Messages handed to serveStdio. */
  let handed = 0;
  const notifier = pinnedNotifier(() => pinned);
  // One client on the pipe: its 2026 requests are one caller's (a session's, as a legacy client's are).
  const core = new ModernCore(host, options, () => notifier, randomUUID());
  // serveStdio connects whatever its factory makes with connect() and close() only: a legacy
  // connection gets the proxy's own front session behind that pair.
  const handle = serveStdio(
    async (context) => {
      era = context?.era === "modern" ? "modern" : "legacy";
      const mcp = era === "modern" ? core.server() : undefined;
      pinned = mcp?.server;
      return mcp ?? (new LegacySession(host, transport, (line) => (legacy = line)) as unknown as Server);
    },
    { transport, onerror: (error) => host.logger.debug(`stdio front: ${error.message}`) },
  );
  const listens = new ListenWatch(core, () => era);
  const deliver = transport.onmessage!;
  transport.onmessage = (message, extra) => {
    if (legacy?.relayed === handed) return legacy.deliver(message, extra);
    // Once pinned, the SDK checks each request's envelope but not the version it names: the proxy does.
    const refused = era === "modern" ? unsupportedVersion(message) : undefined;
    if (refused) return void transport.send(refused).catch(() => {});
    listens.observe(message);
    handed++;
    deliver(message, extra);
  };
  const closed = transport.closed.then(async () => {
    listens.releaseAll();
    await core.close();
  });
  return {
    closed,
    get era() {
      return era;
    },
    get held() {
      return core.held;
    },
    async close() {
      await handle.close();
      await closed;
    },
  };
}

/** The -32022 answer to a request on a 2026 connection that names a revision the proxy does not speak. */
function unsupportedVersion(message: JSONRPCMessage): JSONRPCMessage | undefined {
  if (!("method" in message) || !("id" in message) || !isObject(message.params) || !isObject(message.params._meta)) return undefined;
  const requested = message.params._meta[META.protocolVersion];
  if (requested === undefined || MODERN_VERSIONS.includes(requested as string)) return undefined;
  const data = { supported: [...MODERN_VERSIONS], requested };
  return { jsonrpc: "2.0", id: message.id, error: { code: UNSUPPORTED_PROTOCOL_VERSION, message: `Unsupported protocol version: ${String(requested)}`, data } };
}

/** A legacy stdio client's front session, made when serveStdio connects it. */
class LegacySession {
  readonly #host: ModernFrontHost;
  readonly #wire: StdioFrontTransport;
  readonly #pinned: (line: LegacyLine) => void;
  #session: { close(): Promise<void> } | undefined;

  constructor(host: ModernFrontHost, wire: StdioFrontTransport, pinned: (line: LegacyLine) => void) {
    this.#host = host;
    this.#wire = wire;
    this.#pinned = pinned;
  }

  async connect(channel: Transport): Promise<void> {
    const line = new LegacyLine(channel, this.#wire);
    this.#session = await this.#host.connectLegacy(line);
    this.#pinned(line);
  }

  async close(): Promise<void> {
    await this.#session?.close();
  }
}

/**
 * A pinned legacy session's transport. serveStdio keeps classifying (zod) and queueing every message
 * of a connection it has pinned; once all it was handed has come out of its channel, the messages
 * that follow go straight from the wire to the session, and its answers straight to the wire.
 */
class LegacyLine implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  readonly #channel: Transport;
  readonly #wire: StdioFrontTransport;
  /** Messages serveStdio has relayed: once all it was handed, its queue is empty. */
  relayed = 0;
  #closed = false;

  constructor(channel: Transport, wire: StdioFrontTransport) {
    this.#channel = channel;
    this.#wire = wire;
    channel.onmessage = (message, extra) => {
      this.relayed++;
      this.onmessage?.(message, extra);
    };
    channel.onclose = () => {
      this.#closed = true;
      this.onclose?.();
    };
    channel.onerror = (error) => this.onerror?.(error);
  }

  /** A message straight from the wire. */
  deliver(message: JSONRPCMessage, extra: Parameters<NonNullable<Transport["onmessage"]>>[1]): void {
    if (!this.#closed) this.onmessage?.(message, extra);
  }

  start(): Promise<void> {
    return this.#channel.start();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.#wire.send(message);
  }

  close(): Promise<void> {
    return this.#channel.close();
  }
}

/** The proxy's list changes and resource updates, sent by the pinned 2026 server (the SDK routes them onto the listen streams). */
function pinnedNotifier(server: () => Server | undefined): ServerNotifier {
  const send = (notification: Promise<void> | undefined) => void notification?.catch(() => {});
  return {
    toolsChanged: () => send(server()?.sendToolListChanged()),
    promptsChanged: () => send(server()?.sendPromptListChanged()),
    resourcesChanged: () => send(server()?.sendResourceListChanged()),
    resourceUpdated: (uri) => send(server()?.sendResourceUpdated({ uri })),
  };
}

/** The resources the connection's listen streams name: subscribed to through the watcher until each stream is cancelled. */
class ListenWatch {
  readonly #core: ModernCore;
  readonly #era: () => StdioFront["era"];
  readonly #released = new Map<RequestId, Promise<(() => void) | undefined>>();

  constructor(core: ModernCore, era: () => StdioFront["era"]) {
    this.#core = core;
    this.#era = era;
  }

  observe(message: unknown): void {
    if (this.#era() === "legacy" || !isObject(message)) return;
    const id = message.id as RequestId | undefined;
    const uris = listenedUris(message);
    if (uris.length > 0 && id !== undefined && !this.#released.has(id)) {
      // The front's one client: its updates go to it.
      const caller = { authInfo: undefined, capabilities: listenerCapabilities(message), sessionId: this.#core.front.caller, tell: (uri: string) => this.#core.notify().resourceUpdated(uri) };
      this.#released.set(id, this.#core.watching().watch(uris, caller).catch(() => undefined));
    }
    if (message.method === "notifications/cancelled" && isObject(message.params)) this.#release(message.params.requestId as RequestId);
  }

  #release(id: RequestId): void {
    const release = this.#released.get(id);
    this.#released.delete(id);
    void release?.then((let_go) => let_go?.());
  }

  releaseAll(): void {
    for (const id of [...this.#released.keys()]) this.#release(id);
  }
}

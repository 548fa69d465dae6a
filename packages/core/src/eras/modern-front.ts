import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Implementation, Result, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { SUPPORTED_PROTOCOL_VERSIONS, createMcpHandler, type McpHttpHandler, type ServerNotifier } from "@modelcontextprotocol/server";
import { httpStatusOf } from "../errors.js";
import type { ProxyEventListener, ProxyEventName } from "../events.js";
import type { Logger } from "../logger.js";
import type { Call } from "../tenant.js";
import { Lanes, isFastRequest } from "./lanes.js";
import { ModernCore } from "./modern-server.js";
import { ListenBus } from "./listen-bus.js";
import { listenedUris, listenerCapabilities } from "./watcher.js";
import { headersOf, sendResponse, toRequest } from "./node-fetch.js";
import type { RequestStateOptions } from "./request-state.js";
import { MODERN_VERSION } from "./wire.js";

/** What the 2026-07-28 fronts need of the proxy. */
export interface ModernFrontHost {
  readonly logger: Logger;
  /** The proxy's name and version. */
  readonly serverInfo: Implementation;
  /** What its backends can do, mirrored. */
  readonly capabilities: ServerCapabilities;
  /** The instructions it gives clients (by default one backend's own). */
  readonly instructions: string | undefined;
  /** The pipeline every front hands its requests to. */
  handle(method: string, params: Record<string, unknown> | undefined, call: Call): Promise<Result>;
  /** A legacy client's front session on `transport` (a stdio connection whose first message was legacy). */
  connectLegacy(transport: Transport): Promise<{ close(): Promise<void> }>;
  /** The proxy's events: list changes and resource updates reach `subscriptions/listen` streams. */
  on<E extends ProxyEventName>(event: E, listener: ProxyEventListener<E>): () => void;
}

export interface ModernFrontOptions {
  /** Signing of the requestState minted for bridged server→client requests. */
  requestState?: RequestStateOptions;
  /**
   * Calls held open awaiting a client's retry: at most `max` (default 100), `maxPerCaller` of one
   * caller's (default a quarter of `max`), each `holdMs` (default 60 s).
   */
  held?: { max?: number; maxPerCaller?: number; holdMs?: number };
  /** `ttlMs` on the lists the proxy answers from its mirror. Default 0 (revalidate). */
  listTtlMs?: number;
  /**
   * `cacheScope` on those lists. Default "private": the mirror can differ per caller (auth rules,
   * `ctx.hide`, the capabilities a client declares). "public" is applied to anonymous callers only.
   */
  listCacheScope?: "public" | "private";
  /**
   * Default true: a proxied request (tools/call, resources/read, prompts/get, the lists, completion)
   * that is plainly well-formed is served by a long-lived server, not a new one per request. The
   * answers are the same; false sends every request through the SDK's per-request entry.
   */
  fastPath?: boolean;
}

export interface ModernFront {
  /** Serves one 2026-07-28 request (`body` already parsed). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, authInfo?: AuthInfo): Promise<void>;
  /** Publishes list changes and resource updates to open `subscriptions/listen` streams. */
  readonly notify: ServerNotifier;
  /** Calls now held open for a retry. */
  readonly held: number;
  close(): Promise<void>;
}

/**
 * The 2026-07-28 face of the proxy. The v2 SDK's `createMcpHandler` does the revision's wire duties
 * (the `_meta` and header ladder with its error codes and statuses, server/discover, resultType, cache
 * hint defaults, log levels from `_meta`, subscriptions/listen); each request then goes to the
 * proxy's one pipeline with its tenant. A backend's server→client request during a call becomes
 * `input_required` with a signed requestState; the retry answers it and resumes the held call.
 */
export function createModernFront(host: ModernFrontHost, options: ModernFrontOptions = {}): ModernFront {
  const core = new ModernCore(host, options, () => handler.notify);
  const onerror = (error: Error) => host.logger.debug(`2026-07-28 front: ${error.message}`);
  const bus = new ListenBus(onerror);
  const handler: McpHttpHandler = createMcpHandler(async () => core.server(), { legacy: "reject", onerror, bus });
  // The proxied methods, plainly well-formed, skip the SDK's per-request server (same answers: lanes.ts).
  const lanes = new Lanes(core.front, () => core.server([...SUPPORTED_PROTOCOL_VERSIONS, MODERN_VERSION]));
  return {
    async handle(req, res, body, authInfo) {
      // A listen stream that names resources: they are subscribed to as its caller while it is open,
      // and their updates go to this stream (the owner of what it subscribed) alone.
      const uris = listenedUris(body);
      const stream = {};
      const tell = (uri: string) => bus.publishTo(stream, { kind: "resource_updated", uri });
      const release = uris.length > 0 ? await core.watching().watch(uris, { authInfo, capabilities: listenerCapabilities(body), tell }).catch(() => undefined) : undefined;
      try {
        await core.knowTool(body);
        if (options.fastPath !== false && isFastRequest(core.front, req, body)) return await lanes.serve(res, body, authInfo);
        const serve = async () => sendAnswer(await handler.fetch(toRequest(req, res), { parsedBody: body, ...(authInfo ? { authInfo } : {}) }), res);
        await (release ? bus.as(stream, serve) : serve());
      } finally {
        release?.();
      }
    },
    notify: handler.notify,
    get held() {
      return core.held;
    },
    async close() {
      await core.close();
      await lanes.close();
      await handler.close();
    },
  };
}

/**
 * Sends the SDK's answer. A JSON one is read whole and written at once; when it is an error that
 * carries an HttpError's status (401 for a caller a backend needs an identity from, 403 for a
 * missing scope) it is sent with that status and its headers, as on the legacy front. A stream is
 * streamed as it is.
 */
async function sendAnswer(response: Response, res: ServerResponse): Promise<void> {
  if (response.status !== 200 || !response.headers.get("content-type")?.includes("application/json")) return sendResponse(response, res);
  const text = await response.text();
  const refusal = text.includes('"error"') ? refusalIn(text) : undefined;
  res.writeHead(refusal?.status ?? 200, { ...headersOf(response), ...refusal?.headers, "content-length": String(Buffer.byteLength(text)) }).end(text);
}

function refusalIn(text: string): ReturnType<typeof httpStatusOf> {
  try {
    return httpStatusOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

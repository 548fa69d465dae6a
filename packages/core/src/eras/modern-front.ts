import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { Server, createMcpHandler, type McpHttpHandler, type ServerContext, type ServerNotifier } from "@modelcontextprotocol/server";
import { identityOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { FrontSession } from "../serve/front-session.js";
import { HeldCalls } from "./exchange.js";
import { HopPool } from "./hop-pool.js";
import { Watcher, listenedUris } from "./watcher.js";
import { sendResponse, toRequest } from "./node-fetch.js";
import { RequestStateCodec, type RequestStateOptions } from "./request-state.js";
import { once, openHop, rounds, type Front } from "./requests.js";
import { FRONT_CAPABILITIES_META, META, MULTI_ROUND_METHODS, isObject, type JsonObject } from "./wire.js";

export interface ModernFrontHost {
  readonly logger: Logger;
  /**
   * Connects a new front session of the proxy to `transport`, one per 2026 request: on the backends'
   * shared sessions (`shared`, for requests that cannot ask for input), or on sessions of its own, so
   * that a backend's server→client request during the call is attributed to it without doubt.
   */
  connect(transport: Transport, authInfo: AuthInfo | undefined, options: { shared: boolean }): Promise<FrontSession>;
}


export interface ModernFrontOptions {
  /** Signing of the requestState minted for bridged server→client requests. */
  requestState?: RequestStateOptions;
  /** Calls held open awaiting a client's retry: at most `max` (default 100), each `holdMs` (default 60 s). */
  held?: { max?: number; holdMs?: number };
  /** `ttlMs` on the lists the proxy answers from its mirror. Default 0 (revalidate). */
  listTtlMs?: number;
  /**
   * `cacheScope` on those lists. Default "private": the mirror can differ per caller (auth rules,
   * `ctx.hide`, the capabilities a client declares). "public" is applied to anonymous callers only.
   */
  listCacheScope?: "public" | "private";
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

/** The methods answered, and the capability each needs. */
const METHODS: Array<[method: string, capability: keyof ServerCapabilities]> = [
  ["tools/list", "tools"],
  ["tools/call", "tools"],
  ["prompts/list", "prompts"],
  ["prompts/get", "prompts"],
  ["resources/list", "resources"],
  ["resources/templates/list", "resources"],
  ["resources/read", "resources"],
  ["completion/complete", "completions"],
];
const LISTS = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);

/**
 * The 2026-07-28 face of the proxy. The v2 SDK's `createMcpHandler` does the revision's wire duties
 * (the `_meta` and header ladder with its error codes and statuses, server/discover, resultType, cache
 * hint defaults, log levels from `_meta`, subscriptions/listen); each request is then served by the
 * proxy as for any client, through a Hop. A backend's server→client request during a call becomes
 * `input_required` with a signed requestState; the retry answers it and resumes the held call.
 */
export function createModernFront(host: ModernFrontHost, options: ModernFrontOptions = {}): ModernFront {
  const codec = new RequestStateCodec(options.requestState);
  const held = new HeldCalls(options.held);
  const hops = new HopPool();
  const front: Front = { host, options, codec, held, hops, face: undefined };
  let watcher: Promise<Watcher> | undefined;
  // The first request opens the watcher, which also learns what the proxy says about itself.
  const watching = () => (watcher ??= Watcher.open(front, () => handler.notify));
  const factory = async () => {
    if (!front.face) await watching();
    else void watching();
    return modernServer(front);
  };
  const handler: McpHttpHandler = createMcpHandler(factory, {
    legacy: "reject",
    onerror: (error) => host.logger.debug(`2026-07-28 front: ${error.message}`),
  });
  return {
    async handle(req, res, body, authInfo) {
      // A listen stream that names resources: they are subscribed to while it is open.
      const uris = listenedUris(body);
      const release = uris.length > 0 ? await (await watching()).watch(uris).catch(() => undefined) : undefined;
      try {
        const response = await handler.fetch(toRequest(req, body), { parsedBody: body, ...(authInfo ? { authInfo } : {}) });
        await sendResponse(response, res);
      } finally {
        release?.();
      }
    },
    notify: handler.notify,
    get held() {
      return held.size;
    },
    async close() {
      await held.close();
      await hops.close();
      await handler.close();
      await watcher?.then((w) => w.close(), () => {});
    },
  };
}

function modernServer(front: Front): Server {
  const { codec, options } = front;
  const face = front.face!;
  const { tasks: _tasks, ...capabilities } = face.capabilities as ServerCapabilities & { tasks?: unknown };
  const server = new Server(face.serverInfo, {
    capabilities: capabilities as never,
    ...(face.instructions ? { instructions: face.instructions } : {}),
    // A forged, expired or someone else's state is refused before a handler runs (-32602).
    // The proxy's own states (a bridged legacy call) are checked here; any other is a 2026 backend's,
    // passed through for the backend to check.
    requestState: { verify: (state: string, ctx: ServerContext) => (codec.owns(state) ? codec.open(state, identityOf(ctx.http?.authInfo)) : undefined) },
  });
  for (const [method, capability] of METHODS) {
    if (!face.capabilities[capability]) continue;
    server.setRequestHandler(method as "tools/list", (async (request: { params?: JsonObject }, ctx: ServerContext) => {
      const params = forwardParams(request.params, ctx);
      if (MULTI_ROUND_METHODS.has(method)) return rounds(front, method, params, ctx);
      const result = await once(front, method, params, ctx);
      if (!LISTS.has(method)) return result;
      const scope = options.listCacheScope === "public" && !ctx.http?.authInfo ? "public" : "private";
      return { ...result, ttlMs: options.listTtlMs ?? 0, cacheScope: scope };
    }) as never);
  }
  return server;
}

/**
 * The params to forward: the request's own, with the capabilities it declared (a 2026 backend needs
 * them), and its inputResponses and requestState unless the state is the proxy's own (those answer a
 * held call here): a 2026 backend's multi-round state passes through untouched.
 */
function forwardParams(params: JsonObject | undefined, ctx: ServerContext): JsonObject {
  const { inputResponses: _r, requestState: _s, ...rest } = params ?? {};
  const meta: JsonObject = { ...(isObject(rest._meta) ? rest._meta : {}), ...(ctx.mcpReq._meta ?? {}) };
  for (const key of Object.values(META)) delete meta[key];
  const declared = (ctx.mcpReq.envelope as JsonObject | undefined)?.[META.clientCapabilities];
  if (isObject(declared)) meta[FRONT_CAPABILITIES_META] = declared;
  const state = ctx.mcpReq.requestState();
  const ours = state !== undefined && typeof state !== "string";
  return {
    ...rest,
    _meta: meta,
    ...(!ours && ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
    ...(typeof state === "string" ? { requestState: state } : {}),
  };
}


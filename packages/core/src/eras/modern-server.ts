// The 2026-07-28 server the fronts put in front of the proxy (HTTP: one per request; stdio: one per
// connection): a v2 SDK Server whose handlers hand each request to the proxy's one pipeline.
import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { McpServer, type ServerContext, type ServerNotifier } from "@modelcontextprotocol/server";
import { identityOf } from "../errors.js";
import { METHODS, type ProxyMethod } from "../methods.js";
import { HeldCalls } from "./exchange.js";
import type { ModernFrontHost, ModernFrontOptions } from "./modern-front.js";
import { ListedSchemas } from "./param-headers.js";
import { RequestStateCodec } from "./request-state.js";
import { declaresInput, once, rounds, type Front, type RequestContext } from "./requests.js";
import { Watcher } from "./watcher.js";
import { FRONT_CAPABILITIES_META, META, isObject, type JsonObject } from "./wire.js";

/** The methods a 2026-07-28 client may call: the method table's entries of both eras. */
const MODERN_METHODS = (Object.keys(METHODS) as ProxyMethod[]).filter((method) => METHODS[method].era !== "legacy");

/**
 * What every 2026 front of one proxy shares: the requestState key, the held calls, the tools'
 * schemas, and the watcher of list changes and resource updates for `subscriptions/listen`.
 */
export class ModernCore {
  readonly front: Front;
  readonly #watcher: Watcher;

  /** `caller`: the one client of a stdio front (see `Front.caller`). */
  constructor(
    host: ModernFrontHost,
    options: ModernFrontOptions,
    /** What the front's listen streams are told through. */
    readonly notify: () => ServerNotifier,
    caller?: string,
  ) {
    this.front = { host, options, codec: new RequestStateCodec(options.requestState), held: new HeldCalls(options.held), schemas: new ListedSchemas(), caller };
    this.#watcher = new Watcher(host, notify);
  }

  watching(): Watcher {
    return this.#watcher;
  }

  /** A new server instance; `versions`: the revisions it serves (a long-lived one binds to 2026-07-28 when it connects). */
  server(versions?: string[]): McpServer {
    return modernServer(this.front, versions);
  }

  /** Before a tools/call: the tool's schema known (listed now if never seen), for the SDK's Mcp-Param-* check. */
  async knowTool(body: unknown): Promise<void> {
    const name = isObject(body) && body.method === "tools/call" && isObject(body.params) ? body.params.name : undefined;
    if (typeof name !== "string" || !this.front.schemas.stale(name)) return;
    const pages = await this.#watcher.list("tools/list").catch(() => []);
    for (const page of pages) this.front.schemas.learn(page);
  }

  get held(): number {
    return this.front.held.size;
  }

  async close(): Promise<void> {
    await this.front.held.close();
    await this.#watcher.close();
  }
}

/**
 * An McpServer for one thing only: on HTTP the SDK checks a tools/call's `Mcp-Param-*` headers against
 * `toolInputSchemaJson(name)` (-32020, HTTP 400, after its own header and `_meta` checks), and only
 * for an McpServer. Here that is the schema the proxy listed; every handler is the proxy's own.
 */
class ProxyMcpServer extends McpServer {
  readonly #schemas: ListedSchemas;

  constructor(schemas: ListedSchemas, ...args: ConstructorParameters<typeof McpServer>) {
    super(...args);
    this.#schemas = schemas;
  }

  override toolInputSchemaJson(name: string): Record<string, unknown> | undefined {
    return this.#schemas.get(name);
  }
}

function modernServer(front: Front, versions?: string[]): McpServer {
  const { codec, host } = front;
  const { tasks: _tasks, ...capabilities } = host.capabilities as ServerCapabilities & { tasks?: unknown };
  // The capabilities are registered after construction: given to McpServer, they would add listChanged.
  const mcp = new ProxyMcpServer(front.schemas, host.serverInfo, {
    ...(host.instructions ? { instructions: host.instructions } : {}),
    ...(versions && { supportedProtocolVersions: versions }),
    // A forged, expired or someone else's state is refused before a handler runs (-32602).
    // The proxy's own states (a bridged legacy call) are checked here; any other is a 2026 backend's,
    // passed through for the backend to check.
    requestState: { verify: (state: string, ctx: ServerContext) => (codec.owns(state) ? codec.open(state, identityOf(ctx.http?.authInfo)) : undefined) },
  });
  const server = mcp.server;
  server.registerCapabilities(capabilities as never);
  for (const method of MODERN_METHODS) {
    if (!METHODS[method].supported(host.capabilities)) continue;
    server.setRequestHandler(method as "tools/list", ((request: { params?: JsonObject }, ctx: ServerContext) => answer(front, method, request.params, contextOf(ctx))) as never);
  }
  return mcp;
}

/** The proxy's answer to one 2026 request, whichever way it came (the SDK's dispatch or the fast path). */
export async function answer(front: Front, method: ProxyMethod, params: JsonObject | undefined, ctx: RequestContext): Promise<JsonObject> {
  const spec = METHODS[method];
  const forwarded = forwardParams(params, ctx);
  // A call that may ask for input is held between rounds; the rest are answered at once.
  if (spec.era === "multiRound" && declaresInput(ctx)) return rounds(front, method, forwarded, ctx) as Promise<JsonObject>;
  const result = await once(front, method, forwarded, ctx);
  if (method === "tools/list") front.schemas.learn(result);
  if (!("list" in spec.answer)) return result;
  const scope = front.options.listCacheScope === "public" && !ctx.authInfo ? "public" : "private";
  return { ...result, ttlMs: front.options.listTtlMs ?? 0, cacheScope: scope };
}

/** What the handlers read, from the SDK's context of a request it dispatched. */
function contextOf(ctx: ServerContext): RequestContext {
  const { mcpReq } = ctx;
  return {
    id: mcpReq.id,
    authInfo: ctx.http?.authInfo,
    envelope: mcpReq.envelope as JsonObject | undefined,
    signal: mcpReq.signal,
    requestState: mcpReq.requestState(),
    inputResponses: mcpReq.inputResponses,
    notify: (notification) => mcpReq.notify(notification as never),
    log: (level, data, logger) => mcpReq.log(level as never, data, logger),
  };
}

/**
 * The params to forward: the request's own, with the capabilities it declared (a 2026 backend needs
 * them), and its inputResponses and requestState unless the state is the proxy's own (those answer a
 * held call here): a 2026 backend's multi-round state passes through untouched.
 */
function forwardParams(params: JsonObject | undefined, ctx: RequestContext): JsonObject {
  const { inputResponses: _r, requestState: _s, ...rest } = params ?? {};
  const meta: JsonObject = { ...(isObject(rest._meta) ? rest._meta : {}) };
  for (const key of Object.values(META)) delete meta[key];
  const declared = ctx.envelope?.[META.clientCapabilities];
  if (isObject(declared)) meta[FRONT_CAPABILITIES_META] = declared;
  const state = ctx.requestState;
  const ours = state !== undefined && typeof state !== "string";
  return {
    ...rest,
    _meta: meta,
    ...(!ours && ctx.inputResponses ? { inputResponses: ctx.inputResponses } : {}),
    ...(typeof state === "string" ? { requestState: state } : {}),
  };
}

// The request path, from a front session's request to the method's answer:
//   handle → beforeForward → middleware (use() order) → the answer the method table names → afterForward.
import { ErrorCode, McpError, type JSONRPCRequest, type Result, type ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";
import { pageOf } from "../components/pages.js";
import { listOf, type ComponentRegistry } from "../components/registry.js";
import { toMcpError } from "../errors.js";
import { METHODS, isProxyMethod, type Answer, type ProxyMethod, type ResultOf } from "../methods.js";
import { compose, type Middleware, type ProxyMiddleware } from "../middleware/compose.js";
import type { AnyComponent, AnyProxyContext, ProxyContext } from "../middleware/context.js";
import type { FrontExtra, FrontSession } from "./front-session.js";

/** What the request path needs from the proxy. */
export interface DispatchHost {
  readonly capabilities: ServerCapabilities;
  readonly pageSize: number | undefined;
  /** The mirror as this session's client sees it (its capability profile's view). */
  view(session: FrontSession): ComponentRegistry | Promise<ComponentRegistry>;
  /** Throws while lists are refused (fail-closed, with a backend down). */
  assertListable(): void;
  /** The connected backends whose capabilities pass `test`. */
  backendsWith(test: (capabilities: ServerCapabilities) => boolean): Backend[];
  beforeForward(ctx: AnyProxyContext): void | Promise<void>;
  afterForward(ctx: ProxyContext, result: Result): Result | Promise<Result>;
}

interface MiddlewareEntry {
  method: ProxyMethod | undefined;
  /** A method's own middleware runs only in that method's chain, so it is held as a general one. */
  fn: Middleware;
}

type Hidden = Array<(component: AnyComponent) => boolean>;

export class Dispatcher {
  readonly #host: DispatchHost;
  readonly #middleware: MiddlewareEntry[] = [];
  readonly #chains = new Map<ProxyMethod, Middleware>();

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  use(method: ProxyMethod | undefined, fn: Middleware | ProxyMiddleware<ProxyMethod>): void {
    this.#middleware.push({ method, fn: fn as Middleware });
    this.#chains.clear();
  }

  /** Every forwarded request: beforeForward → middleware → answer → afterForward. */
  async handle(session: FrontSession, request: JSONRPCRequest, extra: FrontExtra): Promise<Result> {
    const method = request.method;
    const spec = isProxyMethod(method) ? METHODS[method] : undefined;
    if (!spec?.supported(this.#host.capabilities)) throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
    const params = (request.params ?? {}) as Record<string, unknown>;
    const view = await this.#host.view(session);
    const component = spec.target?.(view, params);
    const hidden: Hidden = [];
    const ctx = {
      method,
      params,
      component,
      backend: component?.backend,
      // Computed when read: most requests never ask.
      get backendName() {
        return component && backendNameOf(component, params);
      },
      session,
      sessionId: extra.sessionId,
      requestId: extra.requestId,
      authInfo: extra.authInfo ?? session.authInfo,
      signal: extra.signal,
      state: {},
      hide: (predicate: (component: AnyComponent) => boolean) => void hidden.push(predicate),
      isHidden: (target: AnyComponent | undefined = component) => target !== undefined && hidden.some((hide) => hide(target)),
    } as unknown as ProxyContext;
    try {
      await this.#host.beforeForward(ctx as AnyProxyContext);
      const result = await this.#chain(ctx.method)(ctx as AnyProxyContext, () => this.#answer(spec.answer, ctx, view, hidden));
      return await this.#host.afterForward(ctx, result);
    } catch (error) {
      throw toMcpError(error);
    }
  }

  #chain(method: ProxyMethod): Middleware {
    let chain = this.#chains.get(method);
    if (!chain) {
      chain = compose(this.#middleware.filter((m) => m.method === undefined || m.method === method).map((m) => m.fn));
      this.#chains.set(method, chain);
    }
    return chain;
  }

  /** The innermost step: what the method table says the method is answered with. */
  async #answer(answer: Answer, ctx: ProxyContext, view: ComponentRegistry, hidden: Hidden): Promise<ResultOf<ProxyMethod>> {
    const isHidden = (component: AnyComponent) => ctx.isHidden(component);
    if ("list" in answer) {
      this.#host.assertListable();
      const key = answer.list;
      const list = hidden.length === 0 ? view.list(key) : listOf(key, view.listed(key).filter((c) => !isHidden(c)));
      return pageOf(ctx.method, list, key, (ctx.params as { cursor?: string }).cursor, this.#host.pageSize);
    }
    if ("via" in answer) {
      const target = ctx.component;
      const step = target && !isHidden(target) ? (target as unknown as Record<string, unknown>)[answer.via] : undefined;
      if (typeof step !== "function") throw answer.unknown(ctx.params as Record<string, unknown>);
      return step.call(target, ctx);
    }
    if ("everyBackend" in answer) {
      const backends = this.#host.backendsWith((c) => !!c[answer.everyBackend]);
      await Promise.all(backends.map((backend) => ctx.session.forward(backend, ctx.method, ctx.params as object, ctx)));
      return {};
    }
    const session = ctx.session;
    switch (answer.task) {
      case "list":
        return session.listTasks(this.#host.backendsWith((c) => !!c.tasks?.list), ctx as ProxyContext<"tasks/list">);
      case "cancel":
        return session.forwardTask(this.#host.backendsWith((c) => !!c.tasks?.cancel), ctx as ProxyContext<"tasks/cancel">);
      default:
        return session.forwardTask(this.#host.backendsWith((c) => !!c.tasks), ctx as ProxyContext<"tasks/get" | "tasks/result">);
    }
  }
}

/** The target's name or URI at its backend. */
function backendNameOf(component: AnyComponent, params: Record<string, unknown>): string {
  if (component.kind === "tool" || component.kind === "prompt") return component.backendName;
  const uri = params.uri ?? (params.ref as { uri?: unknown } | undefined)?.uri;
  if (component.kind === "template" && params.uri === undefined) return component.definition.uriTemplate;
  return component.backendUri(String(uri));
}

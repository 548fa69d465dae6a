// The request path every front shares, from a call to the method's answer:
//   handle → beforeForward → middleware (use() order) → the answer the method table names → afterForward.
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { ErrorCode, McpError, type ClientCapabilities, type RequestId, type Result, type ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";
import type { BackendRouter } from "../backends/router.js";
import { pageOf } from "../components/pages.js";
import { listOf, type ComponentRegistry } from "../components/registry.js";
import { toMcpError } from "../errors.js";
import { methodSpec, type Answer, type ProxyMethod, type ResultOf } from "../methods.js";
import { compose, type Middleware, type ProxyMiddleware } from "../middleware/compose.js";
import type { AnsweredContext, AnyComponent, AnyProxyContext, ProxyContext, ProxyState } from "../middleware/context.js";
import type { Call, Cancellable, Channel, Listener, Tenant } from "../tenant.js";
import { forwardTask, listTasks } from "./tasks.js";

/** What the request path needs from the proxy. */
export interface DispatchHost {
  readonly capabilities: ServerCapabilities;
  readonly pageSize: number | undefined;
  readonly router: BackendRouter;
  /** The mirror as this caller sees it (its capability profile's view). */
  view(call: Call): ComponentRegistry | Promise<ComponentRegistry>;
  /** Throws while lists are refused (fail-closed, with a backend down). */
  assertListable(): void;
  /** The connected backends whose capabilities pass `test`. */
  backendsWith(test: (capabilities: ServerCapabilities) => boolean): Backend[];
  beforeForward(ctx: AnyProxyContext): void | Promise<void>;
  afterForward(ctx: AnsweredContext): Result | Promise<Result>;
}

interface MiddlewareEntry {
  method: ProxyMethod | undefined;
  /** A method's own middleware runs only in that method's chain, so it is held as a general one. */
  fn: Middleware;
}

export class Dispatcher {
  readonly #host: DispatchHost;
  readonly #middleware: MiddlewareEntry[] = [];
  readonly #chains = new Map<ProxyMethod, Middleware | undefined>();
  /** Requests being served now, from every front. */
  inFlight = 0;

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  use(method: ProxyMethod | undefined, fn: Middleware | ProxyMiddleware<ProxyMethod>): void {
    this.#middleware.push({ method, fn: fn as Middleware });
    this.#chains.clear();
  }

  /**
   * Every forwarded request, from every front: beforeForward → middleware → answer → afterForward.
   * Nothing is awaited that is not a promise: with the view made and hooks that return nothing, a
   * request reaches the backend transport in the same turn it came in.
   */
  async handle(method: string, params: Record<string, unknown> | undefined, call: Call): Promise<Result> {
    const spec = methodSpec(method);
    if (!spec?.supported(this.#host.capabilities)) throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
    this.inFlight++;
    try {
      let view = this.#host.view(call);
      if (view instanceof Promise) view = await view;
      const ctx = new RequestContext(method as ProxyMethod, params ?? {}, spec.target?.(view, params ?? {}), call, this.#host.router);
      const before = this.#host.beforeForward(ctx as AnyProxyContext);
      if (before) await before;
      const chain = this.#chain(ctx.method);
      ctx.result = await (chain ? chain(ctx as AnyProxyContext, () => this.#answer(spec.answer, ctx, view)) : this.#answer(spec.answer, ctx, view));
      const after = this.#host.afterForward(ctx as unknown as AnsweredContext);
      return after instanceof Promise ? await after : after;
    } catch (error) {
      throw toMcpError(error);
    } finally {
      this.inFlight--;
    }
  }

  /** The method's middleware, composed once (undefined when it has none). */
  #chain(method: ProxyMethod): Middleware | undefined {
    if (!this.#chains.has(method)) {
      const layers = this.#middleware.filter((m) => m.method === undefined || m.method === method).map((m) => m.fn);
      this.#chains.set(method, layers.length > 0 ? compose(layers) : undefined);
    }
    return this.#chains.get(method);
  }

  /**
   * The innermost step: what the method table says the method is answered with. A component's
   * answer is handed on as it is (no async frame around it); an unknown or hidden target throws.
   */
  #answer(answer: Answer, ctx: RequestContext, view: ComponentRegistry): Promise<ResultOf<ProxyMethod>> {
    if ("via" in answer) {
      const target = ctx.component;
      const answered = target && !ctx.isHidden(target) ? answerBy(answer.via, target, ctx) : undefined;
      if (!answered) throw answer.unknown(ctx.params as Record<string, unknown>);
      return answered as Promise<ResultOf<ProxyMethod>>;
    }
    return this.#answerByProxy(answer, ctx, view);
  }

  /** Lists, requests for every backend, and tasks: answered by the proxy itself. */
  async #answerByProxy(answer: Exclude<Answer, { via: unknown }>, ctx: RequestContext, view: ComponentRegistry): Promise<ResultOf<ProxyMethod>> {
    if ("list" in answer) {
      this.#host.assertListable();
      const key = answer.list;
      const list = ctx.hidesNothing ? view.list(key) : listOf(key, view.listed(key).filter((c) => !ctx.isHidden(c)));
      return pageOf(ctx.method, list, key, (ctx.params as { cursor?: string }).cursor, this.#host.pageSize);
    }
    if ("everyBackend" in answer) {
      const backends = this.#host.backendsWith((c) => !!c[answer.everyBackend]);
      await Promise.all(backends.map((backend) => ctx.forward(backend, ctx.method, ctx.params as object)));
      return {};
    }
    const router = this.#host.router;
    switch (answer.task) {
      case "list":
        return listTasks(router, this.#host.backendsWith((c) => !!c.tasks?.list), ctx as unknown as ProxyContext<"tasks/list"> & Call);
      case "cancel":
        return forwardTask(router, this.#host.backendsWith((c) => !!c.tasks?.cancel), ctx as unknown as ProxyContext<"tasks/cancel"> & Call);
      default:
        return forwardTask(router, this.#host.backendsWith((c) => !!c.tasks), ctx as unknown as ProxyContext<"tasks/get" | "tasks/result"> & Call);
    }
  }
}

type Hidden = Array<(component: AnyComponent) => boolean>;

/** One request's context: what middleware and components see (`ProxyContext`), and the call it forwards as. */
class RequestContext implements ProxyContext, Call {
  readonly method: ProxyMethod;
  params: Record<string, unknown>;
  readonly component: AnyComponent | undefined;
  readonly backend: Backend | undefined;
  readonly tenant: Tenant;
  readonly sessionId: string | undefined;
  readonly requestId: RequestId;
  readonly authInfo: AuthInfo | undefined;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly state: ProxyState = {};
  /** The final result, once the chain has answered (what afterForward sees). */
  result: Result | undefined;
  readonly channel: Channel;
  readonly listener: Listener | undefined;
  readonly exclusive: boolean | undefined;
  readonly #router: BackendRouter;
  readonly #call: Call;
  /** The call's signal once read, or the one middleware put in its place. */
  #signal: AbortSignal | undefined;
  #hidden: Hidden | undefined;

  constructor(method: ProxyMethod, params: Record<string, unknown>, component: AnyComponent | undefined, call: Call, router: BackendRouter) {
    this.method = method;
    this.params = params;
    this.component = component;
    this.backend = component?.backend;
    this.tenant = call.tenant;
    this.sessionId = call.sessionId;
    this.requestId = call.requestId;
    this.authInfo = call.authInfo;
    this.clientCapabilities = call.channel.capabilities;
    this.channel = call.channel;
    this.listener = call.listener;
    this.exclusive = call.exclusive;
    this.#router = router;
    this.#call = call;
  }

  /** Made when first read (most requests never read it: their forward listens to `cancellation`). */
  get signal(): AbortSignal {
    return (this.#signal ??= this.#call.signal);
  }

  set signal(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** What a forward listens to: the signal once read or replaced, else the call's own cancellation. */
  get cancellation(): Cancellable {
    return this.#signal ?? this.#call.cancellation ?? this.#call.signal;
  }

  /** Computed when read: most requests never ask. */
  get backendName(): string | undefined {
    return this.component && backendNameOf(this.component, this.params);
  }

  get hidesNothing(): boolean {
    return this.#hidden === undefined;
  }

  hide(predicate: (component: AnyComponent) => boolean): void {
    (this.#hidden ??= []).push(predicate);
  }

  isHidden(target: AnyComponent | undefined = this.component): boolean {
    return target !== undefined && this.#hidden !== undefined && this.#hidden.some((hide) => hide(target));
  }

  forward<F extends ProxyMethod>(backend: Backend, method: F, params: object): Promise<ResultOf<F>> {
    return this.#router.send(backend, method, params, this) as Promise<ResultOf<F>>;
  }
}

/** A component's own method for a request, called through its type; undefined when it has none. */
function answerBy(via: "forward" | "subscribe" | "unsubscribe" | "complete", target: AnyComponent, ctx: ProxyContext): Promise<Result> | undefined {
  const as = <M extends ProxyMethod>() => ctx as ProxyContext<M>;
  switch (via) {
    case "forward":
      if (target.kind === "tool") return target.forward(as<"tools/call">());
      if (target.kind === "prompt") return target.forward(as<"prompts/get">());
      return target.forward(as<"resources/read">());
    case "subscribe":
      return target.kind === "resource" || target.kind === "template" ? target.subscribe(as<"resources/subscribe">()) : undefined;
    case "unsubscribe":
      return target.kind === "resource" || target.kind === "template" ? target.unsubscribe(as<"resources/unsubscribe">()) : undefined;
    case "complete":
      return target.kind === "tool" ? undefined : target.complete(as<"completion/complete">());
  }
}

/** The target's name or URI at its backend. */
function backendNameOf(component: AnyComponent, params: Record<string, unknown>): string {
  if (component.kind === "tool" || component.kind === "prompt") return component.backendName;
  const uri = params.uri ?? (params.ref as { uri?: unknown } | undefined)?.uri;
  if (component.kind === "template" && params.uri === undefined) return component.definition.uriTemplate;
  return component.backendUri(String(uri));
}

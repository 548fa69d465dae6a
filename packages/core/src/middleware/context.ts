import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ClientCapabilities, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { Backend } from "../backends/backend.js";
import type { ProxyPrompt } from "../components/proxy-prompt.js";
import type { ProxyResource } from "../components/proxy-resource.js";
import type { ProxyTemplate } from "../components/proxy-template.js";
import type { ProxyTool } from "../components/proxy-tool.js";
import type { ParamsOf, ProxyMethod, ResultOf } from "../methods.js";
import type { Tenant } from "../tenant.js";

/**
 * Per-request state shared by middleware. Packages add their fields by augmentation:
 * `declare module "@fastmcp-proxy/core" { interface ProxyState { principal?: string } }`.
 */
export interface ProxyState {
  /**
   * How a cache met this request ("hit", "miss", "coalesced", "bypass:<reason>", ...): set by the
   * caching package, read by the logging package (each request's line says it).
   */
  cache?: string;
}

export interface ProxyContext<M extends ProxyMethod = ProxyMethod> {
  readonly method: M;
  /** Mutable: middleware may rewrite the params before they are forwarded. Always an object (`{}` when the request had none). */
  params: NonNullable<ParamsOf<M>>;
  /** The mirrored component the request targets (tools/call, resources/read, prompts/get, ...). */
  readonly component: AnyComponent | undefined;
  /** The backend that serves the target, when there is one target. */
  readonly backend: Backend | undefined;
  /**
   * The target's own name (tools, prompts) or URI (resources) at its backend: what a rule by name
   * should match in a gateway, where clients see `{server}_{name}`.
   */
  readonly backendName: string | undefined;
  /**
   * Who is calling, decided once at the front (see `tenantOf`): it alone decides which backend
   * session serves the request, with which credentials, whose tasks it sees, and what packages
   * partition by (`partitionOf(ctx.tenant)`).
   */
  readonly tenant: Tenant;
  /** The front session's id, if the request came in on one (its transport's `Mcp-Session-Id`, else one the proxy made). */
  readonly sessionId: string | undefined;
  /** What the client declared (a 2026-07-28 request: in its `_meta`). */
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly requestId: RequestId;
  /** Who is calling, as the front's `authenticate` decided (undefined: anonymous, or no HTTP auth). */
  readonly authInfo: AuthInfo | undefined;
  /**
   * Aborted when the client cancels; forwarded to the backend request. Middleware may replace it
   * (as it may `params`), e.g. to let a shared call outlive one of its callers.
   */
  signal: AbortSignal;
  readonly state: ProxyState;
  /**
   * Hides components from this caller: left out of lists (before paging), and a hidden target is
   * answered exactly as an unknown one. Call it before `next()`.
   */
  hide(predicate: (component: AnyComponent) => boolean): void;
  /** Whether a component (by default the target) is hidden from this caller, by any middleware so far. */
  isHidden(component?: AnyComponent): boolean;
  /**
   * Sends one request to a backend for this caller, through the backend session its tenant is
   * served by: progress, cancellation (`signal`) and timeouts apply. Components forward with it.
   */
  forward<F extends ProxyMethod>(backend: Backend, method: F, params: object): Promise<ResultOf<F>>;
}

/** A context whose `method` discriminates `params`: narrowing on `ctx.method` narrows `ctx.params`. */
export type AnyProxyContext = { [M in ProxyMethod]: ProxyContext<M> }[ProxyMethod];

/**
 * What `afterForward` sees: the context with the final result, whoever produced it. Narrowing on
 * `ctx.method` narrows `ctx.params` and `ctx.result` together.
 */
export type AnsweredContext = { [M in ProxyMethod]: ProxyContext<M> & { readonly result: ResultOf<M> } }[ProxyMethod];

/** The mirrored components; `kind` tells them apart. */
export type AnyComponent = ProxyTool | ProxyResource | ProxyTemplate | ProxyPrompt;

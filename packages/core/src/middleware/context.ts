import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { ProxyPrompt } from "../components/proxy-prompt.js";
import type { ProxyResource } from "../components/proxy-resource.js";
import type { ProxyTemplate } from "../components/proxy-template.js";
import type { ProxyTool } from "../components/proxy-tool.js";
import type { ParamsOf, ProxyMethod } from "../methods.js";
import type { FrontSession } from "../serve/front-session.js";

/**
 * Per-request state shared by middleware. Packages add their fields by augmentation:
 * `declare module "@fastmcp-proxy/core" { interface ProxyState { principal?: string } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ProxyState {}

export interface ProxyContext<M extends ProxyMethod = ProxyMethod> {
  readonly method: M;
  /** Mutable: middleware may rewrite the params before they are forwarded. */
  params: ParamsOf<M>;
  /** The mirrored component the request targets (tools/call, resources/read, prompts/get, ...). */
  readonly component: AnyComponent | undefined;
  /** The front session the request came in on; forwarding goes through its backend sessions. */
  readonly session: FrontSession;
  readonly sessionId: string | undefined;
  readonly requestId: RequestId;
  /** The front's authentication (set by an HTTP auth layer), when there is one. */
  readonly authInfo: AuthInfo | undefined;
  /** Aborted when the client cancels; forwarded to the backend request. */
  readonly signal: AbortSignal;
  readonly state: ProxyState;
}

/** A context whose `method` discriminates `params`: narrowing on `ctx.method` narrows `ctx.params`. */
export type AnyProxyContext = { [M in ProxyMethod]: ProxyContext<M> }[ProxyMethod];

/** The mirrored components; `kind` tells them apart. */
export type AnyComponent = ProxyTool | ProxyResource | ProxyTemplate | ProxyPrompt;

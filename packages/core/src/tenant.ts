// Who the caller is, decided once per request at the front. Everything per caller derives from it:
// the backend session that serves it (backends/router.ts), the credentials that session is opened
// with, task ownership, and what packages partition by (`partitionOf`).
import { randomUUID } from "node:crypto";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { ClientCapabilities, Notification, Request, RequestId, Result } from "@modelcontextprotocol/sdk/types.js";
import { identityOf } from "./errors.js";

/**
 * The client capabilities the proxy relays to backends: the profile a backend session is opened
 * with. Only the members the protocol defines are kept, so a client cannot make a profile (and with
 * it a backend session and a mirror) of its own by declaring made-up fields: there are a few dozen
 * profiles at most.
 */
export function relayable(capabilities: ClientCapabilities | undefined): ClientCapabilities {
  if (!isObject(capabilities)) return {};
  const { sampling, elicitation, roots } = capabilities as Record<string, unknown>;
  const out: ClientCapabilities = {};
  if (isObject(sampling)) out.sampling = only(sampling, ["context", "tools"]);
  if (isObject(elicitation)) out.elicitation = only(elicitation, ["form", "url"]);
  if (isObject(roots)) out.roots = roots.listChanged === true ? { listChanged: true } : {};
  return out;
}

/** The named members that are objects, each as an empty object (what a declared sub-capability says). */
function only(value: Record<string, unknown>, names: readonly string[]): Record<string, object> {
  const out: Record<string, object> = {};
  for (const name of names) if (isObject(value[name])) out[name] = {};
  return out;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** One key per distinct set of relayed client capabilities: canonical JSON (keys sorted at every level). */
export function profileKey(capabilities: ClientCapabilities): string {
  // Asked on every forward with the same capabilities object: made once per object.
  let key = profileKeys.get(capabilities);
  if (key === undefined) profileKeys.set(capabilities, (key = JSON.stringify(canonical(capabilities))));
  return key;
}

const profileKeys = new WeakMap<object, string>();

const canonical = (value: unknown): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
    : value;

/** The tenancy key of one request. Read-only; made by `tenantOf`. */
export interface Tenant {
  /**
   * Whose the request is: `principal:<identity>` when authenticated, else `session:<id>` (a legacy
   * session's anonymous client) or `request:<uuid>` (an anonymous stateless or 2026-07-28 request,
   * which nothing ties to any other request).
   */
  readonly id: string;
  /** The authenticated identity (`identityOf(authInfo)`), if any. */
  readonly principal: string | undefined;
  /** Whether `id` names this one request only (an anonymous caller the proxy cannot recognise again). */
  readonly ephemeral: boolean;
  /** The client capabilities the proxy relays for this caller (what its backend sessions declare). */
  readonly profile: ClientCapabilities;
  readonly profileKey: string;
  /** `id` and profile together: what one backend session per tenant is keyed by. */
  readonly key: string;
  /**
   * Whom the request counts against in the proxy's shared pools (rate limits, requests in flight to
   * a backend, backend sessions): `id`, but one "anonymous" for every ephemeral tenant, which would
   * otherwise each be new.
   */
  readonly share: string;
}

/**
 * The tenant of a request, from what the front knows: the caller's AuthInfo when authenticated;
 * otherwise its legacy session id, or nothing (a new anonymous tenant for this request alone).
 */
export function tenantOf(input: { authInfo?: AuthInfo | undefined; sessionId?: string | undefined; capabilities?: ClientCapabilities | undefined }): Tenant {
  const principal = identityOf(input.authInfo);
  const id =
    principal !== undefined ? `principal:${principal}`
    : input.sessionId !== undefined ? `session:${input.sessionId}`
    : `request:${randomUUID()}`;
  const profile = relayable(input.capabilities);
  const key = profileKey(profile);
  const ephemeral = principal === undefined && input.sessionId === undefined;
  return Object.freeze({ id, principal, ephemeral, profile, profileKey: key, key: `${id}\0${key}`, share: ephemeral ? "anonymous" : id });
}

/**
 * The one partition key packages use for per-caller state (cache entries, event-store namespaces,
 * grants): the tenant's id, without its capability profile. An ephemeral tenant's partition is its
 * own request's, so nothing stored under it is ever read by another caller.
 */
export function partitionOf(tenant: Tenant): string {
  return tenant.id;
}

/** One caller's share of a pool of `max` every caller uses, unless the operator sets it: a quarter, at least 1. */
export function callerShare(max: number): number {
  return Math.max(1, Math.ceil(max / 4));
}

/**
 * How `Channel.request` fails when the channel ended before its client was shown the request (a call
 * that was handed another call's ask, and then ended): whoever routed it may hand it to another.
 */
export class Undelivered extends Error {
  override readonly name = "Undelivered";
}

/** How server→client traffic reaches one caller: a request's own stream, or a client's session. */
export interface Channel {
  /** What the client declared: a server→client request it did not declare never reaches it. */
  readonly capabilities: ClientCapabilities | undefined;
  /** Rejects when it could not be sent. */
  notify(notification: Notification): Promise<void>;
  /** Absent where the caller can receive nothing but answers (stateless HTTP). */
  readonly request?: ((request: Request, signal: AbortSignal) => Promise<Result>) | undefined;
}

/** A client with a session of its own (a legacy front session): reachable between its requests too. */
export interface Listener extends Channel {
  readonly tenant: Tenant;
  /** Tells this session's own backend sessions apart (isolated mode). */
  readonly sessionKey: string;
}

/** What a forwarded request listens to for its cancellation: an AbortSignal, or a front's own that makes none. */
export interface Cancellable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: { handleEvent(): void }, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: { handleEvent(): void }): void;
}

/** One request, as every front hands it to the pipeline. */
export interface Call {
  readonly tenant: Tenant;
  /** The caller's credentials as of this request (a token exchange uses the newest subject token). */
  readonly authInfo: AuthInfo | undefined;
  /** This request's way back to its client. */
  readonly channel: Channel;
  /** Its front session, when it has one (legacy HTTP, SSE, stdio). */
  readonly listener?: Listener | undefined;
  readonly signal: AbortSignal;
  /** Its cancellation without an AbortSignal, where the front keeps one (its `signal` is then made only when read). */
  readonly cancellation?: Cancellable | undefined;
  readonly requestId: RequestId;
  /** The front session's id, when it has one. */
  readonly sessionId?: string | undefined;
  /**
   * Server→client requests during this call must reach its caller and no other (a 2026-07-28 call
   * held between rounds of input, whose channel is its alone): it shares a backend session only with
   * its own caller's calls, or with calls whose asks that session tells apart.
   */
  readonly exclusive?: boolean | undefined;
}

// Server→client traffic of a backend session: to the one caller it can be attributed to, never broadcast.
import { ErrorCode, McpError, type JSONRPCRequest, type Request, type Result } from "@modelcontextprotocol/sdk/types.js";
import { CLIENT_REQUESTS } from "../methods.js";
import type { Call, Channel, Listener, Tenant } from "../tenant.js";
import { describe, type Backend } from "./backend.js";

/**
 * Who a message from a backend session belongs to, among the calls waiting on it and the front
 * sessions using it: the tenant that created the task it is about (`owns`, when it is about one),
 * else the one call waiting, else the one front session with calls waiting, else the oldest call
 * when all those waiting are one known caller's (no stdio message says which of them it is for, and
 * any of them may carry it: they are the same caller's), else the one front session there is.
 * Anything else is ambiguous (undefined).
 */
export function ownerOf(calls: readonly Call[], listeners: readonly Listener[], owns?: (tenant: Tenant) => boolean): Channel | undefined {
  if (owns) {
    const theirs = calls.filter((call) => owns(call.tenant));
    if (theirs.length === 1) return theirs[0]!.channel;
    const listener = listeners.find((l) => owns(l.tenant)) ?? theirs[0]?.listener;
    if (listener) return listener;
  }
  if (calls.length === 1) return calls[0]!.channel;
  if (calls.length > 1) {
    const first = calls[0]!;
    if (first.listener && calls.every((call) => call.listener === first.listener)) return first.listener;
    return !first.tenant.ephemeral && calls.every((call) => call.tenant.id === first.tenant.id) ? first.channel : undefined;
  }
  return listeners.length === 1 ? listeners[0] : undefined;
}

/** A server→client request to the client it belongs to, if that client declared what it needs and can answer. */
export function deliver(backend: Backend, owner: Channel, request: JSONRPCRequest, signal: AbortSignal): Promise<Result> {
  const declared = CLIENT_REQUESTS[request.method];
  if (declared && !owner.request) {
    const why = `${request.method} from ${describe(backend)} cannot reach a client of the stateless HTTP front, which can only answer requests: serve with sessions for sampling, elicitation and roots`;
    return Promise.reject(new McpError(ErrorCode.InvalidRequest, why));
  }
  if (declared && !declared(owner.capabilities ?? {}, request.params)) {
    return Promise.reject(new McpError(ErrorCode.InvalidRequest, `${request.method} from ${describe(backend)}: the client did not declare the capability it needs`));
  }
  if (!owner.request) return Promise.reject(new McpError(ErrorCode.InvalidRequest, `${request.method} from ${describe(backend)} cannot reach this client`));
  return owner.request({ method: request.method, params: request.params } as Request, signal);
}


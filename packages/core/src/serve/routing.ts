// Server→client routing for shared backend sessions: a message from a backend session that several
// front sessions use goes to the one client it can be attributed to without doubt, or nowhere. It
// is never broadcast. (A front session's own backend sessions need no routing: their traffic is
// that session's.)
import type { Backend } from "../backends/backend.js";
import type { FrontExtra, FrontSession } from "./front-session.js";

export interface Owner {
  session: FrontSession;
  /** The request whose stream the message should travel on, when there is exactly one. */
  via?: FrontExtra;
}

/**
 * Among the front sessions sharing a backend session, who a message belongs to: the client that
 * created the task it is about (a task status, or a message with a related task), else the one
 * request waiting on that backend, else the one client with requests waiting on it, else the one
 * client there is. Anything else is ambiguous (undefined).
 */
export function ownerOf(sharing: readonly FrontSession[], backend: Backend, taskId?: string): Owner | undefined {
  if (taskId !== undefined) {
    const creator = sharing.find((session) => session.ownsTask(backend, taskId));
    if (creator) {
      const via = creator.sharedCalls(backend);
      return via.length === 1 ? { session: creator, via: via[0]! } : { session: creator };
    }
  }
  const waiting = sharing.flatMap((session) => session.sharedCalls(backend).map((via) => ({ session, via })));
  if (waiting.length === 1) return waiting[0];
  const owners = new Set(waiting.map((w) => w.session));
  if (owners.size === 1) return { session: waiting[0]!.session };
  if (owners.size === 0 && sharing.length === 1) return { session: sharing[0]! };
  return undefined;
}

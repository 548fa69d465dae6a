// Forwarded requests past the SDK `Protocol`: each backend session's forwarder writes a client's
// request on the session's transport under an id of its own, keeps the requests in flight in one
// table, maps progress tokens to them, passes cancellation on with the mapped id, times them out
// from one deadline sweep (not a timer per call), and fails them all when the session closes.
// Results are handed back as they came: nothing is validated or copied. The SDK `Client` keeps the
// rest of the session (initialize, the lists the proxy reads itself, ping, subscriptions and
// server→client traffic): the transport's messages that are not answers to, or progress of, a
// forwarded request go on to it.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError, type JSONRPCMessage, type Result } from "@modelcontextprotocol/sdk/types.js";
import { InFlightMap } from "../in-flight.js";
import type { Cancellable } from "../tenant.js";

export interface ForwardOptions {
  signal: Cancellable;
  /** Without an answer or progress for this long, the request fails (RequestTimeout) and is cancelled. */
  timeout: number;
  /** The hard maximum, progress or not. */
  maxTotalTimeout: number;
  /** Each progress notification of the request, its token removed. Without one, the backend is not asked for progress. */
  onprogress: ((progress: Record<string, unknown>) => void) | undefined;
  /** A call that may be asked for input: the transport tags the request with it, so an ask on its answer's stream is attributed (HTTP). */
  relatedRequestId?: number | undefined;
}

/**
 * A request in flight; it listens to its signal itself (no closure per request). Once settled it lets
 * go of its promise, progress handler and signal: a hash table its forwarder's Map has outgrown may
 * still point here until a full GC (see `InFlightMap`), and would keep the whole call alive.
 */
class Pending {
  readonly timeout: number;
  readonly maxTotalTimeout: number;
  readonly endsAt: number;
  /** When it times out unless progress comes first. */
  deadline: number;
  onprogress: ForwardOptions["onprogress"] | undefined;
  signal: Cancellable | undefined;
  #resolve: ((result: Result) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor(
    readonly forwarder: Forwarder,
    readonly id: number,
    resolve: (result: Result) => void,
    reject: (error: unknown) => void,
    options: ForwardOptions,
  ) {
    const now = Date.now();
    this.#resolve = resolve;
    this.#reject = reject;
    this.onprogress = options.onprogress;
    this.timeout = options.timeout;
    this.maxTotalTimeout = options.maxTotalTimeout;
    this.signal = options.signal;
    this.endsAt = now + options.maxTotalTimeout;
    this.deadline = Math.min(now + options.timeout, this.endsAt);
  }

  resolve(result: Result): void {
    const resolve = this.#resolve;
    this.#release();
    resolve?.(result);
  }

  reject(error: unknown): void {
    const reject = this.#reject;
    this.#release();
    reject?.(error);
  }

  /** Its signal aborted. */
  handleEvent(): void {
    const reason = this.signal?.reason;
    this.forwarder.cancel(this.id, cancelledError(reason), String(reason));
  }

  #release(): void {
    this.signal?.removeEventListener("abort", this);
    this.#resolve = this.#reject = this.onprogress = this.signal = undefined;
  }
}

/** A task's statuses after which no more progress comes for it. */
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
/**
 * The forwarder's ids are integers from 2^30 up, wrapping below 2^31; the SDK Client's count up from
 * 0, so the two never meet. Integers, not strings: a backend's answer then carries no new string for
 * JSON.parse to intern (V8 interns short string values), and every id fits a 32-bit integer, signed
 * or not, whatever the backend's language reads ids into.
 */
const FIRST_ID = 2 ** 30;
const ID_SPAN = 2 ** 30;
const isForwarded = (id: unknown): id is number => typeof id === "number" && id >= FIRST_ID && id < FIRST_ID + ID_SPAN;

const forwarders = new WeakMap<Client, Forwarder>();

/** The forwarder of a connected backend session (made on first use). */
export function forwarder(client: Client): Forwarder {
  let made = forwarders.get(client);
  if (!made) forwarders.set(client, (made = new Forwarder(client.transport)));
  return made;
}

export class Forwarder {
  readonly #transport: Transport | undefined;
  readonly #pending = new InFlightMap<number, Pending>();
  /** Progress handlers of tasks by token, after their request was answered (a request's own is in #pending). */
  readonly #progress = new Map<number, ForwardOptions["onprogress"]>();
  /** The progress token of each task created through this forwarder, until the task ends. */
  readonly #taskTokens = new Map<string, number>();
  #nextId = 0;
  #closed: boolean;
  #sweep: NodeJS.Timeout | undefined;
  #sweepAt = Infinity;

  constructor(transport: Transport | undefined) {
    this.#transport = transport;
    this.#closed = !transport;
    if (!transport) return;
    const sdkMessage = transport.onmessage;
    const sdkClose = transport.onclose;
    transport.onmessage = (message, extra) => {
      if (!this.#take(message)) sdkMessage?.call(transport, message, extra);
    };
    transport.onclose = () => {
      sdkClose?.call(transport);
      this.#close();
    };
  }

  /** How many forwarded requests wait for their answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends one request; settles with the backend's result as it is, or its error as an McpError. */
  request(method: string, params: Record<string, unknown>, options: ForwardOptions): Promise<Result> {
    if (this.#closed) return Promise.reject(new McpError(ErrorCode.ConnectionClosed, "Connection closed"));
    const { signal } = options;
    if (signal.aborted) return Promise.reject(cancelledError(signal.reason));
    let id = FIRST_ID + (this.#nextId++ % ID_SPAN);
    while (this.#pending.has(id)) id = FIRST_ID + (this.#nextId++ % ID_SPAN); // wrapped onto a request still waiting
    // Progress is asked for under the forwarder's own token (clients' tokens may collide on a shared session).
    const meta = params._meta as Record<string, unknown> | undefined;
    const message = { jsonrpc: "2.0" as const, id, method, params: options.onprogress ? { ...params, _meta: { ...meta, progressToken: id } } : params };
    return new Promise<Result>((resolve, reject) => {
      const pending = new Pending(this, id, resolve, reject, options);
      this.#pending.set(id, pending);
      signal.addEventListener("abort", pending, { once: true });
      this.#arm(pending.deadline);
      this.#transport!.send(message, options.relatedRequestId === undefined ? undefined : { relatedRequestId: options.relatedRequestId }).catch((error: unknown) => this.#settle(id)?.reject(error));
    });
  }

  /** Takes a message that belongs to a forwarded request (its answer or its progress); false for any other. */
  #take(message: JSONRPCMessage): boolean {
    if ("method" in message) {
      if (message.method === "notifications/progress") return this.#onprogress(message.params as Record<string, unknown>);
      if (message.method === "notifications/tasks/status") this.#taskStatus(message.params as Record<string, unknown>);
      return false;
    }
    const id = (message as { id?: unknown }).id;
    if (!isForwarded(id)) return false;
    const pending = this.#settle(id);
    if (!pending) return true; // answered after it timed out or was cancelled: nobody waits for it
    if ("result" in message) {
      const task = (message.result as { task?: { taskId?: unknown } }).task;
      // A task's progress goes on after this answer, under the same token.
      if (typeof task?.taskId === "string" && pending.onprogress) {
        this.#progress.set(id, pending.onprogress);
        this.#taskTokens.set(task.taskId, id);
      }
      pending.resolve(message.result as Result);
    } else {
      const { code, message: text, data } = (message as { error: { code: number; message: string; data?: unknown } }).error;
      pending.reject(new McpError(code, text, data));
    }
    return true;
  }

  #onprogress(params: Record<string, unknown> | undefined): boolean {
    const token = params?.progressToken;
    if (!isForwarded(token)) return false;
    const pending = this.#pending.get(token);
    const handler = pending?.onprogress ?? this.#progress.get(token);
    if (!handler) return false;
    if (pending) pending.deadline = Math.min(Date.now() + pending.timeout, pending.endsAt);
    const { progressToken: _, ...progress } = params!;
    handler(progress);
    return true;
  }

  #taskStatus(params: Record<string, unknown> | undefined): void {
    const taskId = params?.taskId;
    if (typeof taskId !== "string" || !TERMINAL.has(params!.status as string)) return;
    const token = this.#taskTokens.get(taskId);
    if (token === undefined) return;
    this.#taskTokens.delete(taskId);
    this.#progress.delete(token);
  }

  /** Takes a request out of the table: it is answered, failed or cancelled, once. */
  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    return pending;
  }

  /** Fails a request and tells the backend to stop working on it. */
  cancel(id: number, error: unknown, reason: string): void {
    const pending = this.#settle(id);
    if (!pending) return;
    pending.reject(error);
    this.#transport!.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } }).catch(() => {});
  }

  /** Makes sure a sweep runs by `deadline`: one timer for the whole table. */
  #arm(deadline: number): void {
    if (deadline >= this.#sweepAt || !Number.isFinite(deadline)) return;
    clearTimeout(this.#sweep);
    this.#sweepAt = deadline;
    this.#sweep = setTimeout(() => this.#sweepNow(), Math.max(0, deadline - Date.now()));
    this.#sweep.unref?.();
  }

  /** Times out every request past its deadline, then waits for the next one. */
  #sweepNow(): void {
    this.#sweep = undefined;
    this.#sweepAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) {
        next = Math.min(next, pending.deadline);
        continue;
      }
      const error = pending.deadline === pending.endsAt
        ? new McpError(ErrorCode.RequestTimeout, "Maximum total timeout exceeded", { maxTotalTimeout: pending.maxTotalTimeout })
        : new McpError(ErrorCode.RequestTimeout, "Request timed out", { timeout: pending.timeout });
      this.cancel(id, error, error.message);
    }
    this.#arm(next);
  }

  /** The session closed: every request still waiting fails. */
  #close(): void {
    this.#closed = true;
    clearTimeout(this.#sweep);
    this.#sweepAt = Infinity;
    const error = new McpError(ErrorCode.ConnectionClosed, "Connection closed");
    for (const id of [...this.#pending.keys()]) this.#settle(id)!.reject(error);
    this.#progress.clear();
    this.#taskTokens.clear();
  }
}

/** How a request cancelled by its client fails (nobody reads it: a cancelled request is not answered). */
function cancelledError(reason: unknown): McpError {
  return reason instanceof McpError ? reason : new McpError(ErrorCode.RequestTimeout, String(reason));
}

import type { Socket } from "node:net";

/** Bounds on the connections `rateLimit({ holdConnections })` holds. */
export interface HoldLimits {
  /** Held connections per principal; past it, a refusal closes its connection. Default 64. */
  perCaller?: number;
  /** Held connections in all; past it, a refusal closes its connection. Default 4,096. */
  total?: number;
  /** The longest a connection is held, in ms. Default 30,000. */
  maxHoldMs?: number;
  /**
   * Held connections are resumed on ticks this many ms apart, each tick resuming every turn that came
   * since: one wake of the process for the turns of every principal held. Default: the token interval
   * (`1000 / perSecond`), at most 10, so one principal gets one turn a tick and his requests come
   * spread as his allowance would bring them; a longer tick saves wakes but brings his turns in bursts
   * that others' requests wait behind. 0 resumes each at its own turn. Never longer than the bucket
   * takes to fill (`capacity / perSecond`), so no token is lost waiting for a tick.
   */
  tickMs?: number;
}

/** What `HeldConnections` notes of a connection that is no one caller's (no identity is empty). */
const SHARED = "";

/** The longest default tick: a held turn waits at most this long past its token. */
const MAX_DEFAULT_TICK_MS = 10;

interface Held {
  readonly socket: Socket;
  readonly identity: string;
  readonly since: number;
  resume: () => void;
  readonly forget: () => void;
}

/** One principal's held connections, oldest first, and when the next may be read. */
interface Queue {
  readonly held: Held[];
  nextAt: number;
}

/**
 * Connections of principals over their limit, held unread (core's `HttpError.hold`) and resumed in
 * order, one per token interval per principal, by one timer: a flood over N connections reaches the
 * proxy about once per token instead of once per request.
 */
export class HeldConnections {
  readonly #queues = new Map<string, Queue>();
  // Whose requests each connection has carried: one caller's, or (SHARED) more than one's.
  readonly #carried = new WeakMap<Socket, string>();
  readonly #bySocket = new Map<Socket, Held>();
  // Connections resumed on their principal's turn, until they bring the request it is for.
  readonly #onTurn = new WeakMap<Socket, string>();
  readonly #perCaller: number;
  readonly #total: number;
  readonly #maxHoldMs: number;
  /** The tick held connections are resumed on (`HoldLimits.tickMs`, with its default and bound applied). */
  readonly tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;

  constructor(
    readonly intervalMs: number,
    /** The bucket's capacity: how many turns a late timer may give at once. */
    readonly burst: number,
    limits: HoldLimits = {},
  ) {
    this.#perCaller = limits.perCaller ?? 64;
    this.#total = limits.total ?? 4096;
    this.#maxHoldMs = limits.maxHoldMs ?? 30_000;
    for (const [name, value] of Object.entries({ perCaller: this.#perCaller, total: this.#total, maxHoldMs: this.#maxHoldMs })) {
      if (!(value >= 1)) throw new TypeError(`rateLimit: holdConnections.${name} must be at least 1`);
    }
    const tickMs = limits.tickMs ?? Math.min(MAX_DEFAULT_TICK_MS, intervalMs);
    if (!(tickMs >= 0)) throw new TypeError("rateLimit: holdConnections.tickMs must be 0 or more");
    this.tickMs = Math.min(tickMs, burst * intervalMs);
  }

  /**
   * Notes that `socket` carried a request of `caller` (undefined: anonymous); whether it is that
   * caller's own, having carried no one else's. Only such a connection is held: one that has carried
   * two callers' requests (a balancer's pooled upstream connection) may carry anyone's next, which a
   * hold would keep waiting for this caller's turn.
   */
  carries(socket: Socket, caller: string | undefined): boolean {
    const seen = this.#carried.get(socket);
    if (seen === undefined) this.#carried.set(socket, caller ?? SHARED);
    else if (seen !== caller) this.#carried.set(socket, SHARED);
    return caller !== undefined && (seen === undefined || seen === caller);
  }

  /** Connections held now. */
  get size(): number {
    return this.#bySocket.size;
  }

  /**
   * Holds `socket` of `identity` until its turn: the first of a principal's at `dueAt` (its next
   * token), each next one an interval later. False when the bounds say to close it instead.
   */
  hold(identity: string, socket: Socket, resume: () => void, dueAt: number): boolean {
    const known = this.#bySocket.get(socket);
    if (known) {
      // Refused again before its hold began (pipelined): one place in the queue.
      known.resume = resume;
      return true;
    }
    const queue = this.#queues.get(identity) ?? { held: [], nextAt: dueAt };
    if (queue.held.length >= this.#perCaller || this.#bySocket.size >= this.#total) return false;
    const held: Held = { socket, identity, since: Date.now(), resume, forget: () => this.#forget(held) };
    queue.held.push(held);
    this.#queues.set(identity, queue);
    this.#bySocket.set(socket, held);
    socket.once("close", held.forget);
    this.#wake(Math.min(queue.nextAt, held.since + this.#maxHoldMs));
    return true;
  }

  /**
   * Whether `socket` was resumed on `identity`'s turn and brings its first request since: that
   * request has its token, even when the timer came late and resumed several at once.
   */
  onTurn(socket: Socket, identity: string): boolean {
    if (this.#onTurn.get(socket) !== identity) return false;
    this.#onTurn.delete(socket);
    return true;
  }

  /** `identity`'s bucket was found empty until `at`: its turns come no sooner (they had run ahead of it). */
  notBefore(identity: string, at: number): void {
    const queue = this.#queues.get(identity);
    if (queue && queue.nextAt < at) queue.nextAt = at;
  }

  /** Resumes what is due: each principal's oldest at its turn, and any held for the longest allowed. */
  #tick(): void {
    this.#timer = undefined;
    this.#wakeAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [identity, queue] of this.#queues) {
      // A late tick gives the turns it missed, as the bucket gives the tokens it filled: burst at most.
      queue.nextAt = Math.max(queue.nextAt, now - (this.burst - 1) * this.intervalMs);
      for (; queue.held.length > 0 && queue.nextAt <= now; queue.nextAt += this.intervalMs) this.#release(queue.held[0]!, true);
      while (queue.held.length > 0 && queue.held[0]!.since + this.#maxHoldMs <= now) this.#release(queue.held[0]!, false);
      if (queue.held.length === 0) this.#queues.delete(identity);
      else next = Math.min(next, queue.nextAt, queue.held[0]!.since + this.#maxHoldMs);
    }
    this.#wake(next);
  }

  /** The one timer, set for `at` (on the tick after it) unless it will fire sooner; it never keeps the process alive. */
  #wake(at: number): void {
    if (this.tickMs > 0) at = Math.ceil(at / this.tickMs) * this.tickMs;
    if (at === Infinity || at >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #release(held: Held, onTurn: boolean): void {
    this.#forget(held);
    if (onTurn) this.#onTurn.set(held.socket, held.identity);
    held.resume();
  }

  /** Drops a held connection: resumed, or closed. */
  #forget(held: Held): void {
    if (this.#bySocket.get(held.socket) !== held) return;
    this.#bySocket.delete(held.socket);
    held.socket.off("close", held.forget);
    const queue = this.#queues.get(held.identity);
    if (!queue) return;
    queue.held.splice(queue.held.indexOf(held), 1);
    if (queue.held.length === 0) this.#queues.delete(held.identity);
  }
}

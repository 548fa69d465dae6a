import type { Notification } from "@modelcontextprotocol/sdk/types.js";
import { Cancellation } from "../cancellation.js";
import { InFlightTally } from "../in-flight.js";
import { Undelivered, callerShare } from "../tenant.js";
import { digestOf } from "./digest.js";
import type { JsonObject } from "./wire.js";

/** A server→client request a backend sent during a call: it waits for the 2026 client's answer. */
export interface Ask {
  readonly method: string;
  readonly params: JsonObject;
  /** Its method and params digested: how a replica running the call again knows it answered. */
  readonly digest: string;
  resolve(result: JsonObject): void;
  reject(error: Error): void;
}

/** What a call is waiting on, or how it ended. */
export type Outcome = { kind: "done"; result: JsonObject } | { kind: "failed"; error: unknown } | { kind: "asks"; asks: Ask[] };

/** How long to wait for more server→client requests after the first, so one round carries them all. */
const SETTLE_MS = 15;

/**
 * A call in flight through the pipeline, with the server→client requests it is waiting on. `next()`
 * says what happened first: the call ended, or the backend asked for input (which the 2026 client is
 * then asked for with `input_required`; its answers come back through `Ask.resolve` on the retry).
 * The call outlives each round's request: it is cancelled through `cancellation`, not a round's signal.
 */
export class Exchange {
  /** The call's own cancellation (no AbortSignal unless someone reads one: most calls never need it). */
  readonly cancellation = new Cancellation();
  /**
   * The client's answers given to the backend, in order, by ask digest. A call run again (on another
   * replica) starts with those given before: the nth ask with a digest gets the nth answer with it.
   */
  readonly answers: Array<[digest: string, response: JsonObject]>;
  /** The call's progress and log messages, to the round now waiting on it (each retry points it at itself). */
  relay: (notification: Notification) => Promise<void>;
  /** How often each digest was asked in this run (made at the first ask: most calls never ask). */
  #asked: Map<string, number> | undefined;
  #pending: Ask[] = [];
  #outcome: Outcome | undefined;
  /** Wake the round waiting in `next()`: when the call asks, and when it ends. */
  #onAsk: (() => void) | undefined;
  #onEnd: (() => void) | undefined;
  /** Those waiting in `close()` for the call to end. */
  #closing: Array<() => void> | undefined;
  #closed = false;

  constructor(relay: Exchange["relay"], answers: Array<[string, JsonObject]> = []) {
    this.relay = relay;
    this.answers = answers;
  }

  /** Starts the call; asks that arrive through `ask` are collected from now on. */
  start(call: Promise<JsonObject>): void {
    call.then(
      (result) => this.#end({ kind: "done", result }),
      (error: unknown) => this.#end({ kind: "failed", error }),
    );
  }

  #end(outcome: Outcome): void {
    this.#outcome = outcome;
    this.#onEnd?.();
    for (const closed of this.#closing ?? []) closed();
  }

  /** The backend asks: answered at once when the client answered this ask before, else waits for a round. */
  ask(method: string, params: JsonObject): Promise<JsonObject> {
    if (this.#closed) return Promise.reject(new Undelivered("the call it was given to has ended"));
    const digest = digestOf(method, params);
    this.#asked ??= new Map();
    const nth = this.#asked.get(digest) ?? 0;
    this.#asked.set(digest, nth + 1);
    const known = this.answers.filter(([d]) => d === digest)[nth];
    if (known) return Promise.resolve(known[1]);
    return new Promise((resolve, reject) => {
      this.#pending.push({ method, params, digest, resolve, reject });
      this.#onAsk?.();
    });
  }

  /** The client's answer to an ask, remembered for the rounds (and replicas) to come. */
  answer(ask: Ask, response: JsonObject): void {
    this.answers.push([ask.digest, response]);
    ask.resolve(response);
  }

  async next(): Promise<Outcome> {
    if (this.#outcome === undefined && this.#pending.length === 0) {
      await new Promise<void>((resolve) => (this.#onAsk = this.#onEnd = resolve));
    }
    if (this.#outcome === undefined) {
      // Asked: more asks may follow at once; one round carries them all (unless the call ends first).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SETTLE_MS);
        this.#onAsk = undefined;
        this.#onEnd = () => (clearTimeout(timer), resolve());
      });
    }
    this.#onAsk = this.#onEnd = undefined;
    // Answered or failed meanwhile (the backend gave up on its request): that is the outcome.
    return this.#outcome ?? { kind: "asks", asks: this.#pending.splice(0) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Never shown to the client: perhaps another call's (an ask no message ties to its call), which the router gives on.
    for (const ask of this.#pending.splice(0)) ask.reject(new Undelivered("the call it was given to ended before its client saw it"));
    // A call that ended has nothing to cancel (and an abort is not free: its reason is an exception).
    if (this.#outcome !== undefined) return;
    this.cancellation.abort(undefined);
    await new Promise<void>((resolve) => (this.#closing ??= []).push(resolve));
  }
}

/** A call held open between rounds: its exchange, the asks by the keys the client was given. */
export interface Held {
  readonly exchange: Exchange;
  readonly identity: string | undefined;
  /** The request's digest: a state is for this request only. */
  readonly request: string;
  round: number;
  asks: Map<string, Ask>;
  timer: NodeJS.Timeout;
}

/** How many ids of calls taken out are remembered, so a state is not used twice on one replica. */
const SPENT_KEPT = 10_000;

/** Why a call could not be held. */
export type HoldRefusal = "full" | "caller-full";

/**
 * The calls held open for a retry: at most `max`, and `maxPerCaller` of one caller (identity; the
 * anonymous are one caller), so that no caller leaving calls unanswered takes all the room; each at
 * most `holdMs`, then abandoned.
 */
export class HeldCalls {
  readonly #held = new Map<string, Held>();
  readonly #byCaller = new InFlightTally<string | undefined>();
  readonly #spent = new Set<string>();
  readonly #max: number;
  readonly maxPerCaller: number;
  readonly #holdMs: number;

  constructor(options: { max?: number; maxPerCaller?: number; holdMs?: number } = {}) {
    this.#max = options.max ?? 100;
    this.maxPerCaller = options.maxPerCaller ?? callerShare(this.#max);
    this.#holdMs = options.holdMs ?? 60_000;
  }

  get size(): number {
    return this.#held.size;
  }

  /** Holds a call under `id`; or why not: `max` are held already, or `maxPerCaller` of its caller's. */
  hold(id: string, held: Omit<Held, "timer">): true | HoldRefusal {
    if (this.#held.size >= this.#max) return "full";
    if (this.#byCaller.of(held.identity) >= this.maxPerCaller) return "caller-full";
    const timer = setTimeout(() => void this.drop(id), this.#holdMs);
    timer.unref();
    this.#held.set(id, { ...held, timer });
    this.#byCaller.add(held.identity);
    return true;
  }

  /** Takes a held call out (the retry owns it now): a state of it is never taken again here. */
  take(id: string): Held | undefined {
    const held = this.#remove(id);
    if (held) this.#spent.add(id);
    if (this.#spent.size > SPENT_KEPT) this.#spent.delete(this.#spent.values().next().value!);
    return held;
  }

  /** Whether a call was held here under `id` and taken out since (its states are spent). */
  spent(id: string): boolean {
    return this.#spent.has(id);
  }

  /** Abandons a held call (cancelled upstream); a late retry runs it again, as on another replica. */
  async drop(id: string): Promise<void> {
    const held = this.#remove(id);
    if (held) await held.exchange.close();
  }

  #remove(id: string): Held | undefined {
    const held = this.#held.get(id);
    if (!held) return undefined;
    clearTimeout(held.timer);
    this.#held.delete(id);
    this.#byCaller.remove(held.identity);
    return held;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#held.keys()].map((id) => this.drop(id)));
  }
}

// Bounds for the HTTP front (issue 12): what one client may make the proxy hold or wait for.
// Each is a small piece the front composes: timeouts against slowloris (the body read that stops at
// its limit and closes the connection is wire/body.ts), Host/Origin matching with the port, a budget of front
// sessions (overall and per identity), a cap on requests in flight, and SSE writes that close a
// stream whose reader does not keep up. Defaults are in `HTTP_LIMITS` (the table in docs/limits.md).
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** The HTTP front's bounds, each overridable (`limits` in `httpHandler` / `run` options). */
export type HttpLimits = { -readonly [K in keyof typeof HTTP_LIMITS]?: number };

export const HTTP_LIMITS = {
  /** Time to receive a request's headers (slowloris). */
  headersTimeoutMs: 10_000,
  /** Time to receive a whole request, body included (slow bodies). */
  requestTimeoutMs: 30_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the two timeouts above. */
  checkIntervalMs: 1_000,
  /** Open front sessions, overall. */
  maxSessions: 1_000,
  /** Open front sessions of one identity (anonymous callers: the overall cap only). */
  maxSessionsPerIdentity: 100,
  /** A session that has sent nothing after initialize is closed after this. */
  uninitializedTtlMs: 30_000,
  /**
   * A session with no request and no open stream for this long is closed: its client has most
   * likely gone without a DELETE. Its place and its backend sessions (children) are freed.
   */
  sessionIdleMs: 30 * 60_000,
  /** Requests in flight in one session. */
  maxInFlightPerSession: 100,
  /** Bytes an SSE stream may have waiting for a slow reader. */
  maxStreamBufferBytes: 4 * 1024 * 1024,
  /** How long an SSE write may wait for the reader to take it. */
  sendTimeoutMs: 15_000,
} as const;

/** Node's HTTP server timeouts, against clients that send headers or bodies a byte at a time. */
export function applyServerTimeouts(server: Server, limits: HttpLimits = {}): void {
  server.headersTimeout = limits.headersTimeoutMs ?? HTTP_LIMITS.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs ?? HTTP_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs ?? HTTP_LIMITS.keepAliveTimeoutMs;
}

/**
 * DNS-rebinding protection with ports: the Host header (and Origin, when sent, unless CORS allowed
 * it) must name an allowed host. An allowed entry with a port (`localhost:8000`) matches that port
 * only; one without (`example.com`) any port.
 */
export function hostAllowed(req: IncomingMessage, allowed: readonly string[], originAllowed = false): boolean {
  return hostGuard(allowed)(req, originAllowed);
}

/** How many Host and Origin values a guard remembers its answer for (a hostile client may send many). */
const REMEMBERED = 1_000;

/**
 * `hostAllowed` for one list, remembering its answer per Host and Origin value: a request's check is
 * then one map lookup, not a URL parse. Past REMEMBERED values, the oldest answers are forgotten.
 */
export function hostGuard(allowed: readonly string[]): (req: IncomingMessage, originAllowed?: boolean) => boolean {
  const answers = new Map<string, boolean>();
  const check = (url: string) => {
    let ok = answers.get(url);
    if (ok === undefined) {
      ok = matches(url, allowed);
      if (answers.size >= REMEMBERED) answers.delete(answers.keys().next().value!);
      answers.set(url, ok);
    }
    return ok;
  };
  return (req, originAllowed = false) => {
    const host = req.headers.host;
    if (!host || !check(`http://${host}`)) return false;
    const origin = req.headers.origin;
    if (origin === undefined || originAllowed) return true;
    return !Array.isArray(origin) && check(origin);
  };
}

function matches(url: string, allowed: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password || (parsed.pathname !== "/" && parsed.pathname !== "")) return false;
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return allowed.some((entry) => {
    // "name:port", "[v6]:port", or a bare name or address ("localhost", "[::1]", "::1")
    const at = entry.lastIndexOf(":");
    const hasPort = at > 0 && (entry.startsWith("[") ? entry[at - 1] === "]" : entry.indexOf(":") === at) && /^\d+$/.test(entry.slice(at + 1));
    let name = (hasPort ? entry.slice(0, at) : entry).toLowerCase();
    if (name.includes(":") && !name.startsWith("[")) name = `[${name}]`; // URL hostnames keep IPv6 in brackets
    return name === parsed.hostname.toLowerCase() && (!hasPort || entry.slice(at + 1) === port);
  });
}

/** The loopback names, with the port the front listens on: what a front bound to loopback allows by default. */
export function loopbackHosts(port: number): string[] {
  return ["localhost", "127.0.0.1", "[::1]"].map((name) => `${name}:${port}`);
}

/** Whether `host` is a loopback address or name (a front bound to another needs explicit allowed hosts). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Counts open front sessions, overall and per identity; past either cap a new one is refused. */
export class SessionBudget {
  readonly #max: number;
  readonly #perIdentity: number;
  readonly #byIdentity = new Map<string, number>();
  #open = 0;

  constructor(max: number = HTTP_LIMITS.maxSessions, perIdentity: number = HTTP_LIMITS.maxSessionsPerIdentity) {
    this.#max = max;
    this.#perIdentity = perIdentity;
  }

  get open(): number {
    return this.#open;
  }

  /**
   * Takes a place for a new session, or says why there is none (answer 503 with it). Anonymous
   * callers (no identity) are held to the overall cap only: they cannot be told apart.
   */
  take(identity: string | undefined): { release: () => void; refused?: undefined } | { refused: string; release?: undefined } {
    const mine = identity === undefined ? 0 : (this.#byIdentity.get(identity) ?? 0);
    if (this.#open >= this.#max) return { refused: `Service Unavailable: too many sessions (${this.#open} open, at most ${this.#max})` };
    if (mine >= this.#perIdentity) return { refused: `Service Unavailable: too many sessions for this caller (${mine} open, at most ${this.#perIdentity})` };
    this.#open++;
    if (identity !== undefined) this.#byIdentity.set(identity, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        if (identity === undefined) return;
        const left = (this.#byIdentity.get(identity) ?? 1) - 1;
        if (left === 0) this.#byIdentity.delete(identity);
        else this.#byIdentity.set(identity, left);
      },
    };
  }
}


export interface WriteLimits {
  maxBufferedBytes?: number | undefined;
  sendTimeoutMs?: number | undefined;
}

/**
 * Writes to an SSE response without letting a slow reader make the proxy hold unbounded data:
 * a write finding more than `maxBufferedBytes` still waiting in the connection's buffer, or one
 * the reader has not taken within `sendTimeoutMs`, destroys that connection (and only it). So a
 * connection holds at most the limit plus one message. False when the stream is (now) closed.
 */
export function writeBounded(res: ServerResponse, chunk: string | ReadonlyArray<string | Buffer>, limits: WriteLimits = {}): boolean {
  if (res.destroyed || res.writableEnded) return false;
  const maxBuffered = limits.maxBufferedBytes ?? HTTP_LIMITS.maxStreamBufferBytes;
  if (res.writableLength > maxBuffered) {
    res.destroy(new Error(`SSE reader too slow: more than ${maxBuffered} bytes waiting`));
    return false;
  }
  let ready = true;
  if (typeof chunk === "string") ready = res.write(chunk);
  else for (const part of chunk) ready = res.write(part);
  if (!ready) watchDrain(res, limits.sendTimeoutMs ?? HTTP_LIMITS.sendTimeoutMs);
  return true;
}

/** After a response was written whole (`end(data)`): a reader that does not take it within the send timeout loses the connection. */
export function endBounded(res: ServerResponse, limits: WriteLimits = {}): void {
  if (res.writableNeedDrain) watchDrain(res, limits.sendTimeoutMs ?? HTTP_LIMITS.sendTimeoutMs);
}

const watched = new WeakSet<ServerResponse>();

function watchDrain(res: ServerResponse, ms: number): void {
  if (watched.has(res)) return;
  watched.add(res);
  const timer = setTimeout(() => res.destroy(new Error(`SSE reader too slow: nothing taken for ${ms} ms`)), ms);
  timer.unref();
  const settle = () => {
    clearTimeout(timer);
    watched.delete(res);
  };
  res.once("drain", settle);
  res.once("finish", settle);
  res.once("close", settle);
}

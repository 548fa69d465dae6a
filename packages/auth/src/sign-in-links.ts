import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sameDigest, sha256 } from "./hash.js";

/** One sign-in in flight: whose it is, where it goes, and the PKCE verifier of this link only. */
export interface PendingSignIn<T> {
  /** The principal identity the link was issued to. */
  readonly identity: string;
  readonly authorizationUrl: URL;
  readonly verifier: string;
  readonly data: T;
}

interface Entry<T> extends PendingSignIn<T> {
  key: string;
  state: string;
  ticket: string | undefined;
  ticketUntil: number;
  until: number;
  /** SHA-256 of the nonce in the cookie set at start: the browser that may finish. */
  browser?: string;
}

export interface SignInLinkOptions {
  /** The proxy's start URL; the client is given it with a ticket. */
  startUrl: URL;
  callbackUrl: URL;
  /** How long the ticket in a link works, ms. */
  ticketTtlMs: number;
  /** How long a started sign-in may take to come back, ms. */
  pendingTtlMs: number;
  /** Sign-ins in flight, in all, and per principal and backend. */
  maxPending: number;
  maxPendingPerKey: number;
  /** The identity of the user behind this browser request (e.g. an SSO session); when given, it must be the link's. */
  identify?: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
}

/**
 * Sign-in links bound to the principal that asked (the MCP URL elicitation's phishing case): the
 * client gets the proxy's own start URL with a short-lived, single-use ticket. Starting sets an
 * HttpOnly SameSite cookie bound to `state` and redirects to the authorization server; the callback
 * is accepted only from the browser holding that cookie. State, tickets and nonces are never logged.
 */
export class SignInLinks<T> {
  readonly #byState = new Map<string, Entry<T>>();
  readonly #byTicket = new Map<string, Entry<T>>();

  constructor(readonly options: SignInLinkOptions) {}

  /** Records a sign-in for `key` (a principal at a backend) and gives the link for its client. */
  issue(key: string, pending: PendingSignIn<T>): URL {
    const state = pending.authorizationUrl.searchParams.get("state");
    if (!state) throw new Error("the authorization URL has no state");
    this.#sweep();
    const mine = [...this.#byState.values()].filter((e) => e.key === key);
    for (const old of mine.slice(0, Math.max(0, mine.length - this.options.maxPendingPerKey + 1))) this.#drop(old);
    for (const old of this.#byState.values()) {
      if (this.#byState.size < this.options.maxPending) break;
      this.#drop(old);
    }
    const now = Date.now();
    const ticket = token();
    const entry: Entry<T> = { ...pending, key, state, ticket, ticketUntil: now + this.options.ticketTtlMs, until: now + this.options.pendingTtlMs };
    this.#byState.set(state, entry);
    this.#byTicket.set(ticket, entry);
    const link = new URL(this.options.startUrl);
    link.searchParams.set("ticket", ticket);
    return link;
  }

  /** The start route: checks the ticket (and the browser's user, with `identify`), sets the cookie, redirects. */
  async start(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
    const ticket = params.get("ticket") ?? "";
    const entry = this.#byTicket.get(ticket);
    this.#byTicket.delete(ticket); // one use only
    if (entry) entry.ticket = undefined;
    if (!entry || entry.ticketUntil < Date.now() || !this.#byState.has(entry.state)) {
      return refuse(res, 400, "this sign-in link is unknown, used or expired; retry the request in your MCP client");
    }
    if (this.options.identify) {
      const who = await this.options.identify(req);
      if (who !== entry.identity) {
        this.#drop(entry);
        return refuse(res, 403, "this sign-in link was issued to another user; retry the request in your own MCP client");
      }
    }
    const nonce = token();
    entry.browser = sha256(nonce);
    res.writeHead(302, {
      location: entry.authorizationUrl.href,
      "set-cookie": this.#cookie(entry.state, nonce, Math.ceil((entry.until - Date.now()) / 1000)),
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    });
    res.end();
  }

  /**
   * The sign-in that `state` names, if the browser finishing it is the one that started it. It
   * works once: it is forgotten whatever the outcome. Clears the cookie on `res`.
   */
  finish(req: IncomingMessage, res: ServerResponse, state: string): PendingSignIn<T> {
    const entry = this.#byState.get(state);
    if (entry) this.#drop(entry);
    if (!entry || entry.until < Date.now()) throw new Error("this sign-in link is unknown or expired; retry the request in your MCP client");
    res.setHeader("set-cookie", this.#cookie(state, "", 0));
    const nonce = cookies(req).get(cookieName(state));
    if (!entry.browser || nonce === undefined || !sameDigest(sha256(nonce), entry.browser)) {
      throw new Error("this sign-in was not started in this browser; open the link your MCP client gave you");
    }
    return entry;
  }

  /** Sign-ins in flight (for tests and metrics). */
  get size(): number {
    return this.#byState.size;
  }

  #cookie(state: string, value: string, maxAge: number): string {
    const secure = this.options.callbackUrl.protocol === "https:" ? "; Secure" : "";
    return `${cookieName(state)}=${value}; Path=${this.options.callbackUrl.pathname}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
  }

  #sweep(): void {
    const now = Date.now();
    for (const entry of this.#byState.values()) if (entry.until < now) this.#drop(entry);
  }

  #drop(entry: Entry<T>): void {
    this.#byState.delete(entry.state);
    if (entry.ticket) this.#byTicket.delete(entry.ticket);
  }
}

const token = () => randomBytes(32).toString("base64url");

/** One cookie per sign-in, so two links in one browser do not clash; its name does not reveal the state. */
function cookieName(state: string): string {
  return `fmp_signin_${sha256(state).slice(0, 16)}`;
}

function cookies(req: IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return jar;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain", "cache-control": "no-store" }).end(`Sign-in refused: ${message}`);
}

import { sha256 } from "./hash.js";

export interface TokenExchangeOptions {
  /** The authorization server's token endpoint. */
  tokenEndpoint: string;
  /** The proxy's own client credentials there (client_secret_basic). */
  clientId: string;
  clientSecret: string;
  /** What the new token is for (RFC 8693 `audience` and/or RFC 8707 `resource`): the backend. */
  audience?: string;
  resource?: string;
  scope?: string;
  /** How long a failure is remembered (no new exchange for that token), ms. Default 10 s. */
  negativeTtlMs?: number;
  /** Exchanged tokens kept. Default 10,000. */
  maxEntries?: number;
  timeoutMs?: number;
}

interface Entry {
  token?: string;
  until: number;
  failure?: Error;
}

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/**
 * On-behalf-of (RFC 8693): the front token is exchanged for one meant for the backend. Results
 * are cached per subject token until shortly before they expire (never past the subject token's
 * own expiry), concurrent misses share one request, and a failure is remembered briefly.
 */
export class TokenExchange {
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<string>>();
  readonly #basic: string;
  /** Exchange requests sent (for tests and metrics). */
  requests = 0;

  constructor(readonly options: TokenExchangeOptions) {
    this.#basic = Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString("base64");
  }

  /** A token for the backend, on behalf of `subjectToken` (which expires at `subjectExp`, s since the epoch, when known). */
  async exchange(subjectToken: string, subjectExp?: number): Promise<string> {
    const key = sha256(subjectToken);
    const now = Date.now();
    const entry = this.#entries.get(key);
    if (entry && entry.until > now) {
      if (entry.failure) throw entry.failure;
      return entry.token as string;
    }
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#request(subjectToken, key, subjectExp).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** Forgets what was exchanged for this subject token (e.g. after the backend refused it). */
  forget(subjectToken: string): void {
    this.#entries.delete(sha256(subjectToken));
  }

  async #request(subjectToken: string, key: string, subjectExp: number | undefined): Promise<string> {
    this.requests++;
    const o = this.options;
    const body = new URLSearchParams({ grant_type: GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, requested_token_type: ACCESS_TOKEN });
    if (o.audience) body.set("audience", o.audience);
    if (o.resource) body.set("resource", o.resource);
    if (o.scope) body.set("scope", o.scope);
    try {
      const response = await fetch(o.tokenEndpoint, {
        method: "POST",
        headers: { authorization: `Basic ${this.#basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      const answer = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
      if (!response.ok || typeof answer.access_token !== "string") {
        throw new Error(`token exchange at ${o.tokenEndpoint} failed: ${answer.error ?? `HTTP ${response.status}`}${answer.error_description ? ` (${answer.error_description})` : ""}`);
      }
      const now = Date.now();
      const lifetime = (answer.expires_in ?? 300) * 1000;
      // Reused until shortly before expiry: 15 s early, or half the lifetime for short-lived tokens.
      let until = now + lifetime - Math.min(15_000, lifetime / 2);
      if (subjectExp !== undefined) until = Math.min(until, subjectExp * 1000);
      this.#store(key, { token: answer.access_token, until });
      return answer.access_token;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#store(key, { failure, until: Date.now() + (o.negativeTtlMs ?? 10_000) });
      throw failure;
    }
  }

  #store(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > (this.options.maxEntries ?? 10_000)) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}

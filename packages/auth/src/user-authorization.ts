import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { UrlElicitationRequiredError } from "@modelcontextprotocol/sdk/types.js";
import type { Logger, Next, ProxyContext, ProxyMethod, ResultOf } from "@fastmcp-proxy/core";
import { memoryGrants, type Grant, type GrantStore } from "./grant-store.js";
import { refreshBeforeExpiry } from "./refresh.js";
import { SignInLinks } from "./sign-in-links.js";
import { storedKey, type DPoPKey } from "./dpop.js";
import { unionScope } from "./scopes.js";

/** A backend session needs its user to sign in at the backend's authorization server first. */
export class UserAuthorizationRequired extends Error {
  override name = "UserAuthorizationRequired";
  constructor(
    readonly backend: string,
    readonly url: URL,
    readonly elicitationId: string,
  ) {
    // The link is not in the message (messages get logged): it reaches the client in the elicitation only.
    super(`backend "${backend}" needs you to sign in: open the link your MCP client shows`);
  }
}

interface Redeem {
  key: string;
  provider: OAuthClientProvider;
  serverUrl: string;
  fetchFn: typeof fetch | undefined;
}

export interface UserAuthorizationOptions {
  /** The proxy's public callback URL, e.g. `https://mcp.example.com/oauth/callback`: served by `route`. */
  callbackUrl: string;
  /** A pre-registered client at the backends' authorization servers; default: dynamic registration. */
  clientId?: string;
  clientSecret?: string;
  clientMetadataUrl?: string;
  /** The proxy's start URL, served by `route` too. Default: `start` beside the callback (`/oauth/start`). */
  startUrl?: string;
  /** How long the single-use ticket in a sign-in link works, ms. Default 5 min. */
  ticketTtlMs?: number;
  /** How long a started sign-in may take to come back, ms. Default 10 min. */
  pendingTtlMs?: number;
  /** Sign-ins in flight at most: in all (default 1000), and per user and backend (default 3; the oldest go first). */
  maxPending?: number;
  maxPendingPerUser?: number;
  /**
   * The identity (`"<iss> <sub>"`, as `identityOf` gives) of the user behind a browser request, e.g.
   * from your SSO session or a trusted header of your reverse proxy. When given, a sign-in link only
   * starts for the user it was issued to, so a link forwarded to someone else is refused.
   */
  identify?: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
  /** Where the users' grants are kept. Default: in memory. `fileGrants(dir)` keeps them across restarts. */
  store?: GrantStore;
  logger?: Pick<Logger, "warn">;
}

/**
 * Per-user upstream OAuth through the client (MCP URL elicitation): when a backend session needs
 * its user's own authorization, the client gets a -32042 URL elicitation with the authorization
 * URL; the authorization server redirects the user's browser to this proxy's callback route,
 * which redeems the code (PKCE) for the principal that started the flow, and only for them. The
 * client then retries. Grants are kept per backend and principal identity, in `store`.
 */
export class UserAuthorization {
  readonly #grants: GrantStore;
  readonly #links: SignInLinks<Redeem>;

  constructor(readonly options: UserAuthorizationOptions) {
    this.#grants = options.store ?? memoryGrants();
    const callbackUrl = new URL(options.callbackUrl);
    this.#links = new SignInLinks({
      startUrl: new URL(options.startUrl ?? "start", callbackUrl),
      callbackUrl,
      ticketTtlMs: options.ticketTtlMs ?? 300_000,
      pendingTtlMs: options.pendingTtlMs ?? 600_000,
      maxPending: options.maxPending ?? 1000,
      maxPendingPerKey: options.maxPendingPerUser ?? 3,
      ...(options.identify ? { identify: options.identify } : {}),
    });
  }

  /** Sign-ins in flight. */
  get pending(): number {
    return this.#links.size;
  }

  /** The DPoP key of one principal's grant at one backend, kept with the grant (a new grant, a new key). */
  dpopKey(backend: string, identity: string): () => Promise<DPoPKey> {
    const key = grantKey(backend, identity);
    return storedKey({ read: () => this.#grants.read(key).dpopKey, write: (dpopKey) => this.#grants.write(key, { ...this.#grants.read(key), dpopKey }) });
  }

  /**
   * The SDK OAuthClientProvider for one backend and one principal. `fetchFn`: the session's fetch
   * (an egress guard, DPoP), which also redeems the code when the user's browser comes back.
   */
  provider(backend: string, identity: string, serverUrl: string, fetchFn?: typeof fetch): OAuthClientProvider {
    const key = grantKey(backend, identity);
    const grant = (): Grant => this.#grants.read(key);
    const update = (change: (g: Grant) => Grant) => this.#grants.write(key, change(grant()));
    const o = this.options;
    const metadata: OAuthClientMetadata & { application_type: string } = {
      client_name: "fastmcp-proxy",
      redirect_uris: [o.callbackUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: o.clientSecret ? "client_secret_basic" : "none",
      application_type: /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(o.callbackUrl) ? "native" : "web",
    };
    const preset = o.clientId ? { client_id: o.clientId, ...(o.clientSecret ? { client_secret: o.clientSecret } : {}) } : undefined;
    let verifier = "";
    let refreshing: Promise<void> | undefined;
    /** Refreshed a minute (at most half the lifetime) before expiry; on failure the old tokens (and the SDK's 401 path) remain. */
    const fresh = async (): Promise<Grant> => {
      const g = grant();
      if (!refreshing) {
        const due = refreshBeforeExpiry(g, preset ?? g.client, fetchFn);
        if (!due) return g;
        refreshing = due.then((tokens) => save({ ...tokens, issuer: g.discovery!.authorizationServerUrl }), () => {}).finally(() => (refreshing = undefined));
      }
      await refreshing;
      return grant();
    };
    const save = (tokens: OAuthTokens) =>
      update((g) => ({
        ...g,
        tokens: tokens.refresh_token || !g.tokens?.refresh_token ? tokens : { ...tokens, refresh_token: g.tokens.refresh_token },
        ...(tokens.expires_in === undefined ? { expiresAt: undefined } : { expiresAt: Date.now() + tokens.expires_in * 1000 }),
      }));
    const provider: OAuthClientProvider = {
      redirectUrl: o.callbackUrl,
      ...(o.clientMetadataUrl ? { clientMetadataUrl: o.clientMetadataUrl } : {}),
      clientMetadata: metadata,
      state: () => randomBytes(32).toString("base64url"),
      clientInformation: () => preset ?? grant().client,
      saveClientInformation: (client) => update((g) => ({ ...g, client })),
      // The refresh token is shown to the SDK only once the access token has expired: on a 403
      // insufficient_scope the SDK would otherwise refresh the old grant (same scopes) instead of
      // asking the user for more.
      tokens: async () => {
        const { tokens, expiresAt } = await fresh();
        if (!tokens?.refresh_token || (expiresAt !== undefined && Date.now() >= expiresAt - 5_000)) return tokens;
        const { refresh_token: _hidden, ...rest } = tokens;
        return rest;
      },
      saveTokens: save,
      redirectToAuthorization: (url) => {
        // SEP-2350: a new authorization (step-up) keeps the scopes granted before.
        const scope = unionScope(grant().tokens?.scope, url.searchParams.get("scope"));
        if (scope) url.searchParams.set("scope", scope);
        // The client gets the proxy's own start link, bound to this principal, never the authorization URL.
        const link = this.#links.issue(key, { identity, authorizationUrl: url, verifier, data: { key, provider, serverUrl, fetchFn } });
        throw new UserAuthorizationRequired(backend, link, randomUUID());
      },
      // One verifier per link (kept with it), so a second link does not break the first.
      saveCodeVerifier: (v) => void (verifier = v),
      codeVerifier: () => verifier,
      saveDiscoveryState: (discovery) => {
        const issuer = discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl;
        // Another authorization server than before: nothing of the old one is kept (its DPoP key neither), let alone sent to the new one.
        update((g) => (g.issuer === undefined || g.issuer === issuer ? { ...g, issuer, discovery } : { issuer, discovery }));
      },
      discoveryState: () => grant().discovery,
      invalidateCredentials: (scope) =>
        update((g) => {
          const next = { ...g };
          if (scope === "all" || scope === "tokens") delete next.tokens;
          if (scope === "all" || scope === "client") delete next.client;
          return next;
        }),
    };
    return provider;
  }

  /** Middleware (register it outermost of the auth ones): a sign-in need becomes a URL elicitation. */
  get middleware() {
    return async function userAuthorization<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
      try {
        return await next();
      } catch (error) {
        const needed = causeOf(error);
        if (!needed) throw error;
        throw new UrlElicitationRequiredError(
          [{ mode: "url", message: `Sign in to ${needed.backend} to continue`, url: needed.url.href, elicitationId: needed.elicitationId }],
          `${needed.message}, then retry`,
        );
      }
    };
  }

  /** The start and callback routes, for `run({ routes })`. */
  get route() {
    const start = this.#links.options.startUrl.pathname;
    const callback = this.#links.options.callbackUrl.pathname;
    return (req: IncomingMessage, res: ServerResponse): boolean => {
      const target = new URL(req.url ?? "/", "http://callback");
      if (req.method !== "GET" || (target.pathname !== start && target.pathname !== callback)) return false;
      const fail = (error: Error) => void (res.headersSent || res.writeHead(400, { "content-type": "text/plain", "cache-control": "no-store" }).end(`Sign-in failed: ${error.message}`));
      if (target.pathname === start) {
        void this.#links.start(req, res, target.searchParams).catch(fail);
        return true;
      }
      void this.#complete(req, res, target.searchParams).then(
        () => res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" }).end("Signed in: you can close this window and go back to your MCP client."),
        fail,
      );
      return true;
    };
  }

  async #complete(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
    const { verifier, data: pending } = this.#links.finish(req, res, params.get("state") ?? "");
    if (params.get("error")) throw new Error(`the authorization server refused: ${params.get("error")}`);
    const code = params.get("code");
    if (!code) throw new Error("the callback has no code");
    const metadata = this.#grants.read(pending.key).discovery?.authorizationServerMetadata as { issuer?: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
    const iss = params.get("iss");
    if (iss !== null && metadata?.issuer && iss !== metadata.issuer) throw new Error(`the callback came from issuer ${iss}, not ${metadata.issuer} (RFC 9207)`);
    if (iss === null && metadata?.authorization_response_iss_parameter_supported) throw new Error("the callback has no iss, though the authorization server sends one (RFC 9207)");
    const resourceMetadataUrl = this.#grants.read(pending.key).discovery?.resourceMetadataUrl;
    // Redeemed with the same provider, so the tokens land under the principal that started the flow,
    // with this link's own verifier.
    const provider = Object.assign(Object.create(pending.provider) as OAuthClientProvider, { codeVerifier: () => verifier });
    const result = await auth(provider, {
      serverUrl: pending.serverUrl,
      authorizationCode: code,
      ...(resourceMetadataUrl ? { resourceMetadataUrl: new URL(resourceMetadataUrl) } : {}),
      ...(pending.fetchFn ? { fetchFn: pending.fetchFn } : {}),
    });
    if (result !== "AUTHORIZED") throw new Error("the code was not accepted");
  }
}

/** Where one principal's grant at one backend is kept. */
function grantKey(backend: string, identity: string): string {
  return `${backend}\n${identity}`;
}

function causeOf(error: unknown): UserAuthorizationRequired | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UserAuthorizationRequired) return e;
  }
  return undefined;
}

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { UrlElicitationRequiredError } from "@modelcontextprotocol/sdk/types.js";
import type { Logger, Next, ProxyContext, ProxyMethod, ResultOf } from "@fastmcp-proxy/core";
import { memoryGrants, type Grant, type GrantStore } from "./grant-store.js";
import { refreshBeforeExpiry } from "./refresh.js";
import { unionScope } from "./scopes.js";

/** A backend session needs its user to sign in at the backend's authorization server first. */
export class UserAuthorizationRequired extends Error {
  override name = "UserAuthorizationRequired";
  constructor(
    readonly backend: string,
    readonly url: URL,
    readonly elicitationId: string,
  ) {
    super(`backend "${backend}" needs you to sign in: open ${url.href}`);
  }
}

interface Pending {
  key: string;
  provider: OAuthClientProvider;
  serverUrl: string;
  until: number;
}

export interface UserAuthorizationOptions {
  /** The proxy's public callback URL, e.g. `https://mcp.example.com/oauth/callback`: served by `route`. */
  callbackUrl: string;
  /** A pre-registered client at the backends' authorization servers; default: dynamic registration. */
  clientId?: string;
  clientSecret?: string;
  clientMetadataUrl?: string;
  /** How long a sign-in link stays valid, ms. Default 10 min. */
  pendingTtlMs?: number;
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
  readonly #pending = new Map<string, Pending>();
  readonly #callbackPath: string;

  constructor(readonly options: UserAuthorizationOptions) {
    this.#callbackPath = new URL(options.callbackUrl).pathname;
    this.#grants = options.store ?? memoryGrants();
  }

  /** The SDK OAuthClientProvider for one backend and one principal. */
  provider(backend: string, identity: string, serverUrl: string): OAuthClientProvider {
    const key = `${backend}\n${identity}`;
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
    let state = "";
    let refreshing: Promise<void> | undefined;
    /** Refreshed a minute (at most half the lifetime) before expiry; on failure the old tokens (and the SDK's 401 path) remain. */
    const fresh = async (): Promise<Grant> => {
      const g = grant();
      if (!refreshing) {
        const due = refreshBeforeExpiry(g, preset ?? g.client);
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
      state: () => {
        state = randomUUID();
        this.#pending.set(state, { key, provider, serverUrl, until: Date.now() + (o.pendingTtlMs ?? 600_000) });
        return state;
      },
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
        throw new UserAuthorizationRequired(backend, url, state);
      },
      saveCodeVerifier: (verifier) => update((g) => ({ ...g, verifier })),
      codeVerifier: () => grant().verifier ?? "",
      saveDiscoveryState: (discovery) => {
        const issuer = discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl;
        // Another authorization server than before: nothing of the old one is kept, let alone sent to the new one.
        update((g) => (g.issuer === undefined || g.issuer === issuer ? { ...g, issuer, discovery } : { issuer, discovery }));
      },
      discoveryState: () => grant().discovery,
      invalidateCredentials: (scope) =>
        update((g) => {
          const next = { ...g };
          if (scope === "all" || scope === "tokens") delete next.tokens;
          if (scope === "all" || scope === "client") delete next.client;
          if (scope === "all" || scope === "verifier") delete next.verifier;
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

  /** The callback route, for `run({ routes })`. */
  get route() {
    return (req: IncomingMessage, res: ServerResponse): boolean => {
      const target = new URL(req.url ?? "/", "http://callback");
      if (target.pathname !== this.#callbackPath || req.method !== "GET") return false;
      void this.#complete(target.searchParams).then(
        () => res.writeHead(200, { "content-type": "text/plain" }).end("Signed in: you can close this window and go back to your MCP client."),
        (error: Error) => res.writeHead(400, { "content-type": "text/plain" }).end(`Sign-in failed: ${error.message}`),
      );
      return true;
    };
  }

  async #complete(params: URLSearchParams): Promise<void> {
    const state = params.get("state") ?? "";
    const pending = this.#pending.get(state);
    this.#pending.delete(state); // one use only
    if (!pending || pending.until < Date.now()) throw new Error("this sign-in link is unknown or expired; retry the request in your MCP client");
    if (params.get("error")) throw new Error(`the authorization server refused: ${params.get("error")}`);
    const code = params.get("code");
    if (!code) throw new Error("the callback has no code");
    const metadata = this.#grants.read(pending.key).discovery?.authorizationServerMetadata as { issuer?: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
    const iss = params.get("iss");
    if (iss !== null && metadata?.issuer && iss !== metadata.issuer) throw new Error(`the callback came from issuer ${iss}, not ${metadata.issuer} (RFC 9207)`);
    if (iss === null && metadata?.authorization_response_iss_parameter_supported) throw new Error("the callback has no iss, though the authorization server sends one (RFC 9207)");
    const resourceMetadataUrl = this.#grants.read(pending.key).discovery?.resourceMetadataUrl;
    // Redeemed with the same provider, so the tokens land under the principal that started the flow.
    const result = await auth(pending.provider, { serverUrl: pending.serverUrl, authorizationCode: code, ...(resourceMetadataUrl ? { resourceMetadataUrl: new URL(resourceMetadataUrl) } : {}) });
    if (result !== "AUTHORIZED") throw new Error("the code was not accepted");
  }
}

function causeOf(error: unknown): UserAuthorizationRequired | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UserAuthorizationRequired) return e;
  }
  return undefined;
}

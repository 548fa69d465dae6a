import { exchangeAuthorization, type OAuthClientProvider, type OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { JWK } from "jose";
import { LoopbackCallback } from "./loopback.js";
import { refreshBeforeExpiry } from "./refresh.js";
import { unionScope } from "./scopes.js";
import { TokenFile, defaultTokenFile } from "./token-file.js";

/** What the token file holds for one backend: everything is tied to the issuer it came from. */
export interface StoredAuth {
  issuer: string;
  client: OAuthClientInformationMixed;
  tokens: OAuthTokens;
  /** ms since the epoch. */
  expiresAt: number;
  discovery: OAuthDiscoveryState;
  codeVerifier: string;
  state: string;
  /** The loopback callback the login registered: a sign-in at run time comes back to it. */
  redirectUrl: string;
  /** With `dpop`: the private key the tokens are bound to (RFC 9449), made with the grant. */
  dpopKey: JWK;
}

export interface StoredTokenOptions {
  tokenFile?: string;
  scope?: string;
  /** The only issuer accepted for this backend (enforced where backendAuth and login wrap the provider, see egress.ts). */
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  /** A Client ID Metadata Document URL to use as client_id where the server supports it (CIMD). */
  clientMetadataUrl?: string;
  /** The login's loopback callback. Undefined when serving: a missing login is then an error naming the fix. */
  redirectUrl?: string;
  /** Called with the authorization URL during a login. */
  onAuthorizationUrl?: (url: URL) => void | Promise<void>;
  /**
   * Serving: shows the operator the authorization URL when the backend wants a new authorization
   * (a wider scope, another authorization server, a revoked grant). The proxy takes the callback on
   * the login's loopback address. Without it such a backend fails with the fix (run the login).
   */
  signIn?: (url: URL) => void | Promise<void>;
  /** How long a run-time sign-in waits for the operator, ms. Default 5 min. */
  signInTimeoutMs?: number;
  /** The fetch of the backend's sessions (an egress guard, DPoP): refreshes and run-time sign-ins go through it too. */
  fetch?: typeof fetch;
}

/**
 * The SDK OAuthClientProvider for an authorization-code backend: tokens live in a 0600 file per
 * backend, bound to one issuer (credentials are never reused with another authorization server).
 */
export function storedTokenProvider(backend: string, options: StoredTokenOptions): OAuthClientProvider & { readonly file: TokenFile<StoredAuth> } {
  const file = new TokenFile<StoredAuth>(options.tokenFile ?? defaultTokenFile(backend));
  const preset = options.clientId ? { client_id: options.clientId, ...(options.clientSecret ? { client_secret: options.clientSecret } : {}) } : undefined;
  // application_type (SEP-837) is newer than the SDK's type; the SDK sends the object as given.
  const metadata = (redirectUrl: string | undefined): OAuthClientMetadata & { application_type: string } => ({
    client_name: "fastmcp-proxy",
    redirect_uris: redirectUrl ? [redirectUrl] : [],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: options.clientSecret ? "client_secret_basic" : "none",
    // SEP-837: a loopback callback is a native application's.
    application_type: redirectUrl && /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(redirectUrl) ? "native" : "web",
    ...(options.scope ? { scope: options.scope } : {}),
  });
  let refreshing: Promise<OAuthTokens | undefined> | undefined;
  /** Refreshed a minute (at most half the lifetime) before expiry rather than after a 401; on failure the old tokens (and the SDK's 401 path) remain. */
  const fresh = async (): Promise<OAuthTokens | undefined> => {
    const s = file.read();
    if (!refreshing) {
      const due = refreshBeforeExpiry(s, preset ?? s.client, options.fetch);
      if (!due) return s.tokens;
      refreshing = due
        .then(
          (tokens) => {
            file.update((f) => ({ ...f, tokens, expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000 }));
            return tokens;
          },
          () => s.tokens,
        )
        .finally(() => (refreshing = undefined));
    }
    return refreshing;
  };
  const needsLogin = (scope?: string | null) =>
    new Error(`backend "${backend}" needs you to sign in${scopeNote(scope)}: run \`fastmcp-proxy auth login ${backend} <config.json>\` (tokens go to ${file.path})`);
  // Serving: the login's callback, so that the SDK builds the URL (and scope) of a new authorization.
  const redirectUrl = () => options.redirectUrl ?? file.read().redirectUrl;
  let signingIn: Promise<void> | undefined;
  /** The operator signs in at run time; the code comes back to the login's loopback callback and is redeemed here. */
  const signInAgain = async (url: URL, redirectUrl: string): Promise<void> => {
    const before = file.read();
    const scope = unionScope(before.tokens?.scope, url.searchParams.get("scope")); // SEP-2350: keep what was granted
    if (scope) url.searchParams.set("scope", scope);
    const expected = { state: url.searchParams.get("state") ?? undefined, ...issuerOf(before.discovery) };
    const label = `sign-in to "${backend}"`;
    const callback = await LoopbackCallback.listen(Number(new URL(redirectUrl).port), () => expected, label);
    try {
      await options.signIn!(url);
    } catch (error) {
      callback.close();
      throw error;
    }
    const code = await callback.wait(options.signInTimeoutMs ?? 300_000, label);
    const s = file.read();
    const client = preset ?? s.client;
    if (!s.discovery || !client || !before.codeVerifier) throw new Error(`${label}: the sign-in state is gone`);
    const resource = (s.discovery.resourceMetadata as { resource?: string } | undefined)?.resource;
    const tokens = await exchangeAuthorization(s.discovery.authorizationServerUrl, {
      ...(s.discovery.authorizationServerMetadata ? { metadata: s.discovery.authorizationServerMetadata } : {}),
      clientInformation: client,
      authorizationCode: code,
      codeVerifier: before.codeVerifier,
      redirectUri: redirectUrl,
      ...(resource ? { resource: new URL(resource) } : {}),
      ...(options.fetch ? { fetchFn: options.fetch } : {}),
    });
    file.update((f) => ({ ...f, tokens: { ...tokens, issuer: s.discovery!.authorizationServerUrl }, expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000 }));
  };
  return {
    file,
    ...(options.clientMetadataUrl ? { clientMetadataUrl: options.clientMetadataUrl } : {}),
    // Serving (no callback): with no usable token the SDK would try a token request without a code.
    ...(options.redirectUrl
      ? {}
      : {
          prepareTokenRequest: () => {
            throw needsLogin();
          },
        }),
    get redirectUrl() {
      return redirectUrl();
    },
    get clientMetadata() {
      return metadata(redirectUrl());
    },
    state: () => {
      const state = crypto.randomUUID();
      file.update((s) => ({ ...s, state, ...(options.redirectUrl ? { redirectUrl: options.redirectUrl } : {}) }));
      return state;
    },
    clientInformation: () => preset ?? file.read().client,
    saveClientInformation: (client) => file.update((s) => ({ ...s, client })),
    // The SDK sees the refresh token only once the access token has expired: on a 403
    // insufficient_scope it would otherwise refresh the same grant instead of asking for more.
    tokens: async () => {
      const tokens = await fresh();
      const expiresAt = file.read().expiresAt;
      if (!tokens?.refresh_token || (expiresAt !== undefined && Date.now() >= expiresAt - 5_000)) return tokens;
      const { refresh_token: _hidden, ...rest } = tokens;
      return rest;
    },
    saveTokens: (tokens) => file.update((s) => ({ ...s, tokens: keepRefresh(tokens, s.tokens), expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000 })),
    async redirectToAuthorization(url) {
      if (options.redirectUrl && options.onAuthorizationUrl) return options.onAuthorizationUrl(url);
      const redirectUrl = file.read().redirectUrl;
      if (!options.signIn || !redirectUrl) throw needsLogin(url.searchParams.get("scope"));
      // One sign-in at a time: a second session asking meanwhile is told to retry after it.
      signingIn ??= signInAgain(url, redirectUrl).finally(() => (signingIn = undefined));
      await signingIn;
      throw new Error(`backend "${backend}" asked for a new authorization${scopeNote(url.searchParams.get("scope"))}: signed in again, retry the request`);
    },
    saveCodeVerifier: (codeVerifier) => file.update((s) => ({ ...s, codeVerifier })),
    codeVerifier: () => {
      const verifier = file.read().codeVerifier;
      if (!verifier) throw new Error(`backend "${backend}": no login in progress`);
      return verifier;
    },
    saveDiscoveryState(discovery) {
      const issuer = discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl;
      // RFC 8414 §3.3: metadata naming another issuer than the one it was fetched for is not used.
      if (discovery.authorizationServerMetadata && sameIssuer(issuer, discovery.authorizationServerUrl) === false) {
        throw new Error(`backend "${backend}": the metadata of ${discovery.authorizationServerUrl} names the issuer ${issuer}; not using it`);
      }
      // Another issuer than before: nothing of the old one is kept, let alone sent to the new one.
      file.update((s) => (s.issuer === issuer ? { ...s, discovery } : { issuer, discovery, ...(s.redirectUrl ? { redirectUrl: s.redirectUrl } : {}) }));
    },
    // Not given back to the SDK: an authorization (after a 401 or 403) starts from the backend's
    // metadata as it is now, so a move to another authorization server is seen (SEP-2352).
    discoveryState: () => undefined,
    invalidateCredentials(scope) {
      file.update((s) => {
        if (scope === "all") return s.redirectUrl ? { redirectUrl: s.redirectUrl } : {};
        const { tokens: _t, client: _c, codeVerifier: _v, ...rest } = s;
        return scope === "tokens" ? { ...rest, ...(s.client ? { client: s.client } : {}) } : scope === "client" ? { ...rest, ...(s.tokens ? { tokens: s.tokens } : {}) } : rest;
      });
    },
  };
}

function scopeNote(scope: string | null | undefined): string {
  return scope ? ` (scope "${scope}")` : "";
}

/** A refresh token the server did not replace is kept. */
function keepRefresh(tokens: OAuthTokens, before: OAuthTokens | undefined): OAuthTokens {
  return tokens.refresh_token || !before?.refresh_token ? tokens : { ...tokens, refresh_token: before.refresh_token };
}

function issuerOf(discovery: OAuthDiscoveryState | undefined): { issuer: string | undefined; issRequired: boolean } {
  const metadata = discovery?.authorizationServerMetadata as { issuer?: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
  return { issuer: metadata?.issuer, issRequired: metadata?.authorization_response_iss_parameter_supported === true };
}

function sameIssuer(a: string, b: string): boolean {
  const strip = (u: string) => u.replace(/\/+$/, "");
  return strip(a) === strip(b);
}

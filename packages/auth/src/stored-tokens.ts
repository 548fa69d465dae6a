import { refreshAuthorization, type OAuthClientProvider, type OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
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
}

/**
 * The SDK OAuthClientProvider for an authorization-code backend: tokens live in a 0600 file per
 * backend, bound to one issuer (credentials are never reused with another authorization server).
 */
export function storedTokenProvider(backend: string, options: StoredTokenOptions): OAuthClientProvider & { readonly file: TokenFile<StoredAuth> } {
  const file = new TokenFile<StoredAuth>(options.tokenFile ?? defaultTokenFile(backend));
  const preset = options.clientId ? { client_id: options.clientId, ...(options.clientSecret ? { client_secret: options.clientSecret } : {}) } : undefined;
  // application_type (SEP-837) is newer than the SDK's type; the SDK sends the object as given.
  const metadata: OAuthClientMetadata & { application_type: string } = {
    client_name: "fastmcp-proxy",
    redirect_uris: options.redirectUrl ? [options.redirectUrl] : [],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: options.clientSecret ? "client_secret_basic" : "none",
    // SEP-837: a loopback callback is a native application's.
    application_type: options.redirectUrl && /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(options.redirectUrl) ? "native" : "web",
    ...(options.scope ? { scope: options.scope } : {}),
  };
  let refreshing: Promise<OAuthTokens | undefined> | undefined;
  /** Refreshed a minute (at most half the lifetime) before expiry rather than after a 401; on failure the old tokens (and the SDK's 401 path) remain. */
  const fresh = async (): Promise<OAuthTokens | undefined> => {
    const s = file.read();
    const client = preset ?? s.client;
    const margin = Math.min(60_000, ((s.tokens?.expires_in ?? 3600) * 1000) / 2);
    if (!s.tokens?.refresh_token || !s.expiresAt || Date.now() < s.expiresAt - margin || !s.discovery || !client) return s.tokens;
    const resource = (s.discovery.resourceMetadata as { resource?: string } | undefined)?.resource;
    refreshing ??= refreshAuthorization(s.discovery.authorizationServerUrl, {
      ...(s.discovery.authorizationServerMetadata ? { metadata: s.discovery.authorizationServerMetadata } : {}),
      clientInformation: client,
      refreshToken: s.tokens.refresh_token,
      ...(resource ? { resource } : {}),
    })
      .then(
        (tokens) => {
          file.update((f) => ({ ...f, tokens, expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000 }));
          return tokens;
        },
        () => s.tokens,
      )
      .finally(() => (refreshing = undefined));
    return refreshing;
  };
  const needsLogin = () => new Error(`backend "${backend}" needs you to sign in: run \`fastmcp-proxy auth login ${backend} <config.json>\` (tokens go to ${file.path})`);
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
      return options.redirectUrl;
    },
    clientMetadata: metadata,
    state: () => {
      const state = crypto.randomUUID();
      file.update((s) => ({ ...s, state }));
      return state;
    },
    clientInformation: () => preset ?? file.read().client,
    saveClientInformation: (client) => file.update((s) => ({ ...s, client })),
    tokens: fresh,
    saveTokens: (tokens) => file.update((s) => ({ ...s, tokens, expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000 })),
    async redirectToAuthorization(url) {
      if (!options.redirectUrl || !options.onAuthorizationUrl) {
        throw needsLogin();
      }
      await options.onAuthorizationUrl(url);
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
      file.update((s) => (s.issuer === issuer ? { ...s, discovery } : { issuer, discovery }));
    },
    discoveryState: () => file.read().discovery,
    invalidateCredentials(scope) {
      file.update((s) => {
        if (scope === "all") return {};
        const { tokens: _t, client: _c, codeVerifier: _v, ...rest } = s;
        return scope === "tokens" ? { ...rest, ...(s.client ? { client: s.client } : {}) } : scope === "client" ? { ...rest, ...(s.tokens ? { tokens: s.tokens } : {}) } : rest;
      });
    },
  };
}

function sameIssuer(a: string, b: string): boolean {
  const strip = (u: string) => u.replace(/\/+$/, "");
  return strip(a) === strip(b);
}

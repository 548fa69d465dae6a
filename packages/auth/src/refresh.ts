import { refreshAuthorization, type OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";

/** What a refresh before expiry reads: the tokens, when they expire, and where they came from. */
export interface Refreshable {
  tokens?: OAuthTokens | undefined;
  /** ms since the epoch. */
  expiresAt?: number | undefined;
  discovery?: OAuthDiscoveryState | undefined;
}

/**
 * Refreshes tokens a minute (at most half their lifetime) before they expire, rather than after a
 * 401. Undefined when they are not due yet, or cannot be refreshed (no refresh token, discovery or client).
 */
export function refreshBeforeExpiry(s: Refreshable, client: OAuthClientInformationMixed | undefined, fetchFn?: typeof fetch): Promise<OAuthTokens> | undefined {
  const margin = Math.min(60_000, ((s.tokens?.expires_in ?? 3600) * 1000) / 2);
  if (!s.tokens?.refresh_token || !s.expiresAt || Date.now() < s.expiresAt - margin || !s.discovery || !client) return undefined;
  const resource = (s.discovery.resourceMetadata as { resource?: string } | undefined)?.resource;
  return refreshAuthorization(s.discovery.authorizationServerUrl, {
    ...(s.discovery.authorizationServerMetadata ? { metadata: s.discovery.authorizationServerMetadata } : {}),
    clientInformation: client,
    refreshToken: s.tokens.refresh_token,
    ...(resource ? { resource } : {}),
    ...(fetchFn ? { fetchFn } : {}),
  });
}

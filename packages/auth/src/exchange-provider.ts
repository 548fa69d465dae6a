import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { SessionOwner } from "@fastmcp-proxy/core";
import type { TokenExchange } from "./token-exchange.js";

/**
 * An SDK OAuthClientProvider for one backend session whose tokens are the front token exchanged
 * for the backend (RFC 8693), asked for on every request and cached by the exchanger. The front
 * token is the session owner's latest one: a client that refreshed its token has that one exchanged.
 */
export function exchangeProvider(backend: string, exchange: TokenExchange, owner: Pick<SessionOwner, "authInfo">): OAuthClientProvider {
  const front = () => {
    const authInfo = owner.authInfo;
    if (!authInfo) throw new Error(`backend "${backend}": token exchange needs the caller's token, and this session has none`);
    return authInfo;
  };
  const metadata: OAuthClientMetadata = { client_name: "fastmcp-proxy", redirect_uris: [], grant_types: ["urn:ietf:params:oauth:grant-type:token-exchange"] };
  return {
    redirectUrl: undefined,
    clientMetadata: metadata,
    clientInformation: () => ({ client_id: exchange.options.clientId }),
    async tokens(): Promise<OAuthTokens> {
      const authInfo = front();
      return { access_token: await exchange.exchange(authInfo.token, authInfo.expiresAt), token_type: "Bearer" };
    },
    saveTokens() {},
    redirectToAuthorization() {
      throw new Error(`backend "${backend}" refused the exchanged token: check the token exchange's audience and scope for this backend`);
    },
    saveCodeVerifier() {},
    codeVerifier: () => "",
    invalidateCredentials: async () => exchange.forget(front().token),
  };
}

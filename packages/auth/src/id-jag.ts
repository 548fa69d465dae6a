import * as oauth from "oauth4webapi";
import type { OAuthClientProvider, OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { JWT_BEARER, jwtBearerMetadata } from "./jwt-bearer.js";
import { safeUrl } from "./jwt.js";

/** Enterprise-managed authorization (SEP-990): the IdP vouches for the user to the backend's authorization server. */
export interface IdJagOptions {
  /** The enterprise IdP's token endpoint, where the ID token is exchanged for an ID-JAG (RFC 8693). */
  idpTokenEndpoint: string;
  /** The proxy's client at the IdP; without a secret the client id goes in the request body. */
  idpClientId: string;
  idpClientSecret?: string;
  /** The proxy's client at the backend's authorization server, which redeems the ID-JAG (RFC 7523, client_secret_basic). */
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** The backend's authorization server; its credentials go to no other. Default: the first one used. */
  issuer?: string;
  timeoutMs?: number;
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";

/** Where an ID-JAG is for: the authorization server that redeems it, and the MCP server it grants access to. */
export interface IdJagTarget {
  audience: string;
  resource: string;
  scope?: string | undefined;
}

/** Asks the IdP for an Identity Assertion JWT Authorization Grant for `idToken` (RFC 8693, requested_token_type id-jag). */
export async function requestIdJag(options: IdJagOptions, idToken: string, target: IdJagTarget): Promise<string> {
  const endpoint = safeUrl(options.idpTokenEndpoint, "idpTokenEndpoint");
  const idp: oauth.AuthorizationServer = { issuer: endpoint.origin, token_endpoint: endpoint.href };
  const client: oauth.Client = { client_id: options.idpClientId };
  const clientAuth = options.idpClientSecret ? oauth.ClientSecretBasic(options.idpClientSecret) : oauth.None();
  const parameters: Record<string, string> = {
    subject_token: idToken,
    subject_token_type: ID_TOKEN,
    requested_token_type: ID_JAG,
    audience: target.audience,
    resource: target.resource,
    ...(target.scope ? { scope: target.scope } : {}),
  };
  try {
    const response = await oauth.genericTokenEndpointRequest(idp, client, clientAuth, TOKEN_EXCHANGE, parameters, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      [oauth.allowInsecureRequests]: endpoint.protocol === "http:", // loopback only (safeUrl)
    });
    // RFC 8693 §2.2.1: a token that is not an access token comes with token_type N_A.
    const answer = await oauth.processGenericTokenEndpointResponse(idp, client, response, { recognizedTokenTypes: { n_a: () => {} } });
    if (answer.issued_token_type !== ID_JAG) throw new Error(`the IdP issued ${String(answer.issued_token_type ?? "a token of no stated type")}, not an ID-JAG`);
    return answer.access_token;
  } catch (error) {
    const e = error as Error & { error?: string; error_description?: string };
    throw new Error(`ID-JAG request at ${endpoint.href} failed: ${e.error ? `${e.error}${e.error_description ? ` (${e.error_description})` : ""}` : e.message}`);
  }
}

/**
 * An SDK OAuthClientProvider redeeming ID-JAGs with the jwt-bearer grant (RFC 7523). When the SDK
 * needs a token, discovery has named the authorization server (the ID-JAG's audience) and the
 * resource; the IdP is asked for an ID-JAG for `idToken()` (read then: a caller's latest token),
 * and the SDK sends it to the token endpoint with the proxy's client credentials.
 */
export function idJagProvider(backend: string, options: IdJagOptions, idToken: () => string, serverUrl: string): OAuthClientProvider {
  let tokens: OAuthTokens | undefined;
  let target: IdJagTarget | undefined;
  const metadata = jwtBearerMetadata("client_secret_basic", options.scope);
  return {
    redirectUrl: undefined,
    clientMetadata: metadata,
    clientInformation: () => ({ client_id: options.clientId, client_secret: options.clientSecret, ...(options.issuer ? { issuer: options.issuer } : {}) }),
    tokens: () => tokens,
    saveTokens(saved: OAuthTokens) {
      tokens = saved;
    },
    saveDiscoveryState(discovery: OAuthDiscoveryState) {
      const issuer = (discovery.authorizationServerMetadata as { issuer?: string } | undefined)?.issuer ?? discovery.authorizationServerUrl;
      target = { audience: issuer, resource: discovery.resourceMetadata?.resource ?? serverUrl };
    },
    async prepareTokenRequest(scope?: string) {
      if (!target) throw new Error(`backend "${backend}": its authorization server is not known yet`);
      const assertion = await requestIdJag(options, idToken(), { ...target, scope });
      return new URLSearchParams({ grant_type: JWT_BEARER, assertion, ...(scope ? { scope } : {}) });
    },
    redirectToAuthorization() {
      throw new Error(`backend "${backend}" refused the token redeemed from the ID-JAG: check the client at its authorization server and the scope`);
    },
    saveCodeVerifier() {},
    codeVerifier: () => "",
    invalidateCredentials: async (what) => {
      if (what === "all" || what === "tokens") tokens = undefined;
    },
  };
}

// The RFC 7523 jwt-bearer grant, as both backend types that present a JWT for a token use it
// (id_jag: an ID-JAG from the IdP; workload_identity: the platform's JWT).
import type { OAuthClientMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";

export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The proxy as a client that only redeems JWTs: no redirect, one grant type. */
export function jwtBearerMetadata(authMethod: "none" | "client_secret_basic", scope: string | undefined): OAuthClientMetadata {
  return {
    client_name: "fastmcp-proxy",
    redirect_uris: [],
    grant_types: [JWT_BEARER],
    token_endpoint_auth_method: authMethod,
    ...(scope ? { scope } : {}),
  };
}

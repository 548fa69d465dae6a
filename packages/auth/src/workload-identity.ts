import { readFileSync } from "node:fs";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { JWT_BEARER, jwtBearerMetadata } from "./jwt-bearer.js";

/** Workload identity federation (SEP-1933): the platform's JWT for this workload is the grant. */
export interface WorkloadIdentityOptions {
  /** The proxy's client at the backend's authorization server (a public client: no secret). */
  clientId: string;
  /** A file holding the workload's JWT (a projected service-account token, say); read again for every token request. */
  tokenFile?: string;
  /** Or the name of an environment variable holding it. */
  tokenEnv?: string;
  scope?: string;
  /** The backend's authorization server. Default: the first one used. */
  issuer?: string;
}


/** The workload's JWT as it is now: platforms rotate it in place. */
export function workloadJwt(backend: string, options: Pick<WorkloadIdentityOptions, "tokenFile" | "tokenEnv">): string {
  const where = options.tokenFile ? `tokenFile ${options.tokenFile}` : `tokenEnv ${options.tokenEnv}`;
  let jwt: string | undefined;
  try {
    jwt = options.tokenFile ? readFileSync(options.tokenFile, "utf8").trim() : process.env[options.tokenEnv ?? ""]?.trim();
  } catch (error) {
    throw new Error(`backend "${backend}" (workload_identity): cannot read ${where}: ${(error as Error).message}`);
  }
  if (!jwt) throw new Error(`backend "${backend}" (workload_identity): ${where} holds no token`);
  return jwt;
}

/**
 * An SDK OAuthClientProvider presenting the workload's JWT with the jwt-bearer grant (RFC 7523
 * §2.1). A refused grant is an error to the caller; nothing else is tried (no other grant), and a
 * refused JWT is not sent again: the next token request waits for the platform's next one.
 */
export function workloadIdentityProvider(backend: string, options: WorkloadIdentityOptions): OAuthClientProvider {
  let tokens: OAuthTokens | undefined;
  /** The JWT of the last token request, and whether the authorization server refused it. */
  let sent: string | undefined;
  let refused: string | undefined;
  const metadata = jwtBearerMetadata("none", options.scope);
  return {
    redirectUrl: undefined,
    clientMetadata: metadata,
    clientInformation: () => ({ client_id: options.clientId, ...(options.issuer ? { issuer: options.issuer } : {}) }),
    tokens: () => tokens,
    saveTokens(saved: OAuthTokens) {
      tokens = saved;
    },
    prepareTokenRequest(scope?: string) {
      const assertion = workloadJwt(backend, options);
      if (assertion === refused) {
        throw new Error(`backend "${backend}" (workload_identity): its authorization server refused the workload's JWT; it is not sent again until it changes (check the client, the trust of the JWT's issuer and the scope)`);
      }
      sent = assertion;
      const requested = scope ?? options.scope;
      return new URLSearchParams({ grant_type: JWT_BEARER, assertion, ...(requested ? { scope: requested } : {}) });
    },
    redirectToAuthorization() {
      throw new Error(`backend "${backend}" refused the token got with the workload's identity: check the client and the trust of its authorization server, and the scope`);
    },
    saveCodeVerifier() {},
    codeVerifier: () => "",
    // The SDK calls this when the token endpoint refuses the grant (invalid_grant, invalid or unauthorized client), before trying again.
    invalidateCredentials: async (what) => {
      if (what === "all" || what === "tokens") tokens = undefined;
      refused = sent;
    },
  };
}

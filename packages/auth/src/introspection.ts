import * as oauth from "oauth4webapi";
import { InvalidTokenError, VerifierUnavailableError } from "./errors.js";
import { safeUrl } from "./jwt.js";
import type { Verified, Verifier, VerifyContext } from "./principal.js";
import { scopesFromClaims } from "./scopes.js";

export interface IntrospectionOptions {
  /** The RFC 7662 introspection endpoint. */
  endpoint: string;
  /** The proxy's credentials at that endpoint (client_secret_basic). */
  clientId: string;
  clientSecret: string;
  /** The authorization server's issuer: required as `iss` in an answer that has one, and advertised to clients by bearerAuth. */
  issuer?: string;
  /** Required `aud` (any of them); an answer without one is refused. Default: the canonical resource URL. */
  audience?: string | string[];
  /** How long an answer is reused (revocation shows up within this), ms. Default 30 s. */
  cacheTtlMs?: number;
  timeoutMs?: number;
}

/** `token_type` values (RFC 7662 §2.2, RFC 6749 §7.1, RFC 8693 §3) that name an access token. */
const ACCESS_TOKEN_TYPES = new Set(["bearer", "dpop", "access_token", "urn:ietf:params:oauth:token-type:access_token"]);

/**
 * Asks the authorization server about opaque tokens (RFC 7662, with oauth4webapi). Only an active
 * access token (by `token_type`, when given) for this resource (`aud` required) is accepted.
 */
export function introspectionVerifier(options: IntrospectionOptions): Verifier {
  const endpoint = safeUrl(options.endpoint, "introspection endpoint");
  const server: oauth.AuthorizationServer = { issuer: options.issuer ?? endpoint.origin, introspection_endpoint: endpoint.href };
  const client: oauth.Client = { client_id: options.clientId };
  const clientAuth = oauth.ClientSecretBasic(options.clientSecret);
  return Object.assign(async function introspect(token: string, { resource }: VerifyContext): Promise<Verified> {
    let answer: oauth.IntrospectionResponse;
    try {
      const response = await oauth.introspectionRequest(server, client, clientAuth, token, {
        additionalParameters: { token_type_hint: "access_token" },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        [oauth.allowInsecureRequests]: endpoint.protocol === "http:", // loopback only (safeUrl)
      });
      answer = await oauth.processIntrospectionResponse(server, client, response);
    } catch (error) {
      throw new VerifierUnavailableError(`token introspection failed: ${(error as Error).message}`);
    }
    if (answer.active !== true) throw new InvalidTokenError("the token is not active");
    if (typeof answer.token_type === "string" && !ACCESS_TOKEN_TYPES.has(answer.token_type.toLowerCase())) throw new InvalidTokenError("the token is not an access token");
    if (typeof answer.exp !== "number" || answer.exp * 1000 <= Date.now()) throw new InvalidTokenError("the token has expired");
    if (options.issuer && answer.iss !== undefined && answer.iss !== options.issuer) throw new InvalidTokenError("the token's issuer is not accepted");
    const audiences = [options.audience ?? resource].flat();
    if (answer.aud === undefined) throw new InvalidTokenError("the token names no audience");
    if (![answer.aud].flat().some((aud) => audiences.includes(aud as string))) throw new InvalidTokenError("the token was not issued for this resource");
    const subject = typeof answer.sub === "string" ? answer.sub : typeof answer.client_id === "string" ? answer.client_id : undefined;
    if (!subject) throw new InvalidTokenError("the token names no subject");
    return {
      issuer: typeof answer.iss === "string" ? answer.iss : options.issuer,
      subject,
      clientId: typeof answer.client_id === "string" ? answer.client_id : undefined,
      scopes: scopesFromClaims(answer),
      claims: answer,
      expiresAt: answer.exp,
      cacheTtlMs: options.cacheTtlMs ?? 30_000,
    };
  }, options.issuer ? { issuer: options.issuer } : {});
}

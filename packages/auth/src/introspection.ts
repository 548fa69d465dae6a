import { InvalidTokenError, VerifierUnavailableError } from "./errors.js";
import type { Verifier } from "./principal.js";
import { scopesFromClaims } from "./scopes.js";

export interface IntrospectionOptions {
  /** The RFC 7662 introspection endpoint. */
  endpoint: string;
  /** The proxy's credentials at that endpoint (client_secret_basic). */
  clientId: string;
  clientSecret: string;
  /** Required `iss` in the answer, when the server gives one. */
  issuer?: string;
  /** Required `aud` (any of them) when the answer has one. Default: the canonical resource URL. */
  audience?: string | string[];
  /** How long an answer is reused (revocation shows up within this), ms. Default 30 s. */
  cacheTtlMs?: number;
  timeoutMs?: number;
}

/** Asks the authorization server about opaque tokens (RFC 7662). */
export function introspectionVerifier(options: IntrospectionOptions): Verifier {
  const basic = Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString("base64");
  return async function introspect(token, { resource }) {
    let answer: Record<string, unknown>;
    try {
      const response = await fetch(options.endpoint, {
        method: "POST",
        headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      answer = (await response.json()) as Record<string, unknown>;
    } catch (error) {
      throw new VerifierUnavailableError(`token introspection failed: ${(error as Error).message}`);
    }
    if (answer.active !== true) throw new InvalidTokenError("the token is not active");
    if (typeof answer.exp !== "number" || answer.exp * 1000 <= Date.now()) throw new InvalidTokenError("the token has expired");
    if (options.issuer && answer.iss !== undefined && answer.iss !== options.issuer) throw new InvalidTokenError("the token's issuer is not accepted");
    const audiences = [options.audience ?? resource].flat();
    if (answer.aud !== undefined && ![answer.aud].flat().some((aud) => audiences.includes(aud as string))) {
      throw new InvalidTokenError("the token was not issued for this resource");
    }
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
  };
}

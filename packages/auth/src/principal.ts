import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";

/** Who a verified token speaks for. It rides in `authInfo.extra.principal`. */
export interface Principal {
  /** The token's `iss`, when it has one (JWTs, introspection). */
  readonly issuer: string | undefined;
  readonly subject: string;
  readonly clientId: string;
  /** The scopes granted, as the token lists them (implications are applied when rules are checked). */
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  /** SHA-256 hex of the token: safe to log and to key caches on; the token itself never is. */
  readonly tokenHash: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number | undefined;
}

/** What a verifier learns from a token; bearerAuth adds the token hash. */
export interface Verified {
  issuer?: string | undefined;
  subject: string;
  clientId?: string | undefined;
  scopes?: readonly string[] | undefined;
  claims?: Record<string, unknown> | undefined;
  /** Seconds since the epoch. */
  expiresAt?: number | undefined;
  /** How long this answer may be reused, in ms (introspection keeps it short). Default: until expiry, at most the cache's TTL. */
  cacheTtlMs?: number | undefined;
}

export interface VerifyContext {
  /** The canonical resource URL this proxy serves: the default audience. */
  readonly resource: string;
}

/**
 * Checks a bearer token. Throw `InvalidTokenError` for a bad token and `VerifierUnavailableError`
 * when it cannot be decided; return what the token says otherwise.
 */
export type Verifier = ((token: string, context: VerifyContext) => Promise<Verified>) & {
  /** The authorization server whose tokens it accepts, when it knows (jwtVerifier): bearerAuth's default `authorizationServers`. */
  readonly issuer?: string;
};

/** The stable identity string core binds sessions and partitions caches by: `iss sub`. */
export function identityString(p: Pick<Principal, "issuer" | "subject">): string {
  return `${p.issuer ?? ""} ${p.subject}`;
}

/** The principal bearerAuth put in an AuthInfo, if any. */
export function principalOf(authInfo: AuthInfo | undefined): Principal | undefined {
  const principal = authInfo?.extra?.principal;
  return typeof principal === "object" && principal !== null && "subject" in principal ? (principal as Principal) : undefined;
}

/** A fixed principal for fronts without HTTP (stdio), from configuration. */
export function staticPrincipal(p: { subject: string; issuer?: string; clientId?: string; scopes?: readonly string[]; claims?: Record<string, unknown> }): Principal {
  return { issuer: p.issuer, subject: p.subject, clientId: p.clientId ?? p.subject, scopes: p.scopes ?? [], claims: p.claims ?? {}, tokenHash: "", expiresAt: undefined };
}

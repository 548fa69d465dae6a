import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwksCache,
  jwtVerify,
  type ExportedJWKSCache,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
} from "jose";
import { InvalidTokenError, VerifierUnavailableError } from "./errors.js";
import type { Verified, Verifier, VerifyContext } from "./principal.js";
import { scopesFromClaims } from "./scopes.js";

/** Asymmetric algorithms: the default allowlist. `none` and the HMAC ones are never in it. */
export const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export interface JwtVerifierOptions {
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (any of them). Default: the proxy's canonical resource URL (RFC 8707). */
  audience?: string | string[];
  /**
   * Where the keys are: a JWKS URL (rotation is picked up), a JWKS, or one key (a shared secret
   * needs `algorithms: ["HS256"]`). None of them: `jwks_uri` from the issuer's metadata (RFC 8414, then OIDC).
   */
  jwksUri?: string;
  jwks?: JSONWebKeySet;
  key?: CryptoKey | KeyObject | Uint8Array;
  /** Accepted `alg` values. Default: the asymmetric ones. `none` is refused whatever this says. */
  algorithms?: string[];
  /** Leeway for `exp`/`nbf`/`iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** How long fetched keys are used before a refetch, ms. Default 10 min. */
  jwksCacheMaxAgeMs?: number;
  /** Least time between two refetches for an unknown `kid`, ms. Default 30 s. */
  jwksCooldownMs?: number;
  /** JWKS fetch timeout, ms. Default 5 s. */
  jwksTimeoutMs?: number;
  /** While the JWKS endpoint is down, keys fetched at most this long ago keep verifying, ms. Default 1 h. */
  jwksStaleMaxAgeMs?: number;
  /**
   * Accept only RFC 9068 access tokens (`typ: at+jwt`). Default false: many IdPs still send
   * `typ: JWT` or none; a JWT typed as anything else (an ID, logout or DPoP token) is refused either way.
   */
  requireAtJwt?: boolean;
}

/** RFC 9068 §4 access token types, and the generic ones many IdPs still send. */
const AT_JWT = ["at+jwt", "application/at+jwt"];
const GENERIC_JWT = [undefined, "jwt", "application/jwt"];

/** Verifies JWT access tokens with jose: signature, issuer, audience, algorithm, `exp` required. */
export function jwtVerifier(options: JwtVerifierOptions): Verifier {
  const algorithms = (options.algorithms ?? ASYMMETRIC_ALGORITHMS).filter((alg) => alg.toLowerCase() !== "none");
  if (algorithms.length === 0) throw new TypeError("jwtVerifier: no algorithm left to accept (`none` is never accepted)");
  const key = keyOf(options);
  return Object.assign(async function verifyJwt(token: string, { resource }: VerifyContext): Promise<Verified> {
    const audience = options.audience ?? resource;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, key as JWTVerifyGetKey, {
        issuer: options.issuer,
        audience,
        algorithms,
        clockTolerance: options.clockToleranceSec ?? 5,
        requiredClaims: ["exp", "sub"],
      });
      const typ = protectedHeader.typ?.toLowerCase();
      if (!AT_JWT.includes(typ as string) && (options.requireAtJwt || !GENERIC_JWT.includes(typ))) {
        throw new InvalidTokenError(`the token is not an access token (typ ${protectedHeader.typ ?? "missing"}, RFC 9068)`);
      }
      return fromPayload(payload);
    } catch (error) {
      throw error instanceof InvalidTokenError ? error : classify(error);
    }
  }, { issuer: options.issuer });
}

function fromPayload(payload: JWTPayload): Verified {
  const clientId = payload.client_id ?? payload.azp;
  return {
    issuer: payload.iss,
    subject: payload.sub as string,
    clientId: typeof clientId === "string" ? clientId : undefined,
    scopes: scopesFromClaims(payload),
    claims: payload,
    expiresAt: payload.exp,
  };
}

function keyOf(options: JwtVerifierOptions): JWTVerifyGetKey | CryptoKey | KeyObject | Uint8Array {
  const given = [options.jwksUri, options.jwks, options.key].filter((k) => k !== undefined).length;
  if (given > 1) throw new TypeError("jwtVerifier: give at most one of jwksUri, jwks or key");
  if (options.key) return options.key;
  if (options.jwks) return createLocalJWKSet(options.jwks);
  if (!options.jwksUri) return discovered(options);
  return remoteKeys(new URL(options.jwksUri), options);
}

/** The JWKS named by the issuer's metadata, looked up on first use (a failure is retried on the next token). */
function discovered(options: JwtVerifierOptions): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return async function issuerKeys(header, token) {
    keys ??= jwksUriOf(options.issuer, options.jwksTimeoutMs ?? 5_000).then(
      (uri) => remoteKeys(uri, options),
      (error) => {
        keys = undefined;
        throw error;
      },
    );
    return (await keys)(header, token);
  };
}

async function jwksUriOf(issuer: string, timeoutMs: number): Promise<URL> {
  const base = new URL(issuer);
  const path = base.pathname === "/" ? "" : base.pathname.replace(/\/$/, "");
  for (const wellKnown of [`/.well-known/oauth-authorization-server${path}`, `${path}/.well-known/openid-configuration`]) {
    const response = await fetch(new URL(wellKnown, base.origin), { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } }).catch(() => undefined);
    if (!response?.ok) continue;
    const metadata = (await response.json().catch(() => ({}))) as { issuer?: string; jwks_uri?: string };
    if (metadata.issuer !== issuer) throw new Error(`the metadata of ${issuer} names another issuer (${metadata.issuer})`);
    // An advertised URL is HTTPS (or loopback), unless it is on the configured issuer's own origin.
    if (metadata.jwks_uri) return new URL(metadata.jwks_uri).origin === base.origin ? new URL(metadata.jwks_uri) : safeUrl(metadata.jwks_uri, "jwks_uri");
  }
  throw new Error(`no jwks_uri found in the metadata of ${issuer}`);
}

/** HTTPS, or HTTP on a loopback address only. */
export function safeUrl(text: string, what: string): URL {
  const url = new URL(text);
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) throw new TypeError(`${what}: ${text} must be an https URL (http only on loopback)`);
  return url;
}

function remoteKeys(url: URL, options: JwtVerifierOptions): JWTVerifyGetKey {
  // jose records in `cache` the keys and when they were last fetched (`uat`).
  const cache: ExportedJWKSCache = {} as ExportedJWKSCache;
  const remote = createRemoteJWKSet(url, {
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
    [jwksCache]: cache,
  });
  // Stale-if-error: keys fetched before keep working while the JWKS endpoint is down, up to a
  // maximum age (a key withdrawn during an outage is not trusted for ever).
  const staleMaxAge = options.jwksStaleMaxAgeMs ?? 3_600_000;
  return async function keys(header, token) {
    try {
      return await remote(header, token);
    } catch (error) {
      if (cache.jwks && isUnavailable(error) && Date.now() - cache.uat <= staleMaxAge) return createLocalJWKSet(cache.jwks)(header, token);
      throw error;
    }
  };
}

/** Errors about the token itself; anything else (network, bad JWKS response) means "cannot decide". */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JWKInvalid,
];

function isUnavailable(error: unknown): boolean {
  return !TOKEN_ERRORS.some((type) => error instanceof type);
}

function classify(error: unknown): Error {
  if (isUnavailable(error)) return new VerifierUnavailableError(`the signing keys could not be fetched: ${(error as Error).message}`);
  if (error instanceof errors.JWTExpired) return new InvalidTokenError("the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) return new InvalidTokenError(`the token's ${error.claim} claim is not accepted (${error.reason})`);
  if (error instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError("the token's signing algorithm is not accepted");
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError("the token's signature is invalid");
  if (error instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError("no known key matches the token's key id");
  return new InvalidTokenError("the token is not a valid JWT");
}

import type { IncomingMessage } from "node:http";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { anyOf } from "./api-keys.js";
import { formatChallenge, type Challenge } from "./challenge.js";
import { InvalidTokenError, VerifierUnavailableError } from "./errors.js";
import { sha256 } from "./hash.js";
import { HttpError, type HttpRoute } from "@fastmcp-proxy/core";
import { canonicalResource, metadataRoute, resourceMetadataUrl } from "./metadata.js";
import { identityString, type Principal, type Verified, type Verifier } from "./principal.js";
import { expandScopes, missingScopes, type ScopeImplications } from "./scopes.js";
import { TokenCache } from "./token-cache.js";

export interface BearerAuthOptions {
  /** The canonical URL of this proxy's MCP endpoint (behind a reverse proxy: the public one). The PRM `resource` and the default audience. */
  resource: string;
  /** The authorization servers clients should get tokens from (PRM `authorization_servers`). Default: the JWT verifiers' issuers. */
  authorizationServers?: readonly string[];
  /** How tokens are checked: jwtVerifier, introspectionVerifier, apiKeys, your own function, or several (tried in order). */
  verifier: Verifier | readonly Verifier[];
  /** Scopes every request needs (else 403 insufficient_scope). Also what a 401 challenge asks for. */
  requiredScopes?: readonly string[];
  /** PRM `scopes_supported`. Default: requiredScopes. */
  scopesSupported?: readonly string[];
  /** Broader scopes that imply narrower ones. */
  implies?: ScopeImplications;
  resourceName?: string;
  /** Let requests without a token in anonymously (a bad token is still refused). Default false. */
  optional?: boolean;
  /** A header that may carry the token instead of `Authorization: Bearer`, e.g. "x-api-key" for API keys. */
  apiKeyHeader?: string;
  /** Verified-token cache: entries and the longest reuse, ms. Default 10,000 and 60 s; 0 entries turns it off. */
  cache?: { maxEntries?: number; ttlMs?: number };
  /** Retry-After (s) sent with a 503 when tokens cannot be checked. Default 5. */
  retryAfterSec?: number;
}

export type BearerAuth = ((req: IncomingMessage) => Promise<AuthInfo | undefined>) & {
  /** The RFC 9728 metadata route, for `run({ routes })`. */
  readonly route: HttpRoute;
  /** Where the metadata document is served. */
  readonly resourceMetadataUrl: string;
  readonly resource: string;
  readonly implies: ScopeImplications;
  /** Checks a token the way requests are checked (also for tests and custom fronts). */
  verify(token: string): Promise<AuthInfo>;
};

/** The proxy as an OAuth 2.1 resource server: pass it as `authenticate`, and its `route` in `routes`. */
export function bearerAuth(options: BearerAuthOptions): BearerAuth {
  const resource = canonicalResource(options.resource);
  const metadataUrl = resourceMetadataUrl(resource);
  const verifiers = [options.verifier].flat() as Verifier[];
  if (verifiers.length === 0) throw new TypeError("bearerAuth: give a verifier");
  const required = options.requiredScopes ?? [];
  const implies = options.implies ?? {};
  const cache = new TokenCache<AuthInfo>(options.cache?.maxEntries, options.cache?.ttlMs);
  const resourceUrl = Object.freeze(new URL(resource));
  const context = { resource };
  const refuse = (status: number, message: string, challenge: Challenge, headers: Record<string, string> = {}): HttpError =>
    new HttpError(status, message, { "www-authenticate": formatChallenge({ resourceMetadata: metadataUrl, ...challenge }), ...headers });

  const verifyAny = anyOf(...verifiers);
  async function verified(token: string): Promise<Verified> {
    let failure: unknown;
    try {
      return await verifyAny(token, context);
    } catch (error) {
      failure = error;
    }
    if (failure instanceof InvalidTokenError) throw refuse(401, `Unauthorized: ${failure.message}`, { error: "invalid_token", description: failure.message });
    if (failure instanceof VerifierUnavailableError) {
      throw new HttpError(503, `Service unavailable: ${failure.message}`, { "retry-after": String(options.retryAfterSec ?? 5) });
    }
    throw failure;
  }

  /** The hit path is a hash and a map lookup: the same frozen AuthInfo is handed out again. */
  async function verify(token: string): Promise<AuthInfo> {
    const tokenHash = sha256(token);
    const hit = cache.get(tokenHash);
    if (hit) return hit;
    const v = await verified(token);
    const scopes = [...(v.scopes ?? [])];
    const missing = missingScopes(expandScopes(scopes, implies), required);
    if (missing.length) {
      throw refuse(403, `Forbidden: the token lacks the scopes ${missing.join(" ")}`, { error: "insufficient_scope", scope: [...new Set([...scopes, ...required])] });
    }
    const principal: Principal = Object.freeze({
      issuer: v.issuer,
      subject: v.subject,
      clientId: v.clientId ?? v.subject,
      scopes: Object.freeze(scopes),
      claims: Object.freeze(v.claims ?? {}),
      tokenHash,
      expiresAt: v.expiresAt,
    });
    const info: AuthInfo = Object.freeze({
      token,
      clientId: principal.clientId,
      scopes,
      ...(v.expiresAt === undefined ? {} : { expiresAt: v.expiresAt }),
      resource: resourceUrl,
      extra: Object.freeze({ principal, identity: identityString(principal), resourceMetadataUrl: metadataUrl }),
    });
    cache.set(tokenHash, info, v.expiresAt, v.cacheTtlMs);
    return info;
  }

  async function authenticate(req: IncomingMessage): Promise<AuthInfo | undefined> {
    // RFC 6750 §2.3 is not allowed by MCP: a token in the URL is refused, and the URL is not echoed.
    if (/[?&]access_token=/.test(req.url ?? "")) {
      throw refuse(400, "Bad request: send the access token in the Authorization header, never in the URL", { error: "invalid_request", description: "token in query string" });
    }
    const header = req.headers.authorization;
    const apiKey = options.apiKeyHeader === undefined ? undefined : req.headers[options.apiKeyHeader.toLowerCase()];
    if ((header === undefined || header === "") && typeof apiKey === "string" && apiKey !== "") return verify(apiKey.trim());
    if (header === undefined || header === "") {
      if (options.optional) return undefined;
      throw refuse(401, "Unauthorized: this server needs an OAuth access token (Authorization: Bearer ...)", { scope: required });
    }
    const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (!match) throw refuse(401, "Unauthorized: the Authorization header is not a Bearer token", { error: "invalid_request", description: "expected a Bearer token" });
    return verify(match[1] as string);
  }

  const route = metadataRoute({
    resource,
    // Default: the issuers the verifiers name (jwtVerifier's), so that clients can find where to sign in.
    authorizationServers: options.authorizationServers ?? [...new Set(verifiers.flatMap((v) => (v.issuer ? [v.issuer] : [])))],
    scopesSupported: options.scopesSupported ?? (required.length ? required : undefined),
    ...(options.resourceName ? { resourceName: options.resourceName } : {}),
  } as Parameters<typeof metadataRoute>[0]);
  return Object.assign(authenticate, { route, resourceMetadataUrl: metadataUrl, resource, implies, verify });
}

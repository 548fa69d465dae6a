import { InvalidTokenError } from "./errors.js";
import { sameDigest, sha256 } from "./hash.js";
import type { Verifier } from "./principal.js";

export interface ApiKey {
  /** The key itself (hashed at start and then forgotten), or its SHA-256 hex. */
  key?: string;
  sha256?: string;
  /** Who holds it. */
  subject: string;
  scopes?: readonly string[];
}

/** Static API keys sent as bearer tokens: kept hashed, compared in constant time. */
export function apiKeys(keys: readonly ApiKey[]): Verifier {
  const entries = keys.map((k) => {
    const digest = k.sha256?.toLowerCase() ?? (k.key ? sha256(k.key) : undefined);
    if (!digest || !/^[0-9a-f]{64}$/.test(digest)) throw new TypeError(`apiKeys: "${k.subject}" needs a non-empty key or a SHA-256 hex digest`);
    return { digest, subject: k.subject, scopes: k.scopes ?? [] };
  });
  if (entries.length === 0) throw new TypeError("apiKeys: no keys given");
  return async function verifyApiKey(token) {
    const digest = sha256(token);
    // Compare against every entry, so the time taken does not tell which one (or none) matched.
    let found: (typeof entries)[number] | undefined;
    for (const entry of entries) if (sameDigest(entry.digest, digest) && !found) found = entry;
    if (!found) throw new InvalidTokenError("unknown API key");
    return { issuer: "api-key", subject: found.subject, clientId: found.subject, scopes: found.scopes, claims: {} };
  };
}

/** Tries verifiers in order: the first that accepts wins; "unavailable" wins over "invalid". */
export function anyOf(...verifiers: Verifier[]): Verifier {
  return async function verifyAny(token, context) {
    let failure: unknown;
    for (const verify of verifiers) {
      try {
        return await verify(token, context);
      } catch (error) {
        if (!(error instanceof InvalidTokenError) || failure === undefined) failure = error;
      }
    }
    throw failure;
  };
}

import { join } from "node:path";
import type { OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { JWK } from "jose";
import { sha256 } from "./hash.js";
import { TokenFile } from "./token-file.js";

/** One user's authorization at one backend, bound to the authorization server (`issuer`) it came from. */
export interface Grant {
  issuer?: string;
  client?: OAuthClientInformationMixed;
  tokens?: OAuthTokens;
  /** ms since the epoch. */
  expiresAt?: number;
  discovery?: OAuthDiscoveryState;
  /** With DPoP: the private key this user's tokens are bound to, made with the grant. */
  dpopKey?: JWK;
}

/**
 * Where per-user grants are kept, one record per backend and principal identity (`key` joins the
 * two). A record is only ever read back for the same key: one principal's tokens never serve another.
 */
export interface GrantStore {
  read(key: string): Grant;
  write(key: string, grant: Grant): void;
}

/** Grants in memory: a restart asks every user to sign in again. */
export function memoryGrants(): GrantStore {
  const grants = new Map<string, Grant>();
  return {
    read: (key) => grants.get(key) ?? {},
    write: (key, grant) => void grants.set(key, grant),
  };
}

/**
 * Grants in files only their owner can read (0600, in a 0700 folder), one per backend and principal,
 * named by the SHA-256 of the key (no identity in file names). They survive a restart.
 */
export function fileGrants(dir: string): GrantStore {
  const file = (key: string) => new TokenFile<Grant & { key: string }>(join(dir, `${sha256(key)}.json`));
  return {
    read(key) {
      const { key: stored, ...grant } = file(key).read();
      // The file name is a hash: the key inside is checked, so a collision or a copied file serves no one else.
      return stored === key ? grant : {};
    },
    write: (key, grant) => file(key).write({ ...grant, key }),
  };
}

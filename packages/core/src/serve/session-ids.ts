import { createHash, randomBytes } from "node:crypto";
import type { ClientCapabilities, Implementation, InitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { relayable } from "../tenant.js";
import { seal, unseal } from "../wire/seal.js";

/** What a sealed `Mcp-Session-Id` carries: enough for any replica to take the session up. */
export interface SessionClaims {
  /** The initialize request that opened it, trimmed: replayed to the SDK Server of a rebuilt session. */
  readonly initialize: InitializeRequest["params"];
  /** Who it is bound to: a hash of `identityOf(authInfo)`, never a token; undefined when anonymous. */
  readonly binding: string | undefined;
  /** Random and fixed for the session's life, on every replica: its tenant and event-store namespace. */
  readonly key: string;
}

const CONTEXT = "fastmcp-proxy session-id v1";
/** Capabilities sealed as declared up to this size; larger ones are cut to what the proxy relays (ids stay < 1 KB). */
const MAX_CAPABILITIES = 300;
const MAX_NAME = 48;

/**
 * Seals session ids (AES-256-GCM) and opens them: an id sealed with another key, tampered with or
 * made up does not open. Ids are base64url, so they fit a header as they are.
 */
export class SessionIds {
  readonly #key: Buffer;

  /** `key`: 32 bytes (`fleetSubkey(fleetKey, "session-id")`, or random for a lone process). */
  constructor(key: Buffer) {
    this.#key = key;
  }

  /** A new session's id: its initialize, the identity of the caller it is bound to, its key (`newSessionKey()`). */
  issue({ initialize, identity, key }: { initialize: InitializeRequest["params"]; identity: string | undefined; key: string }): string {
    const sealed: Sealed = { v: String(initialize.protocolVersion).slice(0, 32), c: capabilitiesOf(initialize.capabilities), i: clientInfoOf(initialize.clientInfo), k: key };
    if (identity !== undefined) sealed.b = bindingOf(identity);
    return seal(this.#key, JSON.stringify(sealed), CONTEXT).toString("base64url");
  }

  /** The claims of an id this fleet sealed; undefined for anything else. */
  open(id: string): SessionClaims | undefined {
    if (id.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
    const plain = unseal(this.#key, Buffer.from(id, "base64url"), CONTEXT);
    if (plain === undefined) return undefined; // wrong key, tampered, or not ours
    const sealed = JSON.parse(plain) as Sealed;
    return { initialize: { protocolVersion: sealed.v, capabilities: sealed.c, clientInfo: sealed.i }, binding: sealed.b, key: sealed.k };
  }
}

/** A new session's key: random, and carried by its id to every replica. */
export function newSessionKey(): string {
  return randomBytes(16).toString("base64url");
}

/** Whether `identity` (`identityOf(authInfo)`, undefined when anonymous) is the one the claims are bound to. */
export function boundTo(claims: SessionClaims, identity: string | undefined): boolean {
  return claims.binding === (identity === undefined ? undefined : bindingOf(identity));
}

interface Sealed {
  v: string;
  c: ClientCapabilities;
  i: Implementation;
  k: string;
  b?: string;
}

const bindingOf = (identity: string) => createHash("sha256").update(identity).digest("base64url");

function capabilitiesOf(capabilities: ClientCapabilities): ClientCapabilities {
  return Buffer.byteLength(JSON.stringify(capabilities)) <= MAX_CAPABILITIES ? capabilities : relayable(capabilities);
}

/** Name and version only (icons and the rest can be large), each cut short. */
function clientInfoOf(info: Implementation): Implementation {
  return { name: String(info.name).slice(0, MAX_NAME), version: String(info.version).slice(0, MAX_NAME) };
}

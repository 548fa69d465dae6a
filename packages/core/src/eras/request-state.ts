import { hkdfSync, randomBytes } from "node:crypto";
import { seal, unseal } from "../wire/seal.js";
import { isObject, type JsonObject } from "./wire.js";

export interface RequestStateOptions {
  /**
   * The sealing key, at least 32 bytes: replicas that share it open each other's states. Default:
   * the fleet key's `request-state` subkey when a fleet key is given, else 32 random bytes per
   * process (states die with it).
   */
  key?: string | Uint8Array;
  /** How long a minted state is accepted. Default 5 minutes. */
  ttlMs?: number;
}

const PREFIX = "fmp2";

/** Why a requestState was refused. */
export class RequestStateError extends Error {}

/**
 * The `requestState` the proxy mints when it turns a legacy backend's server→client request into
 * `input_required`: `fmp2.<sealed>`, AES-256-GCM over the payload and its expiry, with the
 * caller's identity as associated data. Only the proxy reads it (it carries the caller's answers),
 * and it is refused when altered, expired, sealed under another key, or echoed by anyone but the
 * caller it was minted for. The identity is bound, never written into the state.
 */
export class RequestStateCodec {
  readonly #key: Buffer;
  readonly #ttlMs: number;

  constructor(options: RequestStateOptions = {}) {
    const secret = options.key === undefined ? randomBytes(32) : Buffer.from(options.key);
    if (secret.length < 32) throw new RangeError("requestState key must be at least 32 bytes");
    this.#key = Buffer.from(hkdfSync("sha256", secret, "", "fastmcp-proxy requestState", 32));
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  mint(payload: JsonObject, identity: string | undefined, now = Date.now()): string {
    const plain = JSON.stringify({ p: payload, exp: now + this.#ttlMs });
    return `${PREFIX}.${seal(this.#key, plain, associated(identity)).toString("base64url")}`;
  }

  /** Whether a state has this proxy's form (then it must open); any other is someone else's. */
  owns(state: string): boolean {
    return isProxyState(state);
  }

  /** The payload of a state minted under this key for `identity`; throws RequestStateError otherwise. */
  open(state: string, identity: string | undefined, now = Date.now()): JsonObject {
    const [prefix, sealed, ...rest] = state.split(".");
    if (prefix !== PREFIX || !sealed || rest.length > 0) throw new RequestStateError("not a requestState this proxy minted");
    const plain = unseal(this.#key, Buffer.from(sealed, "base64url"), associated(identity));
    if (plain === undefined) throw new RequestStateError("requestState failed its integrity check (altered, minted under another key, or for another caller)");
    const decoded: unknown = JSON.parse(plain);
    if (!isObject(decoded) || !isObject(decoded.p) || typeof decoded.exp !== "number") throw new RequestStateError("malformed requestState");
    if (now > decoded.exp) throw new RequestStateError("requestState expired");
    return decoded.p;
  }
}

/** Whether a requestState has the form the proxy mints (a backend's own states pass through). */
export function isProxyState(state: string): boolean {
  return state.startsWith(`${PREFIX}.`);
}

function associated(identity: string | undefined): string {
  return `${PREFIX}\0${identity ?? ""}`;
}

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isObject, type JsonObject } from "./wire.js";

export interface RequestStateOptions {
  /** HMAC-SHA256 key, at least 32 bytes. Default: 32 random bytes per process (states die with it). */
  key?: string | Uint8Array;
  /** How long a minted state is accepted. Default 5 minutes. */
  ttlMs?: number;
}

const PREFIX = "fmp1";

/** Why a requestState was refused. */
export class RequestStateError extends Error {}

/**
 * The `requestState` the proxy mints when it turns a legacy backend's server→client request into
 * `input_required`: `fmp1.<payload>.<mac>`, where the MAC (HMAC-SHA256) covers the payload, its
 * expiry and the caller's identity, so a state is refused when altered, expired, or echoed by
 * anyone but the caller it was minted for. The identity is bound, never written into the state.
 */
export class RequestStateCodec {
  readonly #key: Buffer;
  readonly #ttlMs: number;

  constructor(options: RequestStateOptions = {}) {
    this.#key = options.key === undefined ? randomBytes(32) : Buffer.from(options.key);
    if (this.#key.length < 32) throw new RangeError("requestState key must be at least 32 bytes");
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  mint(payload: JsonObject, identity: string | undefined, now = Date.now()): string {
    const body = Buffer.from(JSON.stringify({ p: payload, exp: now + this.#ttlMs })).toString("base64url");
    return `${PREFIX}.${body}.${this.#mac(body, identity).toString("base64url")}`;
  }

  /** Whether a state has this proxy's form (then it must verify); any other is someone else's. */
  owns(state: string): boolean {
    return state.startsWith(`${PREFIX}.`);
  }

  /** The payload of a state this codec minted for `identity`; throws RequestStateError otherwise. */
  open(state: string, identity: string | undefined, now = Date.now()): JsonObject {
    const [prefix, body, mac, ...rest] = state.split(".");
    if (prefix !== PREFIX || !body || !mac || rest.length > 0) throw new RequestStateError("not a requestState this proxy minted");
    const want = this.#mac(body, identity);
    const got = Buffer.from(mac, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new RequestStateError("requestState failed its integrity check");
    const decoded: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    if (!isObject(decoded) || !isObject(decoded.p) || typeof decoded.exp !== "number") throw new RequestStateError("malformed requestState");
    if (now > decoded.exp) throw new RequestStateError("requestState expired");
    return decoded.p;
  }

  #mac(body: string, identity: string | undefined): Buffer {
    return createHmac("sha256", this.#key)
      .update(`${PREFIX}\0${identity ?? ""}\0${body}`)
      .digest();
  }
}

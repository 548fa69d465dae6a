import { createHash, randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { TokenFile } from "./token-file.js";

const ALG = "ES256";

/**
 * A DPoP key pair (RFC 9449) for one backend grant: its proofs bind the grant's tokens to it. The
 * private key is never printed or serialised, except by `privateJwk` for a grant's 0600 token file.
 */
export class DPoPKey {
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;
  /** The last nonce each server (by origin) gave (RFC 9449 §8, §9). */
  readonly #nonces = new Map<string, string>();

  private constructor(privateKey: CryptoKey, publicJwk: JWK) {
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
  }

  /** `extractable` only for a key that must outlive the process (kept in a token file). */
  static async generate(extractable = false): Promise<DPoPKey> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable });
    return new DPoPKey(privateKey, await exportJWK(publicKey));
  }

  static async fromPrivateJwk(jwk: JWK): Promise<DPoPKey> {
    const { d: _private, ...publicJwk } = jwk;
    return new DPoPKey((await importJWK(jwk, ALG, { extractable: true })) as CryptoKey, publicJwk);
  }

  /** The private key as a JWK: for the grant's 0600 token file only. */
  privateJwk(): Promise<JWK> {
    return exportJWK(this.#privateKey);
  }

  /** RFC 7638 thumbprint: what a bound token's `cnf.jkt` names. */
  thumbprint(): Promise<string> {
    return calculateJwkThumbprint(this.#publicJwk, "sha256");
  }

  /** A fresh proof for one request: a new `jti` each time; `ath` when presenting `accessToken`. */
  proof(method: string, url: URL, accessToken?: string): Promise<string> {
    const nonce = this.nonceFor(url);
    return new SignJWT({
      jti: randomUUID(),
      htm: method,
      htu: `${url.origin}${url.pathname}`, // no query or fragment (§4.2)
      ...(accessToken ? { ath: createHash("sha256").update(accessToken, "ascii").digest("base64url") } : {}),
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: ALG, typ: "dpop+jwt", jwk: this.#publicJwk })
      .setIssuedAt()
      .sign(this.#privateKey);
  }

  /** The nonce the next proof to `url`'s server carries. */
  nonceFor(url: URL): string | undefined {
    return this.#nonces.get(url.origin);
  }

  /** Keeps the nonce a response gives (servers may give a new one with any answer). */
  remember(url: URL, response: Response): void {
    const nonce = response.headers.get("dpop-nonce");
    if (nonce) this.#nonces.set(url.origin, nonce);
  }

  toJSON(): string {
    return "[DPoPKey]";
  }

  [inspect.custom](): string {
    return "[DPoPKey]";
  }
}

/** Where a grant's DPoP key comes from, and whether an access token is bound to it (token_type DPoP). */
export interface DPoPBinding {
  key: () => Promise<DPoPKey>;
  bound: (accessToken: string) => Promise<boolean>;
}

/**
 * A fetch that proves possession of the grant's key: a proof on every token request (a POST of a
 * form with `grant_type`), and bound tokens presented as `Authorization: DPoP` with a proof. A
 * `use_dpop_nonce` answer from the authorization server (400) or the resource server (401) is
 * retried once with the nonce it gave.
 */
export function dpopFetch(inner: typeof fetch, binding: DPoPBinding): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = (init?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers);
    let accessToken: string | undefined;
    if (!isTokenRequest(method, init?.body)) {
      const bearer = /^Bearer (.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
      if (!bearer || !(await binding.bound(bearer))) return inner(input, init);
      accessToken = bearer;
      headers.set("authorization", `DPoP ${bearer}`);
    }
    const key = await binding.key();
    let sent: string | undefined;
    const send = async () => {
      sent = key.nonceFor(url); // read as the proof is made
      headers.set("dpop", await key.proof(method, url, accessToken));
      const response = await inner(input, { ...init, headers });
      key.remember(url, response);
      return response;
    };
    const response = await send();
    // Retried only for a nonce other than the one just sent: once, as a concurrent request may have learnt it already.
    const given = response.headers.get("dpop-nonce");
    if (!given || given === sent || !(await asksForNonce(response, accessToken !== undefined))) return response;
    await response.body?.cancel().catch(() => {});
    return send();
  };
}

/** RFC 6749 §3.2: a token request is a form POST with a grant_type. */
function isTokenRequest(method: string, body: RequestInit["body"]): boolean {
  return method === "POST" && body instanceof URLSearchParams && body.has("grant_type");
}

/** `use_dpop_nonce`: in the JSON error of a token endpoint (400), in the challenge of a resource server (401). */
async function asksForNonce(response: Response, resource: boolean): Promise<boolean> {
  if (resource) return response.status === 401 && /error="?use_dpop_nonce/.test(response.headers.get("www-authenticate") ?? "");
  if (response.status !== 400) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: unknown } | undefined;
  return body?.error === "use_dpop_nonce";
}

/** A key made once per process: for grants that live no longer (client credentials, workload identity). */
export function processKey(): () => Promise<DPoPKey> {
  let key: Promise<DPoPKey> | undefined;
  return () => (key ??= DPoPKey.generate());
}

/** Where a grant keeps its private key (a token file, a grant store): the key lives and goes with the grant. */
export interface KeySlot {
  read(): JWK | undefined;
  write(jwk: JWK): void;
}

/** The grant's key: made (and kept in `slot`) when the grant first needs one, read from it after. */
export function storedKey(slot: KeySlot): () => Promise<DPoPKey> {
  let cached: { jwk: string; key: DPoPKey } | undefined;
  return async () => {
    const stored = slot.read();
    if (stored) {
      const jwk = JSON.stringify(stored);
      if (cached?.jwk !== jwk) cached = { jwk, key: await DPoPKey.fromPrivateJwk(stored) };
      return cached.key;
    }
    const key = await DPoPKey.generate(true);
    const jwk = await key.privateJwk();
    slot.write(jwk);
    cached = { jwk: JSON.stringify(jwk), key };
    return key;
  };
}

/** The key of an authorization-code grant, in its token file. */
export function keyInFile(file: TokenFile<{ dpopKey: JWK }>): () => Promise<DPoPKey> {
  return storedKey({ read: () => file.read().dpopKey, write: (dpopKey) => file.update((s) => ({ ...s, dpopKey })) });
}

/** Whether the provider's current tokens are `accessToken`, bound (token_type DPoP). */
export function boundTokens(tokens: () => { access_token: string; token_type?: string } | undefined | Promise<{ access_token: string; token_type?: string } | undefined>): DPoPBinding["bound"] {
  return async (accessToken) => {
    const current = await tokens();
    return current?.access_token === accessToken && current.token_type?.toLowerCase() === "dpop";
  };
}

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const IV = 12;
const TAG = 16;

/**
 * AES-256-GCM with a fresh IV: `iv | tag | ciphertext`. `context` is bound as associated data, so a
 * value sealed for one context (a purpose, a caller) never opens in another.
 */
export function seal(key: Buffer, plaintext: string, context: string): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The plaintext of a value `seal` made with this key and context; undefined for anything else. */
export function unseal(key: Buffer, sealed: Buffer, context: string): string | undefined {
  if (sealed.length <= IV + TAG) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, IV)).setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(sealed.subarray(IV, IV + TAG));
    return Buffer.concat([decipher.update(sealed.subarray(IV + TAG)), decipher.final()]).toString("utf8");
  } catch {
    return undefined; // another key or context, or altered
  }
}

import { createHash, timingSafeEqual } from "node:crypto";

/** SHA-256 hex of a token: what is cached, compared and logged instead of the token itself. */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Equal hex digests, compared in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

import { hkdfSync } from "node:crypto";

/**
 * The key every replica of a fleet shares (`run({ fleetKey })`, the CLI's `--fleet-key-env`): at least
 * 32 bytes, e.g. `openssl rand -base64 32`. Each use gets its own subkey, so a value sealed for one
 * purpose never opens as another.
 */
export type FleetKey = string | Uint8Array;

export type FleetPurpose = "session-id" | "request-state";

/** A 32-byte subkey of the fleet key for one purpose (HKDF-SHA256). */
export function fleetSubkey(key: FleetKey, purpose: FleetPurpose): Buffer {
  const secret = typeof key === "string" ? Buffer.from(key, "utf8") : Buffer.from(key);
  if (secret.length < 32) throw new RangeError(`the fleet key must be at least 32 bytes, not ${secret.length}: make one with \`openssl rand -base64 32\``);
  return Buffer.from(hkdfSync("sha256", secret, "fastmcp-proxy fleet", purpose, 32));
}

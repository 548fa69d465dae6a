import { createHash } from "node:crypto";
import { isObject, type JsonObject } from "./wire.js";

/**
 * What a request is, as a short digest of its method and params (`_meta` left out: it carries
 * tokens and hints that differ between two runs of the same request). Keys are sorted, so two
 * replicas running the same call get the same digest for the same ask.
 */
export function digestOf(method: string, params: JsonObject | undefined): string {
  const { _meta: _, ...rest } = params ?? {};
  return createHash("sha256").update(method).update("\0").update(canonical(rest)).digest("base64url");
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (!isObject(value)) return JSON.stringify(value) ?? "null";
  const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
}

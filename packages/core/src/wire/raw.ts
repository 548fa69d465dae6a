// Results whose JSON is known already, written as those bytes rather than serialized again: a large
// result as a backend sent it (a stdio line, read by wire/lines.ts), and a shared list answer,
// encoded once for every client that gets it. A front writes such a result under its own envelope
// (the client's id, not the proxy's), so a 1 MB result costs no JSON.stringify and no UTF-8 encoding.
//
// The rule that makes this safe: a result read from a backend is frozen (deeply) as it is read, so
// it is never changed in place; a middleware, a component or afterForward that wants a different
// one returns a new object, and only the very object the backend sent is written as its bytes.
import { deepFreeze } from "./scan.js";

const known = new WeakMap<object, Buffer | undefined>();

/** `result` is written as `json` (its own JSON, one line); the caller has made it immutable. */
export function keepJson(result: object, json: Buffer): void {
  known.set(result, json);
}

/** Marks a deep-frozen result (a shared list answer) whose JSON may be kept once made. */
export function encodeOnce<R extends object>(result: R): R {
  if (!known.has(result)) known.set(result, undefined);
  return result;
}

/**
 * The length in bytes of `result`'s JSON when the proxy holds it as the bytes a backend sent (a
 * large result), else undefined: its size without parsing it (a request log needs no more).
 */
export function knownJsonLength(result: unknown): number | undefined {
  return typeof result === "object" && result !== null ? known.get(result)?.length : undefined;
}

/** Whether `result`'s JSON is (or may be) kept. */
export function isKept(result: object): boolean {
  return known.has(result);
}

/**
 * The result of a response freshly parsed from bytes, frozen (`levels` deep: the depth check comes
 * after): nobody else holds it, and nobody may change it.
 */
export function freezeResult(message: unknown, levels = Infinity): void {
  if (typeof message !== "object" || message === null || "method" in message) return;
  const result = (message as { result?: unknown }).result;
  if (typeof result === "object" && result !== null) deepFreeze(result, levels);
}

/** A message as written: its JSON text, or the text around a result's known bytes. */
export type Encoded = string | { readonly head: string; readonly body: Buffer; readonly tail: string };

/** `JSON.stringify(message)`, unless its result's JSON is known: then the envelope's text around those bytes. */
export function encodeMessage(message: object): Encoded {
  const result = (message as { result?: unknown }).result;
  if (typeof result !== "object" || result === null || !known.has(result)) return JSON.stringify(message);
  let body = known.get(result);
  if (body === undefined) known.set(result, (body = Buffer.from(JSON.stringify(result), "utf8")));
  const { result: _, ...envelope } = message as Record<string, unknown>;
  const head = JSON.stringify(envelope);
  return { head: head === "{}" ? `{"result":` : `${head.slice(0, -1)},"result":`, body, tail: "}" };
}

/** Its length in bytes. */
export function encodedLength(encoded: Encoded): number {
  if (typeof encoded === "string") return Buffer.byteLength(encoded);
  return Buffer.byteLength(encoded.head) + encoded.body.length + Buffer.byteLength(encoded.tail);
}

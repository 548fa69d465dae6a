// Small HTTP helpers shared by the front's router (http.ts) and its transports: content negotiation.
import type { IncomingMessage } from "node:http";

/**
 * Whether an Accept header ranks text/event-stream above application/json: by q-value, then by
 * the order the client listed them (the SDK client lists JSON first; some clients list SSE first).
 */
export function prefersSse(accept: string): boolean {
  if (accept === "application/json, text/event-stream") return false; // what SDK clients send
  let json: [q: number, at: number] | undefined;
  let sse: [q: number, at: number] | undefined;
  accept.split(",").forEach((range, at) => {
    const [type = "", ...params] = range.split(";");
    const media = type.trim().toLowerCase();
    if (media !== "application/json" && media !== "text/event-stream") return;
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const ranked: [number, number] = [Number.isFinite(q) ? q : 0, at];
    if (media === "application/json") json ??= ranked;
    else sse ??= ranked;
  });
  if (!sse || !json) return sse !== undefined;
  return sse[0] > json[0] || (sse[0] === json[0] && sse[1] < json[1]);
}

/** The SDK's media-type test: `application/json`, parameters allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === "application/json") return true; // what SDK clients send
  return value !== undefined && (value.split(";", 1)[0] ?? "").trim().toLowerCase() === "application/json";
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}


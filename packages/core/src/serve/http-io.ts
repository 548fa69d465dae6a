// Small HTTP helpers shared by the front's router (http.ts) and its transports.
import type { IncomingMessage, ServerResponse } from "node:http";

/** An HTTP-level refusal: a status and a JSON-RPC error with no id. */
export type Failure = { status: number; code: number; message: string; headers?: Record<string, string> | undefined };

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/** Writes a JSON-RPC error with no id (an HTTP-level refusal). */
export function replyError(res: ServerResponse, { status, code, message, headers }: Failure): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { ...headers, "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

/**
 * Reads a JSON body within `maxBytes` (a declared Content-Length over it is refused unread), with
 * `data`/`end` events rather than `for await` (cheaper per request). A body Express already parsed is used as is.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<{ body: unknown } | Failure> {
  const pre = (req as { body?: unknown }).body;
  if (pre !== undefined) return Promise.resolve({ body: pre });
  const tooLarge = { status: 413, code: -32000, message: `Payload Too Large: Request body must not exceed ${maxBytes} bytes` };
  if (Number(req.headers["content-length"]) > maxBytes) {
    req.resume();
    return Promise.resolve(tooLarge);
  }
  // Read to the end already (by a middleware that left no `body`): no 'end' event will come.
  if (req.readableEnded) return Promise.resolve({ status: 400, code: -32700, message: "Parse error: Invalid JSON" });
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    let ended = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData).off("end", onEnd).resume();
        return resolve(tooLarge);
      }
      if (!first) first = chunk;
      else (more ??= [first]).push(chunk);
    };
    const onEnd = () => {
      ended = true;
      const text = more ? Buffer.concat(more).toString("utf8") : (first?.toString("utf8") ?? "");
      try {
        resolve({ body: JSON.parse(text) });
      } catch {
        resolve({ status: 400, code: -32700, message: "Parse error: Invalid JSON" });
      }
    };
    req.on("data", onData).on("end", onEnd).once("error", reject);
    req.once("close", () => ended || reject(new Error("the client closed the request before sending its whole body")));
  });
}

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


// HTTP bodies within bounds: reading a request body (bounded, strict UTF-8, JSON within the depth
// limit, never compressed), the refusals a front answers with (a status and a JSON-RPC error with
// no id), and reading a backend's answer within its limit.
import type { IncomingMessage, ServerResponse } from "node:http";
import { WireErrorCode as ErrorCode } from "./codes.js";
import { errorReply, parseJson, type ErrorReply } from "./message.js";

/** An HTTP-level refusal: a status and a JSON-RPC error with no id. */
export type Failure = { status: number; code: number; message: string; headers?: Record<string, string> | undefined };

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/** Writes a JSON-RPC error with no id (an HTTP-level refusal). */
export function replyError(res: ServerResponse, { status, code, message, headers }: Failure): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { ...withRetryAfter(status, headers), "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

/** A refusal that passes (too busy, shutting down, starting) says when to try again: a load balancer or client backs off. */
function withRetryAfter(status: number, headers: Record<string, string> = {}): Record<string, string> {
  const passes = status === 429 || status === 503;
  return passes && !Object.keys(headers).some((h) => h.toLowerCase() === "retry-after") ? { "retry-after": RETRY_AFTER_S, ...headers } : headers;
}

/** Seconds a 429 or 503 asks the client to wait before trying again. */
const RETRY_AFTER_S = "1";

export type BodyRead = { value: unknown; failure?: undefined } | { value?: undefined; failure: { status: number; reply: ErrorReply; close: boolean } };

/**
 * Reads a request body within `maxBytes` and parses it with the message checks (strict UTF-8,
 * depth, JSON). A compressed body (any Content-Encoding but identity) is refused with 415, unread. A declared Content-Length over the limit is refused unread; a body that grows past
 * it is refused at that point. Either way the rest is not read: the failure says to close the
 * connection (`close`), which `refuse` does.
 */
export function readBody(req: IncomingMessage, maxBytes: number, maxDepth?: number): Promise<BodyRead> {
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    const why = `Unsupported Media Type: Content-Encoding "${encoding}" is not supported; send the request body uncompressed`;
    return Promise.resolve({ failure: { status: 415, reply: reply(ErrorCode.InvalidRequest, why), close: true } });
  }
  const tooLarge = (): BodyRead => ({
    failure: { status: 413, reply: reply(ErrorCode.InvalidRequest, `Payload Too Large: the request body must not exceed ${maxBytes} bytes`), close: true },
  });
  if (Number(req.headers["content-length"]) > maxBytes) return Promise.resolve(tooLarge());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (read: BodyRead) => {
      req.off("data", onData).off("end", onEnd).off("error", onError);
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause(); // read no further: the connection is closed with the answer
        return done(tooLarge());
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const parsed = parseJson(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), maxDepth);
      done(parsed.error ? { failure: { status: 400, reply: parsed.error, close: false } } : { value: parsed.value });
    };
    const onError = () => done({ failure: { status: 400, reply: reply(ErrorCode.InvalidRequest, "the request body was cut short"), close: true } });
    req.on("data", onData).on("end", onEnd).on("error", onError);
  });
}

/** How long a refused request's body may keep coming (read and dropped) before its connection is cut. */
const LINGER_MS = 5_000;

/**
 * Answers with an HTTP status and a JSON-RPC error. `close`: the body is not wanted. Up to
 * `lingerBytes` more of it are read and dropped (within 5 s), so that a client still sending gets
 * to read the answer rather than a reset; a body declared longer, or one that goes on past that,
 * has its connection closed. Nothing of it is kept.
 */
export function refuse(res: ServerResponse, status: number, error: ErrorReply, close = false, headers: Record<string, string> = {}, lingerBytes = 64 * 1024): void {
  if (res.headersSent) return void res.end();
  const req = res.req;
  // A body the parser already has in full is dropped with the request (node:http does): nothing to wait for.
  const unread = close && !req.complete;
  const linger = unread && !(Number(req.headers["content-length"]) > lingerBytes);
  const body = JSON.stringify(error);
  res.writeHead(status, { ...withRetryAfter(status, headers), "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...(unread && !linger ? { connection: "close" } : {}) });
  if (linger) {
    let left = lingerBytes;
    const cut = () => req.socket.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    req.on("data", (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) cut();
    });
    req.once("end", () => clearTimeout(timer)).once("close", () => clearTimeout(timer));
    req.resume();
  }
  res.end(body);
  if (unread && !linger) res.once("finish", () => req.socket.destroySoon());
}

/** A response body (a backend's answer) as text, at most `maxBytes`: past it, it rejects and the connection is dropped. */
export function readResponseText(res: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else res.destroy(new Error(`an HTTP answer over ${maxBytes} bytes`));
    });
    res.once("end", () => resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
    res.once("close", () => res.complete || reject(new Error("the connection closed before the answer was read")));
  });
}

function reply(code: number, message: string): ErrorReply {
  return errorReply(null, code, message);
}

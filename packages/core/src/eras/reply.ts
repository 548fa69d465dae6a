// How the answer to one 2026-07-28 request is written, as the SDK's per-request transport writes it.
import type { ServerResponse } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { httpStatusOf } from "../errors.js";
import { formatSseEvent, SSE_KEEPALIVE } from "../wire/sse.js";

/** The HTTP status the SDK gives an error the dispatch itself answers (its "ladder"), as its per-request transport does. */
const LADDER_STATUS: Record<number, number> = { [-32700]: 400, [-32600]: 400, [-32601]: 404, [-32022]: 400, [-32021]: 400, [-32020]: 400 };
const MISSING_CAPABILITY = -32021;
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" };
const KEEP_ALIVE_MS = 15_000;

/** One request being answered: where its answer goes, as JSON or, once it streams, as SSE. */
export interface Reply {
  readonly res: ServerResponse;
  keepAlive?: NodeJS.Timeout;
  done: boolean;
}

/**
 * Sends a message of a request as the SDK's per-request transport would: notifications as SSE (the
 * answer then ends the stream), else the answer as JSON, with the status of an error the dispatch
 * itself answered (`ladder`; a missing client capability always) or of a refusal (401, 403).
 */
export function sendReply(reply: Reply, message: JSONRPCMessage, ladder: boolean): void {
  if (reply.done) return;
  const { res } = reply;
  const text = JSON.stringify(message);
  if (!("result" in message || "error" in message)) {
    if (reply.keepAlive === undefined) stream(reply);
    res.write(formatSseEvent({ event: "message", data: text }));
    return;
  }
  reply.done = true;
  clearInterval(reply.keepAlive);
  if (reply.keepAlive !== undefined) return void res.end(formatSseEvent({ event: "message", data: text }));
  const code = "error" in message ? message.error.code : undefined;
  const status = code !== undefined && (ladder || code === MISSING_CAPABILITY) ? LADDER_STATUS[code] : undefined;
  // As the front answers the SDK's JSON: a refusal with an HTTP status (401, 403) is sent with it.
  const refusal = status === undefined && code !== undefined ? httpStatusOf(message) : undefined;
  res.writeHead(status ?? refusal?.status ?? 200, { "content-type": "application/json", ...refusal?.headers, "content-length": String(Buffer.byteLength(text)) }).end(text);
}

function stream(reply: Reply): void {
  reply.res.writeHead(200, SSE_HEADERS);
  reply.keepAlive = setInterval(() => reply.res.write(SSE_KEEPALIVE), KEEP_ALIVE_MS);
  reply.keepAlive.unref();
}

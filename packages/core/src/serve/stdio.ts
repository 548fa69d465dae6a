// The stdio front: an MCP server transport on this process's stdin/stdout, behind the SDK's
// `Transport` interface. It replaces the SDK's StdioServerTransport with the same line reading and
// writing as the stdio backends (JSON.parse and a hand-written envelope check instead of zod, the
// messages of one turn of the event loop in one write). Unlike the SDK's, it closes when stdin ends,
// once the requests it has read are answered (or cancelled), so a client that hangs up is not left
// with a proxy holding its backends open; a request still unanswered after `endGraceMs` does not
// hold the close back. Every line read is checked first (wire/message.ts): one that is not
// JSON, not JSON-RPC, too deep or over `maxLineBytes` is answered with a JSON-RPC error, as on
// HTTP, and the reading goes on.
import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/sdk/types.js";
import { LineReader, LineWriter, onInvalidMessage, unsent, type InvalidSink } from "../wire/lines.js";
import { checkParams } from "../wire/message.js";
import { InFlightSet } from "../in-flight.js";
import { paramsShapeOf } from "../methods.js";

export interface StdioServerTransportOptions {
  /** Longest message read from stdin, in bytes; a longer one is answered with -32600. Default 10 MiB (the SDK's). */
  maxLineBytes?: number | undefined;
  /** Deepest nesting of objects and arrays accepted in a message. Default 64. */
  maxDepth?: number | undefined;
  /** After stdin ends, how long requests still being answered may hold the close back. Default 10,000 ms. */
  endGraceMs?: number | undefined;
}

export class StdioFrontTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #writer: LineWriter;
  readonly #reader: LineReader;
  readonly #endGraceMs: number;
  /** Requests read and not yet answered: after stdin's end, the close waits for them. */
  readonly #unanswered = new InFlightSet<RequestId>();
  #started = false;
  #ended = false;
  #closed = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #onClosed!: () => void;
  /** Settles once the transport has closed (stdin ended and the requests read were answered, or close()). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#onClosed = resolve));

  constructor(stdin: Readable = process.stdin, stdout: Writable = process.stdout, options: StdioServerTransportOptions = {}) {
    this.#stdin = stdin;
    this.#stdout = stdout;
    this.#writer = new LineWriter(
      stdout,
      (message, error) => {
        if (!this.#closed) unsent(message, error, (m) => this.onmessage?.(m));
      },
      {
        // A client that does not read its answers is not read from: what the proxy holds for it stays bounded.
        backpressure: { pause: () => stdin.pause(), resume: () => stdin.resume() }, // never resumed once closed: the writer is closed too
        onDropped: (count) => this.onerror?.(new Error(`${count} notifications to the client were dropped while it did not read its stdout`)),
      },
    );
    this.#endGraceMs = options.endGraceMs ?? 10_000;
    const sink: InvalidSink = {
      answer: (reply) => void this.#writer.send(reply as JSONRPCMessage).catch(() => {}),
      deliver: (message) => this.onmessage?.(message),
      report: (error) => this.onerror?.(error),
    };
    this.#reader = new LineReader({
      maxLineBytes: options.maxLineBytes,
      maxDepth: options.maxDepth,
      onMessage: this.#onMessage,
      onInvalid: (reply, value, line) => onInvalidMessage(reply, value, line, sink),
      onOverflow: (reply) => {
        sink.report(new Error(reply.error.message));
        sink.answer(reply);
      },
    });
  }

  async start(): Promise<void> {
    if (this.#started) {
      throw new Error("StdioFrontTransport already started! If using Server class, note that connect() calls start() automatically.");
    }
    this.#started = true;
    this.#stdin.on("data", this.#onData);
    this.#stdin.on("error", this.#onError);
    this.#stdin.on("end", this.#onEnd);
    // A reader of stdout that went away (EPIPE) is a client that went away: close, never an uncaught error.
    this.#stdout.on("error", this.#onStdoutError);
    if (this.#stdin.readableEnded) this.#onEnd();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const sent = this.#writer.send(message);
    if (!("method" in message) && this.#unanswered.delete(message.id!) && this.#ended && this.#unanswered.size === 0) void this.close();
    return sent;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#stdin.off("data", this.#onData);
    this.#stdin.off("error", this.#onError);
    this.#stdin.off("end", this.#onEnd);
    this.#stdout.off("error", this.#onStdoutError);
    this.#stdout.on("error", () => {}); // a write still under way may fail after the close
    // Pause stdin only when nothing else reads it (as the SDK does).
    if (this.#stdin.listenerCount("data") === 0) this.#stdin.pause();
    this.#reader.clear();
    this.#writer.flush(); // the last answers go out before the close
    this.#writer.close();
    this.#unanswered.clear();
    this.#onClosed();
    this.onclose?.();
  }

  readonly #onData = (chunk: Buffer | string): void => {
    this.#reader.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  };

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
  };

  readonly #onStdoutError = (error: Error): void => {
    this.onerror?.(error);
    void this.close();
  };

  readonly #onEnd = (): void => {
    if (this.#ended || this.#closed) return;
    this.#ended = true;
    if (this.#unanswered.size === 0) {
      void this.close();
      return;
    }
    this.#graceTimer = setTimeout(() => void this.close(), this.#endGraceMs);
    this.#graceTimer.unref();
  };

  readonly #onMessage = (message: JSONRPCMessage): void => {
    if (!("method" in message)) {
      this.onmessage?.(message);
      return;
    }
    if ("id" in message) {
      // An id still in flight is refused: two answers with one id could not be told apart.
      const refused = this.#unanswered.has(message.id)
        ? { code: ErrorCode.InvalidRequest, message: `Invalid Request: a request with id ${JSON.stringify(message.id)} is already in flight` }
        : checkParams(message.method, paramsShapeOf(message.method), message.params);
      if (refused) return void this.#writer.send({ jsonrpc: "2.0", id: message.id, error: refused }).catch(() => {});
      this.#unanswered.add(message.id);
    }
    this.onmessage?.(message);
    // A cancelled request is not answered (the spec): stop waiting for it.
    if (message.method === "notifications/cancelled") {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined && this.#unanswered.delete(id) && this.#ended && this.#unanswered.size === 0) void this.close();
    }
  };
}

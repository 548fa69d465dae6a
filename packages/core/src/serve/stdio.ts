// The stdio front: an MCP server transport on this process's stdin/stdout, behind the SDK's
// `Transport` interface. It replaces the SDK's StdioServerTransport with the same line reading and
// writing as the stdio backends (JSON.parse and a hand-written envelope check instead of zod, the
// messages of one turn of the event loop in one write). Unlike the SDK's, it closes when stdin ends,
// once the requests it has read are answered (or cancelled), so a client that hangs up is not left
// with a proxy holding its backends open; a request still unanswered after `endGraceMs` does not
// hold the close back.
import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { LineReader, LineWriter } from "../backends/stdio-transport.js";

export interface StdioServerTransportOptions {
  /** Longest message read from stdin, in bytes. Default 10 MiB (the SDK's). */
  maxLineBytes?: number | undefined;
  /** After stdin ends, how long requests still being answered may hold the close back. Default 10,000 ms. */
  endGraceMs?: number | undefined;
}

export class LeanStdioServerTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];

  readonly #stdin: Readable;
  readonly #writer: LineWriter;
  readonly #reader: LineReader;
  readonly #endGraceMs: number;
  /** Requests read and not yet answered: after stdin's end, the close waits for them. */
  readonly #unanswered = new Set<RequestId>();
  #started = false;
  #ended = false;
  #closed = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(stdin: Readable = process.stdin, stdout: Writable = process.stdout, options: StdioServerTransportOptions = {}) {
    this.#stdin = stdin;
    this.#writer = new LineWriter(stdout);
    this.#endGraceMs = options.endGraceMs ?? 10_000;
    this.#reader = new LineReader({
      maxLineBytes: options.maxLineBytes,
      onMessage: this.#onMessage,
      onInvalid: (error) => this.onerror?.(error),
      onOverflow: (error) => {
        this.onerror?.(error);
        void this.close();
      },
    });
  }

  async start(): Promise<void> {
    if (this.#started) {
      throw new Error("LeanStdioServerTransport already started! If using Server class, note that connect() calls start() automatically.");
    }
    this.#started = true;
    this.#stdin.on("data", this.#onData);
    this.#stdin.on("error", this.#onError);
    this.#stdin.on("end", this.#onEnd);
    if (this.#stdin.readableEnded) this.#onEnd();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ("id" in message && !("method" in message) && this.#unanswered.delete(message.id!) && this.#ended) {
      const sent = this.#writer.send(message);
      if (this.#unanswered.size === 0) void this.close();
      return sent;
    }
    return this.#writer.send(message);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#stdin.off("data", this.#onData);
    this.#stdin.off("error", this.#onError);
    this.#stdin.off("end", this.#onEnd);
    // Pause stdin only when nothing else reads it (as the SDK does).
    if (this.#stdin.listenerCount("data") === 0) this.#stdin.pause();
    this.#reader.clear();
    this.#writer.flush(); // the last answers go out before the close
    this.#writer.close();
    this.#unanswered.clear();
    this.onclose?.();
  }

  readonly #onData = (chunk: Buffer | string): void => {
    this.#reader.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  };

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
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
    if ("id" in message) this.#unanswered.add(message.id);
    this.onmessage?.(message);
    // A cancelled request is not answered (the spec): stop waiting for it.
    if (message.method === "notifications/cancelled") {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined && this.#unanswered.delete(id) && this.#ended && this.#unanswered.size === 0) void this.close();
    }
  };
}

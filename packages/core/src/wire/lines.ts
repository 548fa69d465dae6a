// Newline-delimited JSON-RPC, the stdio framing of both ends of a pipe (the stdio front and the
// stdio backends): a reader that splits bytes into lines, checks each (wire/message.ts) and bounds
// their size, what to do with a line that fails, and a writer that batches the messages of a turn.
import { isUtf8 } from "node:buffer";
import type { Writable } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { WireErrorCode as ErrorCode } from "./codes.js";
import { encodeMessage, type Encoded } from "./raw.js";
import { DEFAULT_MAX_DEPTH, checkMessage, errorReply, isObject, isRequestId, parseJsonAt, type ErrorReply } from "./message.js";

/** The SDK's limit on a message being read (STDIO_DEFAULT_MAX_BUFFER_SIZE). */
export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;
/** Notifications waiting for a full stream past this many bytes are dropped. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines and hands each checked JSON-RPC message on (see
 * `wire/message.ts`: UTF-8, JSON, depth, envelope). A line that fails a check goes to
 * `onInvalid` with the error reply it deserves and the value parsed, if any, and the reading goes
 * on. A line longer than `maxLineBytes` goes to `onOverflow` with a -32600 reply; the reader then
 * skips to the next newline and goes on (the caller may close instead). Splitting on the newline
 * byte is safe in UTF-8, where 0x0a never occurs inside a character.
 */
export class LineReader {
  readonly #maxLineBytes: number;
  readonly #maxDepth: number;
  readonly #onMessage: (message: JSONRPCMessage) => void;
  readonly #onInvalid: (reply: ErrorReply, value: unknown, line: string) => void;
  readonly #onOverflow: (reply: ErrorReply) => void;
  /** The start of a line not yet ended, in the chunks it came in. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Dropping the rest of a line over the limit, up to its newline. */
  #skipping = false;

  constructor(options: {
    maxLineBytes?: number | undefined;
    maxDepth?: number | undefined;
    onMessage: (message: JSONRPCMessage) => void;
    onInvalid: (reply: ErrorReply, value: unknown, line: string) => void;
    onOverflow: (reply: ErrorReply) => void;
  }) {
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#onMessage = options.onMessage;
    this.#onInvalid = options.onInvalid;
    this.#onOverflow = options.onOverflow;
  }

  push(chunk: Buffer): void {
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (this.#skipping) {
      if (end === -1) return;
      this.#skipping = false;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    } else if (end !== -1 && this.#pendingBytes > 0) {
      if (this.#pendingBytes + end > this.#maxLineBytes) {
        this.clear();
        this.#overflow(false);
      } else {
        this.#pending.push(chunk.subarray(0, end));
        const line = Buffer.concat(this.#pending, this.#pendingBytes + end);
        this.clear();
        this.#line(line, 0, line.length, false);
      }
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (end !== -1) {
      // The whole lines of a chunk are checked for UTF-8 at once: a newline byte never occurs inside
      // a UTF-8 character, so when their bytes are valid together, each line is valid alone.
      const utf8Checked = isUtf8(chunk.subarray(start, chunk.lastIndexOf(NEWLINE)));
      while (end !== -1) {
        if (end - start > this.#maxLineBytes) this.#overflow(false);
        else if (end > start) this.#line(chunk, start, end, utf8Checked);
        start = end + 1;
        end = chunk.indexOf(NEWLINE, start);
      }
    }
    if (start < chunk.length) {
      this.#pendingBytes += chunk.length - start;
      if (this.#pendingBytes > this.#maxLineBytes) {
        this.clear();
        return this.#overflow(true);
      }
      // Keep a copy of a small tail: a subarray would pin the whole (up to 64 KiB) chunk.
      this.#pending.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
    }
  }

  clear(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** `unended`: the line goes on past this chunk, so its rest is skipped up to the next newline. */
  #overflow(unended: boolean): void {
    this.#skipping = unended;
    this.#onOverflow(errorReply(null, ErrorCode.InvalidRequest, `Invalid Request: a message of more than ${this.#maxLineBytes} bytes was received on stdio`));
  }

  /** The line `bytes[start, end)`. */
  #line(bytes: Buffer, start: number, end: number, utf8Checked: boolean): void {
    if (end - start <= 2 && bytes.toString("latin1", start, end).trim() === "") return; // a blank line (or a lone \r) carries nothing
    const parsed = parseJsonAt(bytes, start, end, utf8Checked, this.#maxDepth);
    if (parsed.error) return this.#onInvalid(parsed.error, undefined, excerpt(bytes, start, end));
    if (Array.isArray(parsed.value)) {
      const reply = errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: JSON-RPC batches are not supported on stdio");
      return this.#onInvalid(reply, parsed.value, excerpt(bytes, start, end));
    }
    const checked = checkMessage(parsed.value, parsed.depthChecked ? Infinity : this.#maxDepth);
    if (checked.error) return this.#onInvalid(checked.error, parsed.value, excerpt(bytes, start, end));
    this.#onMessage(checked.message);
  }
}

/**
 * What a transport does with a message that failed its checks (the same on both ends of a stdio
 * pipe): a request or a message too broken to tell is answered with the error (JSON-RPC's rule);
 * a response that carries an id comes back to `deliver` as an error response with that id, so the
 * request waiting for it fails at once rather than at its timeout; a notification is only reported.
 */
export function onInvalidMessage(reply: ErrorReply, value: unknown, line: string, sink: InvalidSink): void {
  sink.report(new Error(`Invalid line on stdio (${reply.error.message}): ${line}`));
  const message = isObject(value) ? value : undefined;
  if (message && !("method" in message) && isRequestId(message.id)) {
    const why = reply.error.message.replace(/^Invalid Request: /, "");
    sink.deliver({ jsonrpc: "2.0", id: message.id, error: { code: ErrorCode.InternalError, message: `Invalid response: ${why}` } } as JSONRPCMessage);
  } else if (!(message && typeof message.method === "string" && !("id" in message))) {
    sink.answer(reply);
  }
}

export interface InvalidSink {
  /** Writes an error reply to the other end. */
  answer(reply: ErrorReply): void;
  /** Hands a message to this end's protocol, as if it had been read. */
  deliver(message: JSONRPCMessage): void;
  report(error: Error): void;
}

/**
 * A request that could not be sent (a value JSON cannot represent, a closed pipe) comes back to
 * `deliver` as an error response: the SDK's Protocol keeps a request's response handler, and with
 * it the whole request, until an answer arrives, so a failed send would otherwise hold it forever.
 */
export function unsent(message: JSONRPCMessage, error: unknown, deliver: (message: JSONRPCMessage) => void): void {
  if (!("method" in message) || !("id" in message)) return;
  const why = error instanceof Error ? error.message : String(error);
  deliver({ jsonrpc: "2.0", id: message.id, error: { code: ErrorCode.InternalError, message: `Could not send ${message.method}: ${why}` } } as JSONRPCMessage);
}

function excerpt(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString("utf8", start, Math.min(end, start + 200));
  return end - start > 200 ? `${text}…` : text;
}

/** The sends of one write share one promise: settled when the stream takes the write, or on its 'drain'. */
type Batch = { readonly promise: Promise<void>; resolve: () => void; reject: (error: Error) => void; requests?: JSONRPCMessage[] };

function newBatch(): Batch {
  const batch = {} as Batch;
  (batch as { promise: Promise<void> }).promise = new Promise<void>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  });
  return batch;
}

/** While the other end does not read (the stream is full), what to stop reading from it. */
export interface Backpressure {
  pause(): void;
  resume(): void;
}

/**
 * Writes newline-delimited messages, the messages of one turn of the event loop in one `write`
 * (flushed from setImmediate, after the I/O callbacks of the turn and the work they started). A
 * send resolves once its bytes are handed to the stream, or, when the stream is full, on 'drain';
 * while it is full, later messages wait here and go in one write after the drain. The sends of one
 * write share one promise.
 *
 * While the stream is full, `backpressure` is paused (a front stops reading requests whose answers
 * its client does not read), so what waits here is bounded by the requests already read; and
 * notifications past `maxQueuedBytes` waiting are dropped (a backend's logs or progress cannot
 * pile up without end). Requests and answers are never dropped.
 */
export class LineWriter {
  readonly #stream: Writable;
  readonly #backpressure: Backpressure | undefined;
  readonly #maxQueuedBytes: number;
  #queue: Array<string | Buffer> = [];
  /** About the bytes waiting in #queue (string lengths: bytes for ASCII). */
  #queuedBytes = 0;
  /** Notifications dropped since the stream was last writable. */
  #dropped = 0;
  /** The queue holds bytes (a result written through), not text alone. */
  #withBytes = false;
  /** The sends queued for the next write. */
  #batch: Batch | undefined;
  /** The sends of a write the stream took while full: they settle on 'drain'. */
  #draining: Batch | undefined;
  #scheduled = false;
  #blocked = false;
  /** `backpressure` is paused by this writer. */
  #paused = false;
  #closed = false;

  /** Told of each request that could not be written (see `unsent`), so no sender needs a `.catch` per message. */
  readonly #onUnsent: ((message: JSONRPCMessage, error: Error) => void) | undefined;
  /** Told how many notifications were dropped while the stream was full, once it drains. */
  readonly #onDropped: ((count: number) => void) | undefined;

  constructor(
    stream: Writable,
    onUnsent?: (message: JSONRPCMessage, error: Error) => void,
    options: { backpressure?: Backpressure | undefined; maxQueuedBytes?: number | undefined; onDropped?: ((count: number) => void) | undefined } = {},
  ) {
    this.#stream = stream;
    this.#onUnsent = onUnsent;
    this.#backpressure = options.backpressure;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#onDropped = options.onDropped;
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return this.#unsent([message], new Error("Not connected"));
    if (this.#blocked && this.#queuedBytes > this.#maxQueuedBytes && !("id" in message)) {
      this.#dropped++;
      return Promise.resolve();
    }
    let encoded: Encoded;
    try {
      encoded = encodeMessage(message);
    } catch (error) {
      // A result JSON cannot represent (a cycle a middleware made, a BigInt): its request still gets an answer.
      if (!("id" in message) || "method" in message) return this.#unsent([message], error as Error);
      const why = `Internal error: the result could not be serialised (${(error as Error).message})`;
      encoded = JSON.stringify(errorReply(message.id ?? null, ErrorCode.InternalError, why));
    }
    if (typeof encoded === "string") {
      this.#queue.push(`${encoded}\n`);
      this.#queuedBytes += encoded.length + 1;
    } else {
      // A result written as the bytes it came in: no copy of them here.
      this.#queue.push(encoded.head, encoded.body, `${encoded.tail}\n`);
      this.#queuedBytes += encoded.head.length + encoded.body.length + encoded.tail.length + 1;
      this.#withBytes = true;
    }
    const batch = (this.#batch ??= newBatch());
    if (this.#onUnsent && "method" in message && "id" in message) (batch.requests ??= []).push(message);
    if (!this.#scheduled && !this.#blocked) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return batch.promise;
  }

  /** Writes what is queued now (a close writes the last answers before it ends the stream). */
  flush(): void {
    if (!this.#blocked) this.#flush();
  }

  /** No more sends; the ones still waiting for a drain fail with "Not connected". */
  close(): void {
    this.#closed = true;
    const unsettled = [this.#draining, this.#batch];
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#batch = undefined;
    this.#draining = undefined;
    for (const batch of unsettled) batch?.reject(new Error("Not connected"));
  }

  /** Tells of the requests among `messages` that could not be written; a promise rejected with why. */
  #unsent(messages: JSONRPCMessage[] | undefined, error: Error): Promise<never> {
    for (const message of messages ?? []) if ("method" in message && "id" in message) this.#onUnsent?.(message, error);
    return Promise.reject(error);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#queue.length === 0 || this.#blocked || this.#closed) return;
    const queue = this.#queue;
    const withBytes = this.#withBytes;
    const batch = this.#batch!;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#withBytes = false;
    this.#batch = undefined;
    let ready = true;
    try {
      if (!withBytes) ready = this.#stream.write(queue.length === 1 ? queue[0]! : queue.join(""));
      else {
        // One writev for the turn, the bytes as they are.
        this.#stream.cork();
        try {
          for (const chunk of queue) ready = this.#stream.write(chunk);
        } finally {
          this.#stream.uncork();
        }
      }
    } catch (error) {
      this.#unsent(batch.requests, error as Error).catch(() => {});
      batch.reject(error as Error);
      return;
    }
    if (ready) return batch.resolve();
    this.#blocked = true;
    this.#draining = batch;
    // Paused only when the other end has left bytes unread: a large write the pipe took whole at once
    // also reports "full" (Node compares the write with the high-water mark before making it).
    if (this.#stream.writableLength > 0 && this.#backpressure && !this.#paused) {
      this.#paused = true;
      this.#backpressure.pause();
    }
    this.#stream.once("drain", () => {
      this.#blocked = false;
      this.#draining = undefined;
      batch.resolve();
      if (this.#dropped > 0) this.#onDropped?.(this.#dropped);
      this.#dropped = 0;
      if (this.#queue.length > 0 && !this.#scheduled) this.#flush();
      // Still writable after what waited went out: read again.
      if (this.#paused && !this.#blocked && !this.#closed) {
        this.#paused = false;
        this.#backpressure!.resume();
      }
    });
  };
}

// A stdio client transport (the proxy's backend leg to a child process), behind the SDK's `Transport`
// interface, and the line reading and writing the stdio front shares with it.
//
// It keeps what the SDK's StdioClientTransport does (the safe default environment merged with the
// configured one, cwd, stderr piped, newline-delimited JSON, a bounded read buffer, close = stdin
// ended, SIGTERM after 0.5 s, SIGKILL after 1 s more, spawn errors rejecting start()) without its
// per-message costs: each line is read with JSON.parse and a hand-written envelope check (the same
// rules as the SDK's zod `JSONRPCMessageSchema`), and the messages sent in one turn of the event loop
// go to the pipe in one write, so a busy session does not pay a syscall (and a wake-up of the other
// process) per message. The child's own descendants are reaped when it is closed.
import type { ChildProcess } from "node:child_process";
// cross-spawn (as the SDK uses): on Windows it finds command shims such as npx.cmd from a bare "npx".
import spawn from "cross-spawn";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { DEFAULT_MAX_DEPTH, checkMessage, errorReply, isObject, isRequestId, parseJson, type ErrorReply } from "../serve/message-check.js";
import { descendants, reap } from "./process-tree.js";

/** The SDK's limit on a message being read (STDIO_DEFAULT_MAX_BUFFER_SIZE). */
export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;
/**
 * How long close() waits after ending stdin before SIGTERM, and after SIGTERM before SIGKILL. Shorter
 * than the SDK's 2 s steps: an SDK client that started this proxy sends it SIGTERM 2 s after ending
 * its stdin, so the proxy's own children must be gone before then.
 */
const STDIN_GRACE_MS = 500;
const TERM_GRACE_MS = 1000;
const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines and hands each checked JSON-RPC message on (see
 * `serve/message-check.ts`: UTF-8, JSON, depth, envelope). A line that fails a check goes to
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
        this.#line(line);
      }
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      if (end - start > this.#maxLineBytes) this.#overflow(false);
      else if (end > start) this.#line(chunk.subarray(start, end));
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
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

  #line(line: Buffer): void {
    if (line.length <= 2 && line.toString("latin1").trim() === "") return; // a blank line (or a lone \r) carries nothing
    const parsed = parseJson(line, this.#maxDepth);
    if (parsed.error) return this.#onInvalid(parsed.error, undefined, excerpt(line));
    if (Array.isArray(parsed.value)) {
      const reply = errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: JSON-RPC batches are not supported on stdio");
      return this.#onInvalid(reply, parsed.value, excerpt(line));
    }
    const checked = checkMessage(parsed.value, this.#maxDepth);
    if (checked.error) return this.#onInvalid(checked.error, parsed.value, excerpt(line));
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

function excerpt(line: Buffer): string {
  const text = line.toString("utf8", 0, Math.min(line.length, 200));
  return line.length > 200 ? `${text}…` : text;
}

type Settle = { resolve: () => void; reject: (error: Error) => void };

/**
 * Writes newline-delimited messages, the messages of one turn of the event loop in one `write`
 * (flushed from setImmediate, after the I/O callbacks of the turn and the work they started). A
 * send resolves once its bytes are handed to the stream, or, when the stream is full, on 'drain';
 * while it is full, later messages wait here and go in one write after the drain.
 */
export class LineWriter {
  readonly #stream: Writable;
  #queue: string[] = [];
  #settle: Settle[] = [];
  /** The sends of a write the stream took while full: they settle on 'drain'. */
  #draining: Settle[] = [];
  #scheduled = false;
  #blocked = false;
  #closed = false;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Not connected"));
    let line: string;
    try {
      line = `${JSON.stringify(message)}\n`;
    } catch (error) {
      // A result JSON cannot represent (a cycle a middleware made, a BigInt): its request still gets an answer.
      if (!("id" in message) || "method" in message) return Promise.reject(error);
      const why = `Internal error: the result could not be serialised (${(error as Error).message})`;
      line = `${JSON.stringify(errorReply(message.id ?? null, ErrorCode.InternalError, why))}\n`;
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(line);
      this.#settle.push({ resolve, reject });
      if (!this.#scheduled && !this.#blocked) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Writes what is queued now (a close writes the last answers before it ends the stream). */
  flush(): void {
    if (!this.#blocked) this.#flush();
  }

  /** No more sends; the ones still waiting for a drain fail with "Not connected". */
  close(): void {
    this.#closed = true;
    const settle = [...this.#draining, ...this.#settle];
    this.#queue = [];
    this.#settle = [];
    this.#draining = [];
    for (const { reject } of settle) reject(new Error("Not connected"));
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#queue.length === 0 || this.#blocked || this.#closed) return;
    const data = this.#queue.length === 1 ? this.#queue[0]! : this.#queue.join("");
    const settle = this.#settle;
    this.#queue = [];
    this.#settle = [];
    let ready: boolean;
    try {
      ready = this.#stream.write(data);
    } catch (error) {
      for (const { reject } of settle) reject(error as Error);
      return;
    }
    if (ready) {
      for (const { resolve } of settle) resolve();
      return;
    }
    this.#blocked = true;
    this.#draining = settle;
    this.#stream.once("drain", () => {
      this.#blocked = false;
      this.#draining = [];
      for (const { resolve } of settle) resolve();
      if (this.#queue.length > 0 && !this.#scheduled) this.#flush();
    });
  };
}

export interface StdioClientTransportOptions {
  command: string;
  args?: string[] | undefined;
  /** Merged over the SDK's safe default environment (HOME, LOGNAME, PATH, SHELL, TERM, USER). */
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  /** "pipe": read it from `stderr` (available before start()). Default "inherit", as in the SDK. */
  stderr?: "pipe" | "inherit" | "ignore" | undefined;
  /** Longest message read from the child, in bytes. Default 10 MiB. */
  maxLineBytes?: number | undefined;
  /** Deepest nesting accepted in a message from the child (see serve/message-check.ts). Default 64. */
  maxDepth?: number | undefined;
  /** End the child's own descendants too when closing it (SIGTERM, SIGKILL 1 s later). Default true. */
  reapDescendants?: boolean | undefined;
}

/** Spawns an MCP server and speaks newline-delimited JSON-RPC with it over its stdin/stdout. */
export class StdioBackendTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];

  readonly #options: StdioClientTransportOptions;
  readonly #stderr: PassThrough | undefined;
  #child: ChildProcess | undefined;
  /** The child close() is ending. */
  #closingChild: ChildProcess | undefined;
  #started = false;
  #writer: LineWriter | undefined;

  constructor(options: StdioClientTransportOptions) {
    this.#options = options;
    if (options.stderr === "pipe") this.#stderr = new PassThrough();
  }

  /** The child's stderr when piped: given before start() so that nothing it writes early is lost. */
  get stderr(): Readable | null {
    return this.#stderr ?? null;
  }

  /** The child's pid once started; null before, and once it has exited. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.#started) {
      return Promise.reject(
        new Error("StdioBackendTransport already started! If using Client class, note that connect() calls start() automatically."),
      );
    }
    this.#started = true;
    return new Promise<void>((resolve, reject) => {
      const options = this.#options;
      const child = spawn(options.command, options.args ?? [], {
        env: { ...getDefaultEnvironment(), ...options.env },
        stdio: ["pipe", "pipe", options.stderr ?? "inherit"],
        shell: false,
        windowsHide: process.platform === "win32",
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      });
      this.#child = child;
      const writer = new LineWriter(child.stdin!);
      this.#writer = writer;
      const reader = new LineReader({
        maxLineBytes: options.maxLineBytes,
        maxDepth: options.maxDepth,
        onMessage: (message) => this.onmessage?.(message),
        onInvalid: (reply, value, line) => onInvalidMessage(reply, value, line, this.#sink),
        onOverflow: (reply) => {
          this.onerror?.(new Error(`${reply.error.message.replace("Invalid Request: a", "A")}`));
          this.close().catch(() => {});
        },
      });
      // Ended once, by whichever comes first: the child's exit, or its stdout's end (a child that
      // closed stdout can never answer again, alive or not: its calls fail now, and it is ended).
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        writer.close();
        reader.clear();
        this.onclose?.();
      };
      child.on("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on("spawn", () => resolve());
      child.on("close", () => {
        if (this.#child === child) this.#child = undefined;
        end();
      });
      child.stdin!.on("error", (error) => this.onerror?.(error));
      child.stdout!.on("data", (chunk: Buffer) => reader.push(chunk));
      child.stdout!.on("error", (error) => this.onerror?.(error));
      child.stdout!.once("end", () => {
        if (ended || this.#child !== child) return;
        this.onerror?.(new Error("The server closed its stdout"));
        end();
        this.close(0).catch(() => {});
      });
      if (this.#stderr && child.stderr) child.stderr.pipe(this.#stderr);
    });
  }

  /** A request from the child that fails the checks is answered; stray lines (a log line on stdout) are only reported. */
  readonly #sink: InvalidSink = {
    answer: (reply) => void (reply.id !== null && this.#writer?.send(reply as JSONRPCMessage).catch(() => {})),
    deliver: (message) => this.onmessage?.(message),
    report: (error) => this.onerror?.(error),
  };

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.#child || !this.#writer) return Promise.reject(new Error("Not connected"));
    return this.#writer.send(message).catch((error: unknown) => {
      if (this.#child) unsent(message, error, (m) => this.onmessage?.(m));
      throw error;
    });
  }

  /**
   * Ends the child: stdin ended, then SIGTERM after `graceMs` (500 ms), then SIGKILL after 1 s more;
   * its descendants are reaped. Called again with 0 while closing, it sends SIGKILL at once.
   */
  async close(graceMs = STDIN_GRACE_MS): Promise<void> {
    const child = this.#child;
    if (!child) {
      const closing = this.#closingChild;
      // Asked to hurry while already closing (a second Ctrl+C): nothing more to wait for.
      if (graceMs === 0 && closing && closing.exitCode === null && closing.signalCode === null) kill(closing, "SIGKILL");
      return;
    }
    this.#child = undefined;
    this.#closingChild = child;
    const tree = this.#options.reapDescendants === false || child.pid === undefined ? [] : descendants(child.pid);
    const closed = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once("close", () => resolve());
    });
    const within = (ms: number) => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
    try {
      this.#writer?.flush();
      child.stdin?.end();
    } catch {
      // The pipe is gone already.
    }
    if (graceMs > 0) await within(graceMs);
    if (child.exitCode === null && child.signalCode === null) {
      kill(child, "SIGTERM");
      await within(TERM_GRACE_MS);
    }
    if (child.exitCode === null && child.signalCode === null) kill(child, "SIGKILL");
    this.#writer?.close();
    reap(tree);
  }
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // Gone already.
  }
}

// A stdio client transport (the proxy's backend leg to a child process), behind the SDK's `Transport`
// interface, and the line reading and writing the stdio front shares with it.
//
// It keeps what the SDK's StdioClientTransport does (the safe default environment merged with the
// configured one, cwd, stderr piped, newline-delimited JSON, a bounded read buffer, close = stdin
// ended, SIGTERM after 2 s, SIGKILL after 2 s more, spawn errors rejecting start()) without its
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
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { isJsonRpcMessage } from "../serve/streamable-http.js";
import { descendants, reap } from "./process-tree.js";

/** The SDK's limit on a message being read (STDIO_DEFAULT_MAX_BUFFER_SIZE). */
export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;
/** How long close() waits after ending stdin, and again after SIGTERM (as the SDK does). */
const CLOSE_STEP_MS = 2000;
const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines and hands each parsed JSON-RPC message on. A line that is not JSON,
 * or not a JSON-RPC message, is reported to `onInvalid` and skipped: the session goes on. A line
 * longer than `maxLineBytes` is reported to `onOverflow` (the caller closes; the SDK does the same).
 * Splitting on the newline byte is safe in UTF-8, where 0x0a never occurs inside a character.
 */
export class LineReader {
  readonly #maxLineBytes: number;
  readonly #onMessage: (message: JSONRPCMessage) => void;
  readonly #onInvalid: (error: Error) => void;
  readonly #onOverflow: (error: Error) => void;
  /** The start of a line not yet ended, in the chunks it came in. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(options: {
    maxLineBytes?: number | undefined;
    onMessage: (message: JSONRPCMessage) => void;
    onInvalid: (error: Error) => void;
    onOverflow: (error: Error) => void;
  }) {
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#onMessage = options.onMessage;
    this.#onInvalid = options.onInvalid;
    this.#onOverflow = options.onOverflow;
  }

  /** Reads a chunk; returns false once the line limit was exceeded (the rest of the chunk is dropped). */
  push(chunk: Buffer): boolean {
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (end !== -1 && this.#pendingBytes > 0) {
      if (this.#pendingBytes + end > this.#maxLineBytes) return this.#overflow();
      this.#pending.push(chunk.subarray(0, end));
      const line = Buffer.concat(this.#pending, this.#pendingBytes + end).toString("utf8");
      this.clear();
      this.#line(line);
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      if (end - start > this.#maxLineBytes) return this.#overflow();
      if (end > start) this.#line(chunk.toString("utf8", start, end));
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      this.#pendingBytes += chunk.length - start;
      if (this.#pendingBytes > this.#maxLineBytes) return this.#overflow();
      // Keep a copy of a small tail: a subarray would pin the whole (up to 64 KiB) chunk.
      this.#pending.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
    }
    return true;
  }

  clear(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #overflow(): false {
    this.clear();
    this.#onOverflow(new Error(`A message of more than ${this.#maxLineBytes} bytes was received on stdio`));
    return false;
  }

  #line(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (line.trim() === "") return; // a blank line (or a lone \r) carries nothing
      this.#onInvalid(new Error(`Invalid JSON on stdio (${(error as Error).message}): ${excerpt(line)}`));
      return;
    }
    if (!isJsonRpcMessage(value)) {
      this.#onInvalid(new Error(`Not a JSON-RPC message on stdio: ${excerpt(line)}`));
      return;
    }
    this.#onMessage(value);
  }
}

function excerpt(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
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
      return Promise.reject(error);
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
  /** End the child's own descendants too when closing it (SIGTERM, SIGKILL 2 s later). Default true. */
  reapDescendants?: boolean | undefined;
}

/** Spawns an MCP server and speaks newline-delimited JSON-RPC with it over its stdin/stdout. */
export class LeanStdioClientTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];

  readonly #options: StdioClientTransportOptions;
  readonly #stderr: PassThrough | undefined;
  #child: ChildProcess | undefined;
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
        new Error("LeanStdioClientTransport already started! If using Client class, note that connect() calls start() automatically."),
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
        onMessage: (message) => this.onmessage?.(message),
        onInvalid: (error) => this.onerror?.(error),
        onOverflow: (error) => {
          this.onerror?.(error);
          this.close().catch(() => {});
        },
      });
      child.on("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on("spawn", () => resolve());
      child.on("close", () => {
        if (this.#child === child) this.#child = undefined;
        writer.close();
        reader.clear();
        this.onclose?.();
      });
      child.stdin!.on("error", (error) => this.onerror?.(error));
      child.stdout!.on("data", (chunk: Buffer) => reader.push(chunk));
      child.stdout!.on("error", (error) => this.onerror?.(error));
      if (this.#stderr && child.stderr) child.stderr.pipe(this.#stderr);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.#child || !this.#writer) return Promise.reject(new Error("Not connected"));
    return this.#writer.send(message);
  }

  /** Ends the child: stdin ended, then SIGTERM after 2 s, then SIGKILL after 2 s more; its descendants are reaped. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
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
    await within(CLOSE_STEP_MS);
    if (child.exitCode === null && child.signalCode === null) {
      kill(child, "SIGTERM");
      await within(CLOSE_STEP_MS);
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

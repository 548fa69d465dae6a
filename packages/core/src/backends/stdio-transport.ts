// A stdio client transport (the proxy's backend leg to a child process), behind the SDK's `Transport`
// interface. Its line reading and writing (wire/lines.ts) are the stdio front's too.
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
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { LineReader, LineWriter, onInvalidMessage, unsent, type InvalidSink } from "../wire/lines.js";
import { descendants, reap } from "./process-tree.js";

/**
 * How long close() waits after ending stdin before SIGTERM, and after SIGTERM before SIGKILL. Shorter
 * than the SDK's 2 s steps: an SDK client that started this proxy sends it SIGTERM 2 s after ending
 * its stdin, so the proxy's own children must be gone before then.
 */
const STDIN_GRACE_MS = 500;
const TERM_GRACE_MS = 1000;

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
  /** Deepest nesting accepted in a message from the child (see wire/message.ts). Default 64. */
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
      const writer = new LineWriter(child.stdin!, (message, error) => {
        if (this.#child) unsent(message, error, (m) => this.onmessage?.(m));
      });
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
    return this.#writer.send(message);
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

// Spawning the real, built `fastmcp-proxy` command for end-to-end tests. Every wait is bounded,
// and only processes these helpers started are signalled, by PID.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { alive } from "../helpers.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = fileURLToPath(new URL("../../packages/cli/bin/fastmcp-proxy.js", import.meta.url));
export const FIXTURE = fileURLToPath(new URL("../fixtures/fixture-server.mjs", import.meta.url));
/** The fixture as a stdio backend command, for after `--`. */
export const FIXTURE_STDIO = [process.execPath, FIXTURE, "stdio"];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  stdout(): string;
  /** Each line written on stdout so far, parsed: a stdio front's JSON-RPC messages. */
  messages(): Record<string, any>[];
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects after `ms` (or if the process exits first). */
  waitForStderr(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited and its output is read; rejects after `ms`. */
  exited(ms?: number): Promise<Exit>;
  /** An MCP client speaking to this process over its stdin/stdout (for a stdio front). */
  connectStdio(): Promise<Client>;
}

const started = new Set<CliProcess>();

/** Starts `node packages/cli/bin/fastmcp-proxy.js ...args` from the repository root. */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  child.stdin.on("error", () => {}); // the CLI may exit before we stop writing
  let exit: Exit | undefined;
  // "close", not "exit": by then stdout and stderr have been read to the end.
  const exitPromise = new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve((exit = { code, signal }))));

  const cli: CliProcess = {
    child,
    pid: child.pid!,
    stdout: () => out,
    messages: () =>
      out
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, any>),
    stderr: () => err,
    waitForStderr(pattern, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = err.match(pattern);
          if (match) return finish(() => resolve(match));
          if (exit) return finish(() => reject(new Error(`exited (${JSON.stringify(exit)}) before stderr matched ${pattern}; stderr:\n${err}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`stderr did not match ${pattern} within ${ms} ms; stderr:\n${err}`))), ms);
        const finish = (then: () => void) => {
          clearTimeout(timer);
          child.stderr.off("data", onData);
          child.off("close", onExit);
          then();
        };
        const onData = () => setImmediate(check);
        const onExit = () => setImmediate(check);
        child.stderr.on("data", onData);
        child.once("close", onExit);
        check();
      });
    },
    exited(ms = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exitPromise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms; stderr:\n${err}`)), ms);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    async connectStdio() {
      // StdioServerTransport is plain newline-delimited JSON-RPC over two streams: pointed at the
      // child's stdout (to read) and stdin (to write), it is a client transport we fully control.
      const transport = new StdioServerTransport(child.stdout, child.stdin);
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await withTimeout(client.connect(transport), 15_000, "initialize over stdio");
      return client;
    },
  };
  started.add(cli);
  void exitPromise.then(() => started.delete(cli));
  return cli;
}

/** Runs the CLI to completion (for commands that exit by themselves). */
export async function runCli(args: string[], ms = 20_000): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = startCli(args);
  cli.child.stdin.end();
  const exit = await cli.exited(ms);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Stops every CLI process a test started and left running: SIGTERM, then SIGKILL after a grace period. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(async (cli) => {
      cli.child.kill("SIGTERM");
      try {
        await cli.exited(8_000);
      } catch {
        cli.child.kill("SIGKILL");
        await cli.exited(2_000).catch(() => {});
      }
    }),
  );
}

// A zombie counts as alive until reaped.
export { alive };

/** Waits until `pid` no longer exists; false if it still does after `ms`. */
export async function gone(pid: number, ms = 8_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The URL from the CLI's ready line: `fastmcp-proxy: serving streamable HTTP on <url>`. */
export const SERVING_HTTP = /^fastmcp-proxy: serving streamable HTTP on (http:\/\/\S+)/m;
export const SERVING_SSE = /^fastmcp-proxy: serving SSE on (http:\/\/\S+) \(streamable HTTP also on (http:\/\/\S+)\)/m;
export const SERVING_STDIO = /^fastmcp-proxy: serving stdio\b/m;

/** A stack trace line, which the CLI must never print. */
export const STACK_FRAME = /^\s+at .+\(?.+:\d+:\d+\)?$/m;

/** A unique argument to tag the backends a test starts, so a leaked one can be found whatever its PID. */
export function marker(): string {
  return `cli-test-marker-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/** PIDs of live processes with `arg` among their arguments (Linux /proc; empty elsewhere). */
export function pidsWithArg(arg: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return entries.flatMap((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1];
      return args.includes(arg) && state !== "Z" ? [Number(pid)] : [];
    } catch {
      return []; // exited meanwhile
    }
  });
}

/** Waits until no live process carries `arg`; returns those still running after `ms`. */
export async function noneLeft(arg: string, ms = 8_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pidsWithArg(arg).length === 0) return [];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pidsWithArg(arg);
}

/** Kills (by PID) any process still carrying `arg`: a test's own leaked backend, after a failure. */
export function killTagged(arg: string): void {
  for (const pid of pidsWithArg(arg)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

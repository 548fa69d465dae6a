// What the CLI writes on stderr, in the format chosen with --log-format: the proxy's diagnostics,
// one line per forwarded request (the logging middleware), and the CLI's own messages.
import { hostname } from "node:os";
import { stderrLogger, type Logger } from "@fastmcp-proxy/core";
import { Redaction, createLogger, formatEntry, logging, proxyLogger, type LoggingMiddleware, type RequestLogger } from "@fastmcp-proxy/logging";
import type { CliLogFormat, CliLogLevel } from "./args.js";

export type SayLevel = "info" | "warn" | "error";

export interface CliLogs {
  /** The proxy's own diagnostics (core's Logger), scrubbed of credentials. */
  readonly diagnostics: Logger;
  /** One line per forwarded request: ok at info, a tool's isError at warn, a JSON-RPC error at error. */
  readonly requests: LoggingMiddleware<RequestLogger>;
  /**
   * One of the CLI's own messages (the ready line, a failure), written whatever --log-level says:
   * `fastmcp-proxy: <line>` in plain and pretty, a JSON entry (with `fields`) in json.
   */
  say(line: string, level?: SayLevel, fields?: Record<string, unknown>): void;
  /** Advice for people (the demo's how-to-connect), as it is; left out in json. */
  hint(lines: readonly string[]): void;
}

const PINO_LEVELS: Record<SayLevel, number> = { info: 30, warn: 40, error: 50 };

/**
 * The CLI's logs. `colors` applies to the pretty format only. At debug level the request lines
 * carry the request's params and result (bounded, and redacted like everything else).
 */
export function cliLogs(level: CliLogLevel, format: CliLogFormat, write: (text: string) => void, colors = false): CliLogs {
  const rules = new Redaction();
  const scrub = (text: string) => rules.scrubPatterns(text);
  const destination = { write };
  const payloads = { params: level === "debug", result: level === "debug" };

  if (format === "plain") {
    // Request lines in the same `[fastmcp-proxy] <level>: ...` shape as the diagnostics.
    const requests = logging({ ...payloads, logger: plainLogger(level, write) });
    return {
      diagnostics: stderrLogger(level, write),
      requests,
      say: (line) => write(`fastmcp-proxy: ${scrub(line)}\n`),
      hint: (lines) => write(lines.map((line) => `${line}\n`).join("")),
    };
  }

  const logger = createLogger({ level, format, destination, colors });
  const base = { pid: process.pid, hostname: hostname(), name: "fastmcp-proxy" };
  return {
    diagnostics: proxyLogger(logger),
    requests: logging({ ...payloads, logger }),
    say:
      format === "json"
        ? (line, sayLevel = "info", fields = {}) =>
            write(`${JSON.stringify({ level: PINO_LEVELS[sayLevel], time: Date.now(), ...base, ...scrubFields(fields, scrub), msg: scrub(line) })}\n`)
        : (line) => write(`fastmcp-proxy: ${scrub(line)}\n`),
    hint: format === "json" ? () => {} : (lines) => write(lines.map((line) => `${line}\n`).join("")),
  };
}

const RANKS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * Request lines in the plain format, `[fastmcp-proxy] info: tools/call echo ← backend ok 1.2ms
 * 58B→1.2kB session=3f2a…`, formatted from the entry itself: no JSON made and parsed again per line.
 */
function plainLogger(level: CliLogLevel, write: (text: string) => void): RequestLogger {
  const threshold = RANKS[level]!;
  const at = (name: string) => (entry: Record<string, unknown>) => {
    if (RANKS[name]! >= threshold) write(`[fastmcp-proxy] ${name}: ${formatEntry(entry)}\n`);
  };
  return {
    isLevelEnabled: (name) => (RANKS[name] ?? 0) >= threshold,
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
  };
}

function scrubFields(fields: Record<string, unknown>, scrub: (text: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, typeof value === "string" ? scrub(value) : value]));
}

/** The proxy's own diagnostics. Written to stderr: on a stdio front, stdout is the protocol. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function stderrLogger(level: LogLevel = "info", write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (name: Exclude<LogLevel, "silent">) =>
    RANK[name] < RANK[level]
      ? () => {}
      : (message: string, fields?: Record<string, unknown>) =>
          write(`[fastmcp-proxy] ${name}: ${message}${fields ? ` ${safeJson(fields)}` : ""}\n`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = stderrLogger("silent");

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return "[unserialisable]";
  }
}

/**
 * A small pretty printer for terminals (instead of pino-pretty and its dependencies): each JSON
 * line pino writes becomes one readable line, e.g.
 *
 *   12:04:05.123 INFO  tools/call weather_forecast ← weather  ok 12.3ms  48B→1.2kB  session=3f2a…  principal=alice
 */
import { isatty } from "node:tty";
import type { DestinationStream } from "pino";

export interface PrettyOptions {
  /** Where formatted lines go. Default: process.stderr. */
  destination?: DestinationStream;
  /** ANSI colours. Default: when the destination is a TTY and NO_COLOR is unset. */
  colors?: boolean;
}

const LEVELS: Record<number, [string, string]> = {
  10: ["TRACE", "90"],
  20: ["DEBUG", "36"],
  30: ["INFO ", "32"],
  40: ["WARN ", "33"],
  50: ["ERROR", "31"],
  60: ["FATAL", "35"],
};

const OUTCOME_COLOR: Record<string, string> = { ok: "32", isError: "33", error: "31" };

/** Fields shown in the line itself, not repeated as key=value. */
const SHOWN = new Set([
  "level", "time", "msg", "pid", "hostname", "name", "method", "kind", "component", "backend", "outcome", "code",
  "durationMs", "requestBytes", "responseBytes", "sessionId", "principal", "requestId", "params", "result", "error",
]);

export function prettyStream(options: PrettyOptions = {}): DestinationStream {
  const destination = options.destination ?? process.stderr;
  const colors = options.colors ?? (!process.env.NO_COLOR && isTerminal(destination));
  return {
    write(chunk: string): void {
      let out = "";
      for (const line of chunk.split("\n")) if (line.length > 0) out += `${formatLine(line, colors)}\n`;
      destination.write(out);
    },
  };
}

function isTerminal(destination: DestinationStream): boolean {
  const d = destination as { fd?: unknown; isTTY?: unknown };
  if (d.isTTY === true) return true;
  return typeof d.fd === "number" && isatty(d.fd);
}

/** One pino JSON line as one readable line (a line that is not JSON is returned as it is). */
export function formatLine(line: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== "object") return line;
  const [levelName, levelColor] = LEVELS[Number(entry.level)] ?? [String(entry.level).toUpperCase().padEnd(5), "0"];
  const paint = painter(colors);
  return `${paint("2", clock(entry.time))} ${paint(levelColor, levelName)} ${formatEntry(entry, colors)}`;
}

type Paint = (code: string, text: string) => string;
const colored: Paint = (code, text) => `\x1b[${code}m${text}\x1b[0m`;
const uncolored: Paint = (_code, text) => text;
const painter = (colors: boolean): Paint => (colors ? colored : uncolored);

/**
 * A log entry (a request line's fields, or `msg` and fields) as the readable line formatLine
 * shows after the time and level: for a logger that formats objects and never parses JSON.
 * Built by concatenation: it runs once per request at the CLI's default level.
 */
export function formatEntry(entry: Record<string, unknown>, colors = false): string {
  const paint = painter(colors);
  let out = typeof entry.outcome === "string" && typeof entry.method === "string" ? requestLine(entry, entry.method, entry.outcome, paint) : String(entry.msg ?? "");
  for (const key in entry) {
    if (SHOWN.has(key) || !Object.hasOwn(entry, key)) continue;
    const value = entry[key];
    out += ` ${paint("2", `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)}`;
  }
  if (entry.params !== undefined) out += `\n    ${paint("2", "params:")} ${JSON.stringify(entry.params)}`;
  if (entry.result !== undefined) out += `\n    ${paint("2", "result:")} ${JSON.stringify(entry.result)}`;
  const data = (entry.error as { data?: unknown } | undefined)?.data;
  if (data !== undefined) out += `\n    ${paint("2", "data:")} ${JSON.stringify(data)}`;
  return out;
}

/** `tools/call echo ← backend ok 1.2ms 58B→1.2kB session=3f2a… principal=alice` */
function requestLine(entry: Record<string, unknown>, method: string, outcome: string, paint: Paint): string {
  let out = method;
  if (typeof entry.component === "string") out += ` ${entry.component}`;
  if (typeof entry.backend === "string") out += paint("2", ` ← ${entry.backend}`);
  out += ` ${paint(OUTCOME_COLOR[outcome] ?? "0", outcome === "error" ? `error ${String(entry.code ?? "")}`.trim() : outcome)}`;
  if (typeof entry.durationMs === "number") out += ` ${entry.durationMs}ms`;
  if (typeof entry.requestBytes === "number") {
    out += ` ${paint("2", typeof entry.responseBytes === "number" ? `${bytes(entry.requestBytes)}→${bytes(entry.responseBytes)}` : bytes(entry.requestBytes))}`;
  }
  const error = entry.error as { message?: unknown } | undefined;
  if (error && typeof error.message === "string") out += ` ${paint("31", JSON.stringify(error.message))}`;
  if (typeof entry.sessionId === "string") out += ` ${paint("2", `session=${short(entry.sessionId)}`)}`;
  if (entry.principal !== undefined) out += ` principal=${String(entry.principal)}`;
  return out;
}

function clock(time: unknown): string {
  const date = typeof time === "number" || typeof time === "string" ? new Date(time) : new Date();
  if (Number.isNaN(date.getTime())) return String(time);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}kB`;
  return `${(n / 1024 / 1024).toFixed(1)}MB`;
}

function short(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

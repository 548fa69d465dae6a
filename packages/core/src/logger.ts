/** The proxy's own diagnostics. Written to stderr: on a stdio front, stdout is the protocol. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Writes `[fastmcp-proxy] <level>: <message> <fields as JSON>` lines, scrubbed of credentials
 * (see `scrubCredentials`): backend URLs with a user and password or a `?token=` appear in
 * warnings, and headers in fields.
 */
export function stderrLogger(level: LogLevel = "info", write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (name: Exclude<LogLevel, "silent">) =>
    RANK[name] < RANK[level]
      ? () => {}
      : (message: string, fields?: Record<string, unknown>) =>
          write(`[fastmcp-proxy] ${name}: ${scrubCredentials(String(message))}${fields ? ` ${safeJson(fields)}` : ""}\n`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = stderrLogger("silent");

export const REDACTED = "[REDACTED]";

/** Keys whose values are credentials wherever they appear in fields: `authorization`, `apiKey`, `client_secret`, `x-api-key`... */
const SENSITIVE_KEY = /^(?:proxy-?)?authorization$|^(?:set-?)?cookie$|passw(?:or)?d$|passphrase$|secret$|token$|api-?key$|private-?key$|credentials?$/i;

/** Query parameter names whose values are credentials: `token`, `access_token`, `key`, `api_key`, `secret`, `password`, `sig`... */
const SECRET_PARAM = String.raw`[A-Za-z0-9_.-]*?(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth|credentials?)`;

const PATTERNS: readonly [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // userinfo in URLs: scheme://user:password@host, scheme://token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, `$1${REDACTED}@`],
  // secret query values (and key=value pairs after whitespace): ?token=…, &api_key=…, password=…
  // (the value ends at a delimiter; punctuation right before one, as in `?key=abc: failed`, is left to the sentence)
  [new RegExp(String.raw`((?:^|[?&;\s,"'(])${SECRET_PARAM}=)[^&;\s#"'<>()]+?(?=[.,:]*(?:[&;\s#"'<>()]|$))`, "gi"), `$1${REDACTED}`],
  // bearer tokens: Authorization: Bearer abc… (a token has a digit or symbol, or 8 letters: "the bearer of" stays)
  [/\b(Bearer)(\s+)(?=[A-Za-z]*[0-9\-._~+/=]|[A-Za-z]{8})[A-Za-z0-9\-._~+/]+=*/gi, `$1$2${REDACTED}`],
  // basic credentials: base64 of "user:password"
  [/\b(Basic)(\s+)([A-Za-z0-9+/]{4,}={0,2})/g, (match, scheme, space, value) => (isBasicCredential(value) ? `${scheme}${space}${REDACTED}` : match)],
  // JSON Web Tokens, wherever they appear
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
];

function sensitiveKey(key: string): boolean {
  return key !== "" && SENSITIVE_KEY.test(key) && !/^progress-?token$/i.test(key);
}

function isBasicCredential(value: string): boolean {
  try {
    return /^[^:\s]*:/.test(Buffer.from(value, "base64").toString("utf8"));
  } catch {
    return false;
  }
}

/**
 * Removes credentials from a diagnostic: the user and password of URLs, the values of
 * `token=`, `key=`, `secret=`, `password=` (and `access_token=`, `api_key=`, ...) query
 * parameters, bearer and basic credentials, and JWTs. Each becomes `[REDACTED]`.
 */
export function scrubCredentials(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) {
    pattern.lastIndex = 0;
    out = typeof replacement === "string" ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

/** Fields as JSON, with values under credential keys redacted and credentials scrubbed from strings. */
function safeJson(value: unknown): string {
  try {
    const json = JSON.stringify(value, (key, v: unknown) => (sensitiveKey(key) && v !== null && v !== undefined ? REDACTED : v));
    return json === undefined ? String(json) : scrubCredentials(json);
  } catch {
    return "[unserialisable]";
  }
}

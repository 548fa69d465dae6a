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
 * warnings, and headers in fields. By default to `safeStderr()`.
 */
export function stderrLogger(level: LogLevel = "info", write: (line: string) => void = safeStderr()): Logger {
  const at = (name: Exclude<LogLevel, "silent">) =>
    RANK[name] < RANK[level]
      ? () => {}
      : (message: string, fields?: Record<string, unknown>) =>
          write(`[fastmcp-proxy] ${name}: ${scrubCredentials(String(message))}${fields ? ` ${safeJson(fields)}` : ""}\n`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = stderrLogger("silent", () => {});

const guarded = new WeakMap<NodeJS.WritableStream, (line: string) => void>();

/**
 * A write function for `stream` (process.stderr by default) that never throws and never loops:
 * the stream gets an 'error' listener, so a reader that went away (EPIPE) is not an uncaught
 * exception whose handler logs to the same broken stream, forever; from then on lines are
 * dropped. `onGone` runs once when the stream breaks while stdout is gone too (nobody is left to
 * tell anything: a CLI exits there). One guard per stream: later callers get the first one.
 */
export function safeStderr(
  stream: NodeJS.WritableStream = process.stderr,
  onGone?: () => void,
  stdout: NodeJS.WritableStream = process.stdout,
): (line: string) => void {
  const existing = guarded.get(stream);
  if (existing) return existing;
  let broken = false;
  stream.on("error", () => {
    if (broken) return;
    broken = true;
    if (onGone && gone(stdout)) onGone();
  });
  const write = (line: string) => {
    if (broken || gone(stream)) return;
    try {
      stream.write(line);
    } catch {
      broken = true;
    }
  };
  guarded.set(stream, write);
  return write;
}

function gone(stream: NodeJS.WritableStream): boolean {
  const s = stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean; errored?: unknown };
  return s.destroyed === true || s.writableEnded === true || (s.errored !== undefined && s.errored !== null);
}

export const REDACTED = "[REDACTED]";

/** Keys whose values are credentials wherever they appear (compared lower-case, without `-`, `_` and spaces). */
const SENSITIVE_KEYS = new Set([
  "authorization", "proxyauthorization", "cookie", "setcookie", "password", "passwd", "passphrase", "secret", "clientsecret",
  "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "bearertoken", "sessiontoken", "apitoken", "apikey", "xapikey",
  "privatekey", "credentials", "credential",
]);
/** Keys that end like a secret: `dbPassword`, `github_api_key`, `client-secret`. */
const SENSITIVE_SUFFIXES = ["password", "secret", "apikey", "accesstoken", "refreshtoken", "authtoken", "privatekey", "token"];

/**
 * Whether a key names a credential wherever it appears: `authorization`, `apiKey`, `client_secret`,
 * `x-api-key`, `dbPassword`, a namespaced `example.com/token`. A progress token is not one.
 */
export function isSensitiveKey(key: string): boolean {
  const k = (key.split(/[/.:]/).pop() ?? key).toLowerCase().replace(/[-_\s]/g, "");
  if (k === "" || k === "progresstoken") return false;
  return SENSITIVE_KEYS.has(k) || SENSITIVE_SUFFIXES.some((suffix) => k.endsWith(suffix));
}

/** Query parameter names whose values are credentials: `token`, `access_token`, `key`, `api_key`, `secret`, `password`, `sig`... */
const SECRET_PARAM = String.raw`[A-Za-z0-9_.-]*?(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth|credentials?)`;

const PATTERNS: readonly [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // userinfo in URLs: scheme://user:password@host, scheme://token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, `$1${REDACTED}@`],
  // secret query values (and key=value pairs after whitespace): ?token=…, &api_key=…, password=…
  // (the value ends at a delimiter; punctuation right before one, as in `?key=abc: failed`, is left to the sentence)
  [new RegExp(String.raw`((?:^|[?&;\s,"'(])${SECRET_PARAM}=)[^&;\s#"'<>()]+?(?=[.,:]*(?:[&;\s#"'<>()]|$))`, "gi"), `$1${REDACTED}`],
  // the value after a command-line flag named for a credential: --api-key VALUE, --token VALUE
  [/(?<=\s|^)(--?([A-Za-z][\w.-]*))(\s+)(?!-)[^\s"']+/g, (match, flag, name, space) => (isSensitiveKey(name) ? `${flag}${space}${REDACTED}` : match)],
  // bearer tokens: Authorization: Bearer abc… (a token has a digit or symbol, or 8 letters: "the bearer of" stays)
  [/\b(Bearer)(\s+)(?=[A-Za-z]*[0-9\-._~+/=]|[A-Za-z]{8})[A-Za-z0-9\-._~+/]+=*/gi, `$1$2${REDACTED}`],
  // basic credentials: base64 of "user:password"
  [/\b(Basic)(\s+)([A-Za-z0-9+/]{4,}={0,2})/g, (match, scheme, space, value) => (isBasicCredential(value) ? `${scheme}${space}${REDACTED}` : match)],
  // JSON Web Tokens, wherever they appear
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // token shapes, with no key in sight: GitHub (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), GitLab
  // (glpat-), OpenAI/Anthropic-style (sk-, sk-proj-, sk-ant-), Stripe (sk_live_, rk_test_...), Slack
  // (xoxb-...), npm (npm_), AWS access key ids (AKIA...), Google API keys (AIza...)
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,})/g, REDACTED],
  [/(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|xox[abposr]-[A-Za-z0-9-]{10,})/g, REDACTED],
  [/\b(?:A(?:KIA|SIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})\b/g, REDACTED],
  // private keys in PEM
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
];

/** The values of configured secrets (every `${VAR}` expanded into a header or an env), scrubbed wherever they appear. */
const secretValues = new Set<string>();
let secretPattern: RegExp | undefined;
/** Shorter values are too likely to be ordinary words or numbers to be replaced everywhere. */
const MIN_SECRET_LENGTH = 6;

/**
 * Adds the values of configured secrets to what `scrubCredentials` (so every log line of this
 * process) replaces with `[REDACTED]`, wherever they appear: an environment variable's value
 * expanded into a backend's headers or env can come back in an error message or a tool result.
 * Values shorter than 6 characters are ignored.
 */
export function redactValues(values: Iterable<string>): void {
  let added = false;
  for (const value of values) {
    if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH || secretValues.has(value)) continue;
    secretValues.add(value);
    added = true;
  }
  if (!added) return;
  const alternatives = [...secretValues].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  secretPattern = new RegExp(alternatives.join("|"), "g");
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
 * parameters, the value after a flag named for a credential (`--api-key VALUE`), bearer and basic
 * credentials, JWTs, known token shapes (`ghp_…`, `sk-…`, `xoxb-…`, `AKIA…`, PEM private keys) and
 * the values given to `redactValues`. Each becomes `[REDACTED]`.
 */
export function scrubCredentials(text: string): string {
  let out = secretPattern ? text.replace(secretPattern, REDACTED) : text;
  for (const [pattern, replacement] of PATTERNS) {
    pattern.lastIndex = 0;
    out = typeof replacement === "string" ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

/** Fields as JSON, with values under credential keys redacted and credentials scrubbed from strings. */
function safeJson(value: unknown): string {
  try {
    const json = JSON.stringify(value, (key, v: unknown) => (isSensitiveKey(key) && v !== null && v !== undefined ? REDACTED : v));
    return json === undefined ? String(json) : scrubCredentials(json);
  } catch {
    return "[unserialisable]";
  }
}

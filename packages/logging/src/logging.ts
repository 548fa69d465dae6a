import { knownJsonLength, type Logger as ProxyLogger, type Next, type ProxyContext, type ProxyMethod, type ResultOf } from "@fastmcp-proxy/core";
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger, type LoggerOptions } from "pino";
import { DEFAULT_LIMITS, boundedCopy, boundedString, jsonSize, type Limits } from "./bounded.js";
import { errorCode, errorData, errorMessage, isToolError, type Outcome } from "./outcome.js";
import { prettyStream } from "./pretty.js";
import { Redaction, type RedactOptions, type Scrubber } from "./redact.js";

export type LogFormat = "json" | "pretty";

export interface CreateLoggerOptions {
  /** Lowest level written. Default "info". "silent" writes nothing (and the middleware does no work). */
  level?: LevelWithSilent;
  /** "json": one JSON object a line (default). "pretty": one readable, coloured line a request, for terminals. */
  format?: LogFormat;
  /**
   * Where lines go. Default: stderr, written synchronously (on a stdio front, stdout is the
   * protocol). Any object with `write(line)` works; for async writes pass `pino.destination({ dest: 2, sync: false })`.
   */
  destination?: DestinationStream;
  /** Pretty format only: ANSI colours. Default: when the destination is a TTY and NO_COLOR is unset. */
  colors?: boolean;
  /** Further pino options (name, base, timestamp, ...). `level` above wins. */
  pino?: LoggerOptions;
}

/** A pino logger writing JSON (or pretty lines) to stderr by default. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const target = options.destination ?? pino.destination({ dest: 2, sync: true });
  const stream = options.format === "pretty" ? prettyStream({ destination: target, ...(options.colors === undefined ? {} : { colors: options.colors }) }) : target;
  return pino({ name: "fastmcp-proxy", ...options.pino, level }, stream);
}

/**
 * What the middleware writes its lines through: a pino logger, or any object with pino's level
 * check and level methods (one that formats the entry itself, say, and never makes JSON).
 */
export interface RequestLogger {
  isLevelEnabled(level: Level): boolean;
  debug(entry: Record<string, unknown>, message: string): void;
  info(entry: Record<string, unknown>, message: string): void;
  warn(entry: Record<string, unknown>, message: string): void;
  error(entry: Record<string, unknown>, message: string): void;
  trace(entry: Record<string, unknown>, message: string): void;
  fatal(entry: Record<string, unknown>, message: string): void;
}

export interface LoggingOptions<L extends RequestLogger = Logger> extends CreateLoggerOptions {
  /** Log through this logger (pino's, or a RequestLogger) instead of creating one (then `level`, `format` and `destination` are ignored). */
  logger?: L;
  /** The level of each request's line, by outcome. Default ok: "info", isError: "warn", error: "error". */
  levels?: Partial<Record<Outcome, Level>>;
  /** Log only these methods (e.g. leave out the list requests). Default: every method. */
  methods?: readonly ProxyMethod[];
  /** Include the request's params (bounded and redacted). Default false. */
  params?: boolean;
  /** Include the result (bounded and redacted). Default false. */
  result?: boolean;
  /** Include a thrown error's `data` (bounded and redacted). Default true. */
  errorData?: boolean;
  /** Include the approximate JSON sizes of the params and the result. Default true. */
  sizes?: boolean;
  /** What must never be logged, besides the built-in credential keys and patterns. */
  redact?: RedactOptions;
  /** Bounds on the params, result and error data shown. */
  limits?: Partial<Limits>;
  /** Who is calling. Default: the front's `authInfo.clientId`, when authenticated. */
  principal?: (ctx: ProxyContext) => string | undefined;
}

/** The logging middleware, with the logger it writes to (pino's unless another was given). */
export type LoggingMiddleware<L extends RequestLogger = Logger> = (<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>>) & {
  readonly logger: L;
};

const DEFAULT_LEVELS: Record<Outcome, Level> = { ok: "info", isError: "warn", error: "error" };

/**
 * One structured line per forwarded request: method, component, backend, session, principal,
 * duration, outcome (ok / isError / error code) and sizes. Errors are logged, then rethrown
 * unchanged. Nothing is done when the logger's level excludes the request's line.
 */
export function logging<L extends RequestLogger = Logger>(options: LoggingOptions<L> = {}): LoggingMiddleware<L> {
  const logger = options.logger ?? (createLogger(options) as unknown as L);
  const levels: Record<Outcome, Level> = { ...DEFAULT_LEVELS, ...options.levels };
  const rules = new Redaction(options.redact);
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const only = options.methods ? new Set<string>(options.methods) : undefined;
  // The subject an authenticator named (the auth package's principal), else the OAuth client id.
  const principalOf =
    options.principal ??
    ((ctx: ProxyContext) => {
      const subject = (ctx.authInfo?.extra?.principal as { subject?: unknown } | undefined)?.subject;
      return typeof subject === "string" ? subject : ctx.authInfo?.clientId;
    });
  const withParams = options.params === true;
  const withResult = options.result === true;
  const withData = options.errorData !== false;
  const withSizes = options.sizes !== false;

  function write(level: Level, ctx: ProxyContext, params: unknown, started: number, outcome: Outcome, result: unknown, error: unknown): void {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    try {
      const component = ctx.component;
      const shown = withParams || (withResult && outcome !== "error") || outcome === "error";
      // The common line (ok, no payloads) has nothing to learn secrets from: a scrubber only when asked for.
      let made: Scrubber | undefined;
      const scrubber = () => (made ??= rules.scrubber());
      if (shown) {
        // Learn the entry's secrets first, so a copy of one anywhere else is scrubbed too.
        const auth = ctx.authInfo;
        if (auth) {
          scrubber().addSecret(auth.token, "authorization");
          if (auth.extra) scrubber().collect(auth.extra, ["authInfo", "extra"]);
        }
        scrubber().collect(params, ["params"]);
        if (withResult && result !== undefined) scrubber().collect(result, ["result"]);
        if (outcome === "error" && withData) scrubber().collect(errorData(error), ["error"]);
      }
      const entry: Record<string, unknown> = { method: ctx.method };
      if (component) {
        entry.kind = component.kind;
        entry.component = component.name;
        entry.backend = component.backend.name;
      }
      if (ctx.sessionId !== undefined) entry.sessionId = ctx.sessionId;
      entry.requestId = ctx.requestId;
      const principal = principalOf(ctx);
      if (principal !== undefined) entry.principal = boundedString(String(principal), scrubber(), 256);
      entry.durationMs = durationMs;
      entry.outcome = outcome;
      // Set by @fastmcp-proxy/caching (hit, miss, coalesced, bypass:<reason>); read without importing it.
      const cache = ctx.state.cache;
      if (typeof cache === "string") entry.cache = cache.slice(0, 64);
      const code = outcome === "error" ? errorCode(error) : undefined;
      if (code !== undefined) entry.code = code;
      if (withSizes) {
        entry.requestBytes = jsonSize(params);
        // A large backend result is held as its bytes: its size is known without parsing it.
        if (outcome !== "error") entry.responseBytes = knownJsonLength(result) ?? jsonSize(result);
      }
      if (withParams) entry.params = boundedCopy(params, ["params"], scrubber(), limits);
      if (withResult && outcome !== "error") entry.result = boundedCopy(result, ["result"], scrubber(), limits);
      if (outcome === "error") {
        const failure: Record<string, unknown> = { code, message: boundedString(errorMessage(error), scrubber(), limits.maxStringLength) };
        const data = errorData(error);
        if (withData && data !== undefined) failure.data = boundedCopy(data, ["error"], scrubber(), limits);
        entry.error = failure;
      }
      const what = component ? `${ctx.method} ${component.name}` : ctx.method;
      logger[level](entry, `${what} ${outcome === "error" ? `error ${code}` : outcome} ${durationMs}ms`);
    } catch (failure) {
      // Logging never breaks a request; say that the line was lost, without its content.
      try {
        logger.error({ method: ctx.method, durationMs, outcome, logFailure: failure instanceof Error ? failure.name : typeof failure }, "request log line could not be written");
      } catch {
        // the destination itself is broken: nothing more to do
      }
    }
  }

  const middleware = function logging<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    if (only !== undefined && !only.has(ctx.method)) return next();
    const okOn = logger.isLevelEnabled(levels.ok);
    const isErrorOn = logger.isLevelEnabled(levels.isError);
    const errorOn = logger.isLevelEnabled(levels.error);
    // The hot path when logging is off: no clock, no copy, not even a closure.
    if (!okOn && !isErrorOn && !errorOn) return next();
    const params: unknown = ctx.params;
    const started = performance.now();
    let pending: Promise<ResultOf<M>>;
    try {
      pending = next();
    } catch (error) {
      // an inner step that throws synchronously instead of rejecting
      pending = Promise.reject(error);
    }
    return pending.then(
      (result) => {
        const outcome: Outcome = isToolError(result) ? "isError" : "ok";
        if (outcome === "ok" ? okOn : isErrorOn) write(levels[outcome], ctx as ProxyContext, params, started, outcome, result, undefined);
        return result;
      },
      (error: unknown) => {
        if (errorOn) write(levels.error, ctx as ProxyContext, params, started, "error", undefined, error);
        throw error;
      },
    );
  };
  return Object.assign(middleware, { logger });
}

/**
 * The proxy's own diagnostics (`Logger` of @fastmcp-proxy/core) written through a pino logger,
 * so they share the request lines' destination and format. Messages are scrubbed of
 * credentials: `FastMCPProxy.asProxy(spec, { logger: proxyLogger(log) })`.
 */
export function proxyLogger(logger: Logger, redact?: RedactOptions): ProxyLogger {
  const rules = new Redaction(redact);
  const at = (level: "debug" | "info" | "warn" | "error") =>
    function log(message: string, fields?: Record<string, unknown>): void {
      if (!logger.isLevelEnabled(level)) return;
      try {
        const scrubber = rules.scrubber();
        if (fields) scrubber.collect(fields, ["fields"]);
        const copied = fields ? boundedCopy(fields, ["fields"], scrubber) : undefined;
        const text = boundedString(String(message), scrubber, 4096);
        if (copied !== null && typeof copied === "object" && !Array.isArray(copied)) logger[level](copied, text);
        else logger[level](text);
      } catch {
        // never let a diagnostic break the proxy
      }
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

import { randomBytes } from "node:crypto";
import {
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";

/**
 * A tracer that sends its spans to an OpenTelemetry collector as OTLP over HTTP, in JSON: enough
 * for `tracing()`'s spans without an OpenTelemetry SDK. Spans are batched and posted in the
 * background; a failed export is reported to `onError` and dropped, never retried into memory.
 */
export interface OtlpOptions {
  /** The traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  headers?: Record<string, string>;
  /** The `service.name` resource attribute. Default "fastmcp-proxy". */
  serviceName?: string;
  resourceAttributes?: Record<string, string>;
  /** How long a span may wait before it is sent, ms. Default 5000. */
  flushIntervalMs?: number;
  /** Spans per request; a full batch is sent at once. Default 512. */
  maxBatch?: number;
  /** Spans waiting at most; more are dropped (and counted in the next error). Default 2048. */
  maxQueue?: number;
  /** One export's timeout, ms. Default 10000. */
  timeoutMs?: number;
  onError?: (error: Error) => void;
}

export interface OtlpTracer extends Tracer {
  /** Sends what is waiting. */
  flush(): Promise<void>;
  /** Sends what is waiting and stops the timer; later spans are dropped. */
  shutdown(): Promise<void>;
}

const SCOPE = { name: "@fastmcp-proxy/logging" };

/** Reads the standard OTEL_* variables (traces-specific ones first). Throws, naming the variable, on one it cannot honour. */
export function otlpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpOptions {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol !== undefined && protocol !== "http/json") {
    throw new TypeError(`OTEL_EXPORTER_OTLP_PROTOCOL is "${protocol}": this exporter speaks only OTLP over HTTP in JSON; set it to http/json (or unset it)`);
  }
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318";
  const endpoint = signal ?? `${base.replace(/\/+$/, "")}/v1/traces`;
  if (!/^https?:\/\//i.test(endpoint) || !URL.canParse(endpoint)) {
    throw new TypeError(`${signal ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT"} must be an http(s) URL, got "${signal ?? base}"`);
  }
  const timeout = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT;
  return {
    endpoint,
    headers: pairs("OTEL_EXPORTER_OTLP_HEADERS", env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    resourceAttributes: pairs("OTEL_RESOURCE_ATTRIBUTES", env.OTEL_RESOURCE_ATTRIBUTES),
    ...(env.OTEL_SERVICE_NAME && { serviceName: env.OTEL_SERVICE_NAME }),
    ...(timeout && /^\d+$/.test(timeout) && { timeoutMs: Number(timeout) }),
  };
}

/** `key=value,key2=value2`, values percent-decoded, as the OTEL_* variables write them. */
function pairs(name: string, ...lists: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of lists) {
    for (const item of list?.split(",") ?? []) {
      if (item.trim() === "") continue;
      const equals = item.indexOf("=");
      if (equals < 1) throw new TypeError(`${name}: expected key=value pairs separated by commas, got "${item.trim()}"`);
      out[decodeURIComponent(item.slice(0, equals).trim())] = decodeURIComponent(item.slice(equals + 1).trim());
    }
  }
  return out;
}

export function otlpTracer(options: OtlpOptions): OtlpTracer {
  const maxBatch = options.maxBatch ?? 512;
  const maxQueue = options.maxQueue ?? 2048;
  const resource = { attributes: keyValues({ "service.name": options.serviceName ?? "fastmcp-proxy", ...options.resourceAttributes }) };
  let queue: object[] = [];
  let dropped = 0;
  let stopped = false;
  const sending = new Set<Promise<void>>();
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 5000).unref();

  function enqueue(span: object): void {
    if (stopped || queue.length >= maxQueue) return void (dropped += 1);
    queue.push(span);
    if (queue.length >= maxBatch) void flush();
  }

  function flush(): Promise<void> {
    if (queue.length > 0) {
      const spans = queue;
      queue = [];
      const sent = send(spans).finally(() => sending.delete(sent));
      sending.add(sent);
    }
    return Promise.all(sending).then(() => {});
  }

  async function send(spans: object[]): Promise<void> {
    const body = JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: SCOPE, spans }] }] });
    try {
      const response = await fetch(options.endpoint, {
        method: "POST",
        headers: { ...options.headers, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => {});
      if (!response.ok) throw new Error(`the collector answered ${response.status}`);
    } catch (error) {
      const lost = spans.length + dropped;
      dropped = 0;
      options.onError?.(new Error(`OTLP export to ${options.endpoint} failed (${lost} spans lost): ${(error as Error).message}`));
    }
  }

  function startSpan(name: string, spanOptions: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = trace.getSpanContext(ctx);
    const spanContext: SpanContext = { traceId: parent?.traceId ?? randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), traceFlags: 1 };
    return recordingSpan(name, spanContext, parent?.spanId, spanOptions, enqueue);
  }

  /** startActiveSpan(name, [options, [context,]] fn): fn runs with the span active. */
  function startActiveSpan(name: string, ...rest: unknown[]): unknown {
    const fn = rest.pop() as (span: Span) => unknown;
    const [spanOptions, ctx = context.active()] = rest as [SpanOptions | undefined, Context | undefined];
    const span = startSpan(name, spanOptions, ctx);
    return context.with(trace.setSpan(ctx, span), fn, undefined, span);
  }

  return {
    startSpan,
    startActiveSpan: startActiveSpan as Tracer["startActiveSpan"],
    flush,
    async shutdown() {
      clearInterval(timer);
      await flush();
      stopped = true;
    },
  };
}

/**
 * W3C Trace Context (`traceparent`) in and out of a carrier such as `params._meta`, so spans continue
 * the client's trace: `tracing({ tracer, propagator: traceContextPropagator })`.
 */
export const traceContextPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (span) setter.set(carrier, "traceparent", `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`);
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, "traceparent");
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(Array.isArray(value) ? value[0] : (value ?? "")));
    if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ctx;
    return trace.setSpanContext(ctx, { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) & 1, isRemote: true });
  },
  fields: () => ["traceparent"],
};

/** A span that records itself and, once ended, hands its OTLP JSON form to `done`. */
function recordingSpan(name: string, spanContext: SpanContext, parentSpanId: string | undefined, options: SpanOptions, done: (span: object) => void): Span {
  const start = nanos();
  const attributes: Attributes = { ...options.attributes };
  const events: object[] = [];
  let status: SpanStatus = { code: SpanStatusCode.UNSET };
  let ended = false;
  const span: Span = {
    spanContext: () => spanContext,
    setAttribute: (key, value) => ((attributes[key] = value), span),
    setAttributes: (more) => (Object.assign(attributes, more), span),
    addEvent: (eventName, more) => (events.push({ name: eventName, timeUnixNano: nanos(), attributes: keyValues(typeof more === "object" && more !== null && !Array.isArray(more) && !(more instanceof Date) ? (more as Attributes) : {}) }), span),
    addLink: () => span,
    addLinks: () => span,
    setStatus: (next) => ((status = next), span),
    updateName: (next) => ((name = next), span),
    isRecording: () => !ended,
    recordException: (exception) => void span.addEvent("exception", { "exception.message": typeof exception === "string" ? exception : (exception.message ?? "") }),
    end() {
      if (ended) return;
      ended = true;
      done({
        traceId: spanContext.traceId,
        spanId: spanContext.spanId,
        ...(parentSpanId && { parentSpanId }),
        name,
        // OTLP counts kinds from 1 (INTERNAL); the API from 0.
        kind: (options.kind ?? 0) + 1,
        startTimeUnixNano: start,
        endTimeUnixNano: nanos(),
        attributes: keyValues(attributes),
        ...(events.length > 0 && { events }),
        status: { code: status.code, ...(status.message && { message: status.message }) },
      });
    },
  };
  return span;
}

/** Wall-clock time in nanoseconds, as OTLP JSON writes it (a decimal string). */
function nanos(): string {
  return (BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n).toString();
}

function keyValues(attributes: Attributes): object[] {
  return Object.entries(attributes).flatMap(([key, value]) => (value === undefined ? [] : [{ key, value: anyValue(value) }]));
}

function anyValue(value: AttributeValue): object {
  if (Array.isArray(value)) return { arrayValue: { values: value.filter((v) => v !== null && v !== undefined).map((v) => anyValue(v as AttributeValue)) } };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: String(value) };
}

export { logging, createLogger, proxyLogger, type LoggingOptions, type LoggingMiddleware, type RequestLogger, type CreateLoggerOptions, type LogFormat } from "./logging.js";
export { metrics, metricsHandler, routes, DEFAULT_BUCKETS, type MetricsOptions, type MetricsMiddleware, type MetricsHandlerOptions, type RouteHandler } from "./metrics.js";
/** prom-client's registry class, re-exported so a separate registry needs no direct dependency (and is of the same prom-client). */
export { Registry } from "prom-client";
export {
  healthHandler,
  readiness,
  type HealthOptions,
  type ReadinessOptions,
  type ReadinessReport,
  type ReadinessCheck,
  type ReadinessTarget,
  type BackendHealth,
} from "./health.js";
export { tracing, type TracingOptions } from "./tracing.js";
export { prettyStream, formatLine, formatEntry, type PrettyOptions } from "./pretty.js";
export { Redaction, Scrubber, REDACTED, type RedactOptions } from "./redact.js";
export { boundedCopy, boundedString, jsonSize, DEFAULT_LIMITS, type Limits } from "./bounded.js";
export type { Outcome, RequestLabels } from "./outcome.js";
export { otlpTracer, otlpOptionsFromEnv, traceContextPropagator, type OtlpOptions, type OtlpTracer } from "./otlp.js";

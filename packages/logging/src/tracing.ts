import type { Next, ProxyContext, ProxyMethod, ResultOf } from "@fastmcp-proxy/core";
import { SpanKind, SpanStatusCode, context, defaultTextMapGetter, propagation, trace, type Attributes, type TextMapPropagator, type Tracer } from "@opentelemetry/api";
import { errorCode, errorMessage, isToolError } from "./outcome.js";
import { Redaction, type RedactOptions } from "./redact.js";

export interface TracingOptions {
  /** The tracer to use. Default: `trace.getTracer("@fastmcp-proxy/logging")` from the global provider (a no-op until an SDK registers one). */
  tracer?: Tracer;
  /** Continue the client's trace from `traceparent`/`tracestate` in `params._meta` (the MCP convention). Default true. */
  propagate?: boolean;
  /** How `params._meta` is read: default the global propagator (a no-op until an SDK registers one); e.g. traceContextPropagator. */
  propagator?: TextMapPropagator;
  /** Redaction applied to error messages put on spans. */
  redact?: RedactOptions;
}

/** Where OpenTelemetry's MCP conventions put the target of a request in the span name. */
const TARGET_ATTRIBUTE: Partial<Record<ProxyMethod, string>> = {
  "tools/call": "gen_ai.tool.name",
  "prompts/get": "gen_ai.prompt.name",
};

/**
 * A SERVER span per forwarded request, named `{method} {tool or prompt}` with the attributes of
 * the OpenTelemetry MCP conventions (`mcp.method.name`, `mcp.session.id`, `jsonrpc.request.id`,
 * `gen_ai.tool.name`, `mcp.resource.uri`, `error.type`) plus the backend and component. Without
 * an OpenTelemetry SDK installed and registered, spans are no-ops.
 */
export function tracing(options: TracingOptions = {}): <M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>) => Promise<ResultOf<M>> {
  const tracer = options.tracer ?? trace.getTracer("@fastmcp-proxy/logging");
  const propagate = options.propagate !== false;
  const propagator = options.propagator ?? propagation;
  const rules = new Redaction(options.redact);

  return function tracing<M extends ProxyMethod>(ctx: ProxyContext<M>, next: Next<M>): Promise<ResultOf<M>> {
    const component = ctx.component;
    const targetAttribute = TARGET_ATTRIBUTE[ctx.method];
    const name = targetAttribute && component ? `${ctx.method} ${component.name}` : ctx.method;
    const attributes: Attributes = { "mcp.method.name": ctx.method, "jsonrpc.request.id": String(ctx.requestId) };
    if (ctx.sessionId !== undefined) attributes["mcp.session.id"] = ctx.sessionId;
    if (ctx.method === "tools/call") attributes["gen_ai.operation.name"] = "execute_tool";
    if (component) {
      if (targetAttribute) attributes[targetAttribute] = component.name;
      attributes["fastmcp_proxy.backend"] = component.backend.name;
      attributes["fastmcp_proxy.component"] = component.name;
    }
    const uri = (ctx.params as { uri?: unknown } | undefined)?.uri;
    if (typeof uri === "string") attributes["mcp.resource.uri"] = rules.scrubPatterns(uri);
    const meta = (ctx.params as { _meta?: unknown } | undefined)?._meta;
    const parent = propagate && meta !== null && typeof meta === "object" ? propagator.extract(context.active(), meta, defaultTextMapGetter) : context.active();

    return tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        const result = await next();
        if (isToolError(result)) {
          span.setAttribute("error.type", "tool_error");
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return result;
      } catch (error) {
        const code = String(errorCode(error));
        span.setAttribute("error.type", code);
        span.setAttribute("rpc.response.status_code", code);
        // The message may quote an argument or the caller's token: scrub what the request carried.
        const scrubber = rules.scrubber();
        scrubber.addSecret(ctx.authInfo?.token, "authorization");
        scrubber.collect(ctx.params, ["params"]);
        span.setStatus({ code: SpanStatusCode.ERROR, message: scrubber.scrub(errorMessage(error).slice(0, 500)) });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}

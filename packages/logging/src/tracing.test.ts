import { FastMCPProxy } from "@fastmcp-proxy/core";
import {
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type SpanStatus,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { createFixtureServer } from "../../../test/fixtures/fixture-server.mjs";
import { connectClient, raw, rejection } from "../../../test/helpers.js";
import { tracing } from "./tracing.js";

interface Recorded {
  name: string;
  kind: number | undefined;
  attributes: Attributes;
  status: SpanStatus | undefined;
  parent: { traceId: string; spanId: string } | undefined;
  ended: boolean;
}

/** The least of an OpenTelemetry SDK: a tracer provider that records spans, and a W3C traceparent propagator. */
function recordingSdk() {
  const spans: Recorded[] = [];
  const tracer: Tracer = {
    startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
      const parent = trace.getSpanContext(ctx);
      const record: Recorded = { name, kind: options.kind, attributes: { ...options.attributes }, status: undefined, parent: parent && { traceId: parent.traceId, spanId: parent.spanId }, ended: false };
      spans.push(record);
      const span = {
        spanContext: () => ({ traceId: parent?.traceId ?? "1".repeat(32), spanId: "2".repeat(16), traceFlags: 1 }),
        setAttribute: (key: string, value: unknown) => ((record.attributes[key] = value as never), span),
        setAttributes: (attributes: Attributes) => (Object.assign(record.attributes, attributes), span),
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: (status: SpanStatus) => ((record.status = status), span),
        updateName: (n: string) => ((record.name = n), span),
        end: () => void (record.ended = true),
        isRecording: () => true,
        recordException: () => {},
      };
      return span as unknown as Span;
    },
    startActiveSpan(name: string, ...rest: unknown[]) {
      const fn = rest.pop() as (span: Span) => unknown;
      const [options, ctx = context.active()] = rest as [SpanOptions | undefined, Context | undefined];
      const span = tracer.startSpan(name, options, ctx);
      return context.with(trace.setSpan(ctx, span), fn, undefined, span);
    },
  } as Tracer;
  const propagator: TextMapPropagator = {
    inject: () => {},
    extract(ctx, carrier: any) {
      const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(carrier?.traceparent ?? ""));
      return match ? trace.setSpanContext(ctx, { traceId: match[1]!, spanId: match[2]!, traceFlags: 1, isRemote: true }) : ctx;
    },
    fields: () => ["traceparent"],
  };
  return { spans, provider: { getTracer: () => tracer }, propagator };
}

describe("tracing", () => {
  // Runs first: no SDK is registered in this process yet.
  it("is a no-op without an OpenTelemetry SDK: results and errors pass unchanged", async () => {
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).use(tracing());
    const client = await connectClient(proxy);
    expect((await raw(client, "tools/call", { name: "echo", arguments: { text: "x" } })).content[0].text).toBe("x");
    expect((await rejection(raw(client, "tools/call", { name: "explode", arguments: {} }))).code).toBe(-32050);
    expect(trace.getSpan(context.active())).toBeUndefined();
    await proxy.close();
  });

  it("opens a SERVER span per request with the MCP attributes, continuing the client's trace from _meta", async () => {
    const sdk = recordingSdk();
    // the middleware is made before the SDK registers, as an app's would be: its tracer follows the global provider
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).use(tracing());
    expect(trace.setGlobalTracerProvider(sdk.provider as never)).toBe(true);
    expect(propagation.setGlobalPropagator(sdk.propagator)).toBe(true);
    const client = await connectClient(proxy);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await raw(client, "tools/call", { name: "echo", arguments: { text: "x" }, _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await raw(client, "tools/call", { name: "fail", arguments: {} });
    await rejection(raw(client, "tools/call", { name: "explode", arguments: { apiKey: "sk-abcdef" } }));
    await raw(client, "resources/read", { uri: "fixture://static/hello" });
    await raw(client, "tools/list");

    const [echo, fail, explode, read, list] = sdk.spans;
    expect(sdk.spans.every((s) => s.ended && s.kind === 1 /* SERVER */)).toBe(true);
    expect(echo).toMatchObject({
      name: "tools/call echo",
      parent: { traceId, spanId: "00f067aa0ba902b7" },
      attributes: {
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": "echo",
        "gen_ai.operation.name": "execute_tool",
        "fastmcp_proxy.backend": "backend",
        "fastmcp_proxy.component": "echo",
        "jsonrpc.request.id": expect.any(String),
      },
      status: undefined,
    });
    expect(fail).toMatchObject({ name: "tools/call fail", parent: undefined, attributes: { "error.type": "tool_error" }, status: { code: SpanStatusCode.ERROR } });
    expect(explode).toMatchObject({
      attributes: { "error.type": "-32050", "rpc.response.status_code": "-32050" },
      status: { code: SpanStatusCode.ERROR, message: "exploded on purpose" },
    });
    expect(read).toMatchObject({ name: "resources/read", attributes: { "mcp.resource.uri": "fixture://static/hello", "fastmcp_proxy.component": "fixture://static/hello" } });
    expect(list).toMatchObject({ name: "tools/list", attributes: { "mcp.method.name": "tools/list" } });
    await proxy.close();
  });
});

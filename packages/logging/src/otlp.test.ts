import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import { createFixtureServer } from "../../../test/fixtures/fixture-server.mjs";
import { connectClient, raw } from "../../../test/helpers.js";
import { otlpOptionsFromEnv, otlpTracer, traceContextPropagator } from "./otlp.js";
import { tracing } from "./tracing.js";

/** A collector stand-in on 127.0.0.1: records each POST (path, headers, JSON body); answers `status`. */
async function receiver() {
  const posts: { path: string; headers: IncomingMessage["headers"]; body: any }[] = [];
  let status = 200;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    posts.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
    res.writeHead(status, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    posts,
    answer: (code: number) => (status = code),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let collector: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => (collector = await receiver()));
afterAll(() => collector.close());

const spansOf = (body: any) => body.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans));
const attribute = (span: any, key: string) => span.attributes.find((a: any) => a.key === key)?.value;

describe("otlpTracer", () => {
  it("posts tracing()'s spans as OTLP JSON, with the resource, headers and the client's trace", async () => {
    collector.posts.length = 0;
    const tracer = otlpTracer({ ...otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.base, OTEL_EXPORTER_OTLP_HEADERS: "x-team=blue%20sky", OTEL_SERVICE_NAME: "gateway", OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test" }) });
    const proxy = FastMCPProxy.asProxy(createFixtureServer()).use(tracing({ tracer, propagator: traceContextPropagator }));
    try {
      const client = await connectClient(proxy);
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      await raw(client, "tools/call", { name: "echo", arguments: { text: "hi" }, _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      await raw(client, "tools/call", { name: "fail", arguments: {} });
      await tracer.shutdown();

      expect(collector.posts).toHaveLength(1);
      const [post] = collector.posts;
      expect(post!.path).toBe("/v1/traces");
      expect(post!.headers).toMatchObject({ "content-type": "application/json", "x-team": "blue sky" });
      expect(post!.body.resourceSpans[0].resource.attributes).toEqual([
        { key: "service.name", value: { stringValue: "gateway" } },
        { key: "deployment.environment", value: { stringValue: "test" } },
      ]);
      const [echo, fail] = spansOf(post!.body);
      expect(echo).toMatchObject({ name: "tools/call echo", kind: 2, traceId, parentSpanId: "00f067aa0ba902b7", status: { code: 0 } });
      expect(echo.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(BigInt(echo.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(echo.startTimeUnixNano));
      expect(attribute(echo, "mcp.method.name")).toEqual({ stringValue: "tools/call" });
      expect(attribute(echo, "gen_ai.tool.name")).toEqual({ stringValue: "echo" });
      expect(fail).toMatchObject({ name: "tools/call fail", status: { code: 2 } });
      expect(fail.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(fail.traceId).not.toBe(traceId);
      expect(attribute(fail, "error.type")).toEqual({ stringValue: "tool_error" });
    } finally {
      await proxy.close();
    }
  });

  it("reports a failed export, and what it lost, without throwing", async () => {
    collector.answer(503);
    const errors: string[] = [];
    const tracer = otlpTracer({ endpoint: `${collector.base}/v1/traces`, onError: (error) => errors.push(error.message) });
    tracer.startSpan("lost").end();
    await tracer.shutdown();
    collector.answer(200);
    expect(errors).toEqual([`OTLP export to ${collector.base}/v1/traces failed (1 spans lost): the collector answered 503`]);
  });
});

describe("otlpOptionsFromEnv", () => {
  it("takes the traces endpoint as is, or appends /v1/traces to the base (default localhost:4318)", () => {
    expect(otlpOptionsFromEnv({}).endpoint).toBe("http://localhost:4318/v1/traces");
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com/" }).endpoint).toBe("https://otel.example.com/v1/traces");
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otel.example.com/custom" }).endpoint).toBe("https://otel.example.com/custom");
  });

  it("refuses what it cannot honour, naming the variable", () => {
    expect(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL is "grpc": this exporter speaks only OTLP over HTTP in JSON; set it to http/json (or unset it)');
    expect(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got "collector:4318"');
    expect(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: "novalue" })).toThrow('OTEL_EXPORTER_OTLP_HEADERS: expected key=value pairs separated by commas, got "novalue"');
  });
});

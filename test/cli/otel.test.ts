// --otel: the built CLI sends a span per request to an OTLP/HTTP collector (a node:http stand-in on
// 127.0.0.1) named by the standard OTEL_* variables, continuing the client's trace.
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_STDIO, startCli, stopAll } from "./process.js";
import { refused } from "./refused.js";

let server: Server;
let endpoint: string;
const bodies: any[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === "/v1/traces") bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(stopAll);

describe("--otel", () => {
  it("exports a span per request, sent by the time the proxy has stopped", async () => {
    const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "cli-otel-test" };
    const cli = startCli(["--otel", "--", ...FIXTURE_STDIO], { env });
    const client = await cli.connectStdio();
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await client.callTool({ name: "echo", arguments: { text: "traced" }, _meta: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    cli.child.stdin.end();
    expect((await cli.exited()).code).toBe(0);

    const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
    expect(spans.find((s: any) => s.name === "tools/call echo")).toMatchObject({ traceId, parentSpanId: "b7ad6b7169203331", kind: 2 });
    expect(bodies[0].resourceSpans[0].resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "cli-otel-test" } });
  });

  it("refuses an OTLP protocol it does not speak, naming the variable and the fix", async () => {
    const cli = startCli(["--otel", "--", ...FIXTURE_STDIO], { env: { ...process.env, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" } });
    cli.child.stdin.end();
    expect((await cli.exited()).code).toBe(2);
    expect(cli.stderr()).toContain('--otel: OTEL_EXPORTER_OTLP_PROTOCOL is "grpc": this exporter speaks only OTLP over HTTP in JSON; set it to http/json (or unset it)');
  });

  it("takes no value", () => {
    expect(refused("--otel=yes", "--demo")).toBe("--otel takes no value");
  });
});

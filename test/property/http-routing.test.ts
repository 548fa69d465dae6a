// Properties of id handling and session routing on the streamable HTTP transport (issue 12, B1,
// B3, C13), with fast-check over real HTTP on 127.0.0.1: whatever ids clients pick (numbers and
// strings that look alike, reused across sessions, repeated within one), every POST gets exactly
// one answer, on its own connection, with its own id and payload; a repeated id still in flight is
// refused, never cross-delivered; nothing hangs.
import { randomUUID } from "node:crypto";
import { createServer, request, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamableHttpTransport } from "../../packages/core/src/serve/streamable-http.js";

let http: HttpServer;
let url: string;
const servers: Server[] = [];

beforeAll(async () => {
  const transports = new Map<string, StreamableHttpTransport>();
  http = createServer(async (req, res) => {
    const id = req.headers["mcp-session-id"] as string | undefined;
    let transport = id === undefined ? undefined : transports.get(id);
    if (!transport) {
      const created = new StreamableHttpTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => void transports.set(sid, created) });
      const server = new Server({ name: "echo", version: "1" }, { capabilities: { tools: {} } });
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        const { text, delay } = request.params.arguments as { text: string; delay: number };
        await new Promise((resolve) => setTimeout(resolve, delay));
        return { content: [{ type: "text", text }] };
      });
      servers.push(server);
      await server.connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, body: text ? JSON.parse(text) : undefined }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function openSession(): Promise<Record<string, string>> {
  const init = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "p", version: "1" } } });
  const headers = { "mcp-session-id": init.headers["mcp-session-id"]!, "mcp-protocol-version": "2025-06-18" };
  await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  return headers;
}

// Ids that collide in interesting ways: 1 and "1", 0, negatives, unicode, long strings.
const id = fc.oneof(fc.constantFrom<string | number>(1, "1", 0, "0", -1, "", "é", "🙂", 2 ** 53 - 1), fc.integer({ min: -5, max: 5 }), fc.string({ maxLength: 3 }));

describe("HTTP session routing", () => {
  it("every POST gets exactly its own answer; an id in flight twice in a session is refused, never cross-delivered", async () => {
    const sessions = [await openSession(), await openSession()];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ session: fc.integer({ min: 0, max: 1 }), id, delay: fc.integer({ min: 0, max: 30 }) }), { minLength: 1, maxLength: 12 }),
        async (calls) => {
          const sent = calls.map((c, i) => ({ ...c, text: `call ${i}` }));
          const answers = await Promise.all(
            sent.map((c, i) =>
              // sent in order, a few ms apart, so that "in flight" is well defined
              new Promise((resolve) => setTimeout(resolve, i)).then(() =>
                post({ jsonrpc: "2.0", id: c.id, method: "tools/call", params: { name: "echo", arguments: { text: c.text, delay: c.delay + 40 } } }, sessions[c.session]),
              ),
            ),
          );
          answers.forEach((answer, i) => {
            const c = sent[i]!;
            if (answer.status === 200) {
              expect(answer.body.id).toStrictEqual(c.id); // same value, same type
              expect(answer.body.result.content[0].text).toBe(c.text); // its own payload
            } else {
              expect(answer.status).toBe(400);
              expect(answer.body.error.code).toBe(-32600);
              // refused only because an earlier call of that session with that id was still in flight
              expect(sent.slice(0, i).some((earlier) => earlier.session === c.session && earlier.id === c.id)).toBe(true);
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { readBody, readResponseText, refuse } from "./body.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server that reads each body with `readBody(req, 64)` and answers what it read, or the refusal. */
async function front(): Promise<number> {
  server = createServer(async (req, res) => {
    const read = await readBody(req, 64);
    if (read.failure) return refuse(res, read.failure.status, read.failure.reply, read.failure.close);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ read: read.value }));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function post(port: number, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", reject).end(body);
  });
}

describe("readBody", () => {
  it("reads a JSON body within its limit", async () => {
    const port = await front();
    expect(await post(port, Buffer.from('{"a":"é"}'))).toEqual({ status: 200, body: { read: { a: "é" } } });
  });

  it("refuses a compressed body with 415, saying the encoding is unsupported (not as invalid UTF-8)", async () => {
    const port = await front();
    const { status, body } = await post(port, gzipSync('{"jsonrpc":"2.0","id":1,"method":"ping"}'), { "content-encoding": "gzip" });
    expect(status).toBe(415);
    expect(body.error).toEqual({ code: -32600, message: 'Unsupported Media Type: Content-Encoding "gzip" is not supported; send the request body uncompressed' });
    expect((await post(port, Buffer.from("{}"), { "content-encoding": "identity" })).status).toBe(200);
  });

  it("refuses an oversize body with 413 and invalid UTF-8 with -32700", async () => {
    const port = await front();
    expect(await post(port, Buffer.from(`"${"x".repeat(100)}"`))).toMatchObject({ status: 413, body: { error: { code: -32600 } } });
    expect(await post(port, Buffer.from([0x22, 0xff, 0x22]))).toMatchObject({ status: 400, body: { error: { code: -32700, message: "Parse error: invalid UTF-8" } } });
  });
});

describe("readResponseText", () => {
  it("reads an answer within its limit, and rejects one over it", async () => {
    server = createServer((req, res) => res.end(req.url === "/big" ? "x".repeat(100) : "small"));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const get = (path: string) => new Promise<string>((resolve, reject) => request({ host: "127.0.0.1", port, path }, (res) => readResponseText(res, 64).then(resolve, reject)).on("error", reject).end());
    expect(await get("/small")).toBe("small");
    await expect(get("/big")).rejects.toThrow("an HTTP answer over 64 bytes");
  });
});

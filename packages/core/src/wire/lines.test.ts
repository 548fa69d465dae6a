import { PassThrough } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { LineReader, LineWriter } from "./lines.js";
import type { ErrorReply } from "./message.js";

function reader(maxLineBytes?: number) {
  const messages: JSONRPCMessage[] = [];
  const invalid: ErrorReply[] = [];
  const overflows: ErrorReply[] = [];
  const lines = new LineReader({ maxLineBytes, onMessage: (m) => messages.push(m), onInvalid: (r) => invalid.push(r), onOverflow: (r) => overflows.push(r) });
  return { lines, messages, invalid, overflows };
}

const ping = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`;

describe("LineReader", () => {
  it("reads the same messages whatever the chunk boundaries", () => {
    const bytes = Buffer.from(`${ping(1)}\n${ping(2)}\n${ping(3)}\n`);
    for (let size = 1; size <= bytes.length; size += 7) {
      const { lines, messages } = reader();
      for (let at = 0; at < bytes.length; at += size) lines.push(bytes.subarray(at, at + size));
      expect(messages.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3]);
    }
  });

  it("takes CRLF line ends and skips blank lines", () => {
    const { lines, messages, invalid } = reader();
    lines.push(Buffer.from(`${ping(1)}\r\n\r\n\n${ping(2)}\r\n`));
    expect(messages).toHaveLength(2);
    expect(invalid).toEqual([]);
  });

  it("holds a line not yet ended until its newline comes", () => {
    const { lines, messages } = reader();
    lines.push(Buffer.from(ping(1)));
    expect(messages).toEqual([]);
    lines.push(Buffer.from("\n"));
    expect(messages).toHaveLength(1);
  });

  it("refuses an oversize line, in one chunk or across several, and reads the next one", () => {
    for (const chunks of [[`${"x".repeat(100)}\n${ping(1)}\n`], ["x".repeat(60), "x".repeat(60), `xx\n${ping(1)}\n`]]) {
      const { lines, messages, overflows } = reader(64);
      for (const chunk of chunks) lines.push(Buffer.from(chunk));
      expect(overflows).toHaveLength(1);
      expect(overflows[0]!.error).toMatchObject({ code: -32600, message: expect.stringContaining("more than 64 bytes") });
      expect(messages).toHaveLength(1);
    }
  });

  it("answers bad UTF-8 with -32700, never a U+FFFD substitute", () => {
    const { lines, messages, invalid } = reader();
    lines.push(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}\n')]));
    expect(messages).toEqual([]);
    expect(invalid[0]!.error).toEqual({ code: -32700, message: "Parse error: invalid UTF-8" });
  });

  it("checks UTF-8 line by line when a chunk holds a bad line among good ones", () => {
    const { lines, messages, invalid } = reader();
    const bad = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":2,"method":"x","params":{"s":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    lines.push(Buffer.concat([Buffer.from(`${ping(1)}\n`), bad, Buffer.from(`\n{"jsonrpc":"2.0","method":"n","params":{"s":"é"}}\n${ping(3)}\n`)]));
    expect(messages).toEqual([JSON.parse(ping(1)), { jsonrpc: "2.0", method: "n", params: { s: "é" } }, JSON.parse(ping(3))]);
    expect(invalid.map((reply) => reply.error.code)).toEqual([-32700]);
  });

  it("splits a multi-byte character across chunks without harm", () => {
    const { lines, messages } = reader();
    const bytes = Buffer.from('{"jsonrpc":"2.0","method":"n","params":{"s":"é😀"}}\n');
    const at = bytes.indexOf(0xf0) + 2;
    lines.push(bytes.subarray(0, at));
    lines.push(bytes.subarray(at));
    expect(messages).toEqual([{ jsonrpc: "2.0", method: "n", params: { s: "é😀" } }]);
  });

  it("refuses a batch and a message nested too deep", () => {
    const { lines, invalid } = reader();
    lines.push(Buffer.from(`[${ping(1)}]\n`));
    const deep = `${'{"a":'.repeat(70)}1${"}".repeat(70)}`;
    lines.push(Buffer.from(`{"jsonrpc":"2.0","id":2,"method":"x","params":${deep}}\n`));
    expect(invalid.map((r) => r.error.code)).toEqual([-32600, -32602]);
    expect(invalid[1]!.error.message).toMatch(/deeper than 64/);
  });
});

describe("LineWriter", () => {
  it("writes the messages of one turn as newline-delimited JSON in one write", async () => {
    const stream = new PassThrough();
    const writes: string[] = [];
    stream.on("data", (chunk: Buffer) => writes.push(chunk.toString()));
    const writer = new LineWriter(stream);
    await Promise.all([writer.send({ jsonrpc: "2.0", id: 1, method: "ping" }), writer.send({ jsonrpc: "2.0", id: 1, result: {} })]);
    expect(writes).toEqual([`${ping(1)}\n{"jsonrpc":"2.0","id":1,"result":{}}\n`]);
  });

  it("answers a result JSON cannot represent with an error for its id", async () => {
    const stream = new PassThrough();
    const writes: string[] = [];
    stream.on("data", (chunk: Buffer) => writes.push(chunk.toString()));
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await new LineWriter(stream).send({ jsonrpc: "2.0", id: 7, result: cycle });
    expect(JSON.parse(writes[0]!)).toMatchObject({ id: 7, error: { code: -32603 } });
  });

  it("tells onUnsent of each request it could not write, and of nothing else", async () => {
    const stream = new PassThrough();
    const unsent: unknown[] = [];
    const writer = new LineWriter(stream, (message) => unsent.push("id" in message ? message.id : undefined));
    const big = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { n: 1n } } as unknown as JSONRPCMessage;
    await expect(writer.send(big)).rejects.toThrow(/BigInt/);
    stream.write = () => {
      throw new Error("EPIPE");
    };
    const sends = [
      writer.send({ jsonrpc: "2.0", id: 2, method: "ping" }),
      writer.send({ jsonrpc: "2.0", method: "notifications/initialized" }),
      writer.send({ jsonrpc: "2.0", id: 3, result: {} }),
    ];
    for (const sent of sends) await expect(sent).rejects.toThrow("EPIPE");
    writer.close();
    await expect(writer.send({ jsonrpc: "2.0", id: 4, method: "ping" })).rejects.toThrow("Not connected");
    expect(unsent).toEqual([1, 2, 4]);
  });
});

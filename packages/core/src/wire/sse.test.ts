import { describe, expect, it } from "vitest";
import { SseParser, formatSseEvent, sseMessages, type SseEvent } from "./sse.js";

function parse(chunks: string[], maxBytes?: number) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms), maxBytes });
  const ok = chunks.map((chunk) => parser.push(chunk));
  return { events, retries, ok };
}

function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, maxBytes?: number): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of sseMessages(stream, maxBytes)) values.push(value);
  return values;
}

describe("SseParser", () => {
  const text = "event: message\r\nid: 7\r\nretry: 1500\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: keepalive\r\n\r\ndata: x\n\n";

  it("reads events the same whatever the chunk boundaries, a CRLF split across two included", () => {
    const whole = parse([text]);
    expect(whole.events).toEqual([
      { event: "message", id: "7", data: '{"a":\n1}' },
      { event: "", id: undefined, data: "x" },
    ]);
    expect(whole.retries).toEqual([1500]);
    for (let size = 1; size < text.length; size++) {
      const chunks = text.match(new RegExp(`[^]{1,${size}}`, "g"))!;
      expect(parse(chunks).events, `chunks of ${size}`).toEqual(whole.events);
    }
  });

  it("ends lines on a lone CR too, and drops a leading BOM", () => {
    // A CR at a chunk's end may be half a CRLF: its line ends when the next chunk comes.
    expect(parse(["\ufeffdata: a\rdata: b\r\r", "data: c\n\n"]).events).toEqual([
      { event: "", id: undefined, data: "a\nb" },
      { event: "", id: undefined, data: "c" },
    ]);
  });

  it("reports an id-only (priming) event, ignores a bad retry and an id with NUL", () => {
    const { events, retries } = parse(["id: 1\nretry: 1s\n\nid: a\0b\ndata: y\n\n"]);
    expect(events).toEqual([{ event: "", id: "1", data: "" }, { event: "", id: undefined, data: "y" }]);
    expect(retries).toEqual([]);
  });

  it("says to drop the stream once a line or an event grows over maxBytes", () => {
    expect(parse(["data: " + "x".repeat(20)], 16).ok).toEqual([false]);
    expect(parse(["data: 1234567890\n", "data: 1234567890\n"], 16).ok).toEqual([true, false]);
  });
});

describe("formatSseEvent", () => {
  it("writes the fields in order and reads back as written", () => {
    const written = formatSseEvent({ event: "message", id: "s-1", retry: 500, data: "line one\nline two" });
    expect(written).toBe("event: message\nid: s-1\nretry: 500\ndata: line one\ndata: line two\n\n");
    const { events, retries } = parse([written]);
    expect(events).toEqual([{ event: "message", id: "s-1", data: "line one\nline two" }]);
    expect(retries).toEqual([500]);
  });

  it("writes a priming event: an id and an empty data", () => {
    expect(formatSseEvent({ id: "9", data: "" })).toBe("id: 9\ndata: \n\n");
  });
});

describe("sseMessages", () => {
  it("yields the JSON of each event with data, multi-byte characters split across chunks included", async () => {
    const bytes = new TextEncoder().encode('data: {"s":"é"}\n\n');
    const at = bytes.indexOf(0xc3) + 1;
    expect(await collect(body([": hi\n\nid: 1\n\n", bytes.subarray(0, at), bytes.subarray(at), "data: not json\n\n"]))).toEqual([{ s: "é" }, undefined]);
  });

  it("yields an event whose blank line never came, when the body ends", async () => {
    expect(await collect(body(['data: {"a":1}\n']))).toEqual([{ a: 1 }]);
  });

  it("throws on an event over its limit", async () => {
    await expect(collect(body([`data: ${"x".repeat(64)}`]), 32)).rejects.toThrow("SSE event larger than 32 bytes");
  });
});

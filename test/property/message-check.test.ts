// Properties of the message checks and stdio framing (issue 12, C13), with fast-check: framing is
// independent of chunk boundaries, the envelope check never throws and gives only the documented
// codes, depth checks agree with a reference, ids round-trip unchanged. Inputs that once broke a
// property live in corpus.json and are replayed on every run.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineReader } from "../../packages/core/src/wire/lines.js";
import { checkMessage, checkParams as checkShape, deeperThan, parseJson, readMessage } from "../../packages/core/src/wire/message.js";
import { INVALID, TOO_DEEP, scanJson } from "../../packages/core/src/wire/scan.js";
import { paramsShapeOf } from "../../packages/core/src/methods.js";

/** The fronts' check: a request's params against its method's shape in the method table. */
const checkParams = (method: string, params: Record<string, unknown> | undefined) => checkShape(method, paramsShapeOf(method), params);

const RUNS = 2000;

/** Every line read, in order: a message, or the error reply for it. */
function readAll(chunks: Buffer[], maxLineBytes?: number): unknown[] {
  const out: unknown[] = [];
  const reader = new LineReader({
    maxLineBytes,
    onMessage: (message) => void out.push(message),
    onInvalid: (reply) => void out.push(reply),
    onOverflow: (reply) => void out.push(reply),
  });
  for (const chunk of chunks) reader.push(chunk);
  return out;
}

/** Cuts `bytes` at the given fractions (any byte offset, inside a UTF-8 character included). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const offsets = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(bytes.subarray(start, offset));
    start = offset;
  }
  chunks.push(bytes.subarray(start));
  return chunks.filter((c) => c.length > 0);
}

const id = fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.string({ unit: "grapheme", maxLength: 40 }));
const request = fc.record({
  jsonrpc: fc.constant("2.0" as const),
  id,
  method: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
  params: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }),
});

function depth(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depth));
}

describe("stdio framing", () => {
  it("reads the same messages however the bytes are cut into chunks", () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 8 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (messages, at) => {
        const bytes = Buffer.from(messages.map((m) => `${JSON.stringify(m)}\n`).join(""));
        const read = readAll(cut(bytes, at));
        // __proto__ keys survive as own data (JSON.parse), as in the original; compare as JSON
        expect(JSON.stringify(read)).toBe(JSON.stringify(messages.map((m) => JSON.parse(JSON.stringify(m)))));
      }),
      { numRuns: RUNS },
    );
  });

  it("gives exactly one outcome per line, whatever the bytes, and never throws", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 6 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (lines, at) => {
        const clean = lines.map((l) => Buffer.from(l.filter((b) => b !== 0x0a)));
        const bytes = Buffer.concat(clean.flatMap((l) => [l, Buffer.from("\n")]));
        const blank = clean.filter((l) => l.length <= 2 && l.toString("latin1").trim() === "").length;
        expect(readAll(cut(bytes, at), 40)).toHaveLength(clean.length - blank);
      }),
      { numRuns: RUNS },
    );
  });

  it("answers a line over the limit once and goes on with the next", () => {
    fc.assert(
      fc.property(fc.integer({ min: 11, max: 300 }), request, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), (size, next, at) => {
        const bytes = Buffer.from(`${"x".repeat(size)}\n${JSON.stringify(next)}\n`);
        const read = readAll(cut(bytes, at), Math.max(10, Buffer.byteLength(JSON.stringify(next))));
        if (size <= Math.max(10, Buffer.byteLength(JSON.stringify(next)))) return; // not over the limit: a parse error
        expect(read).toHaveLength(2);
        expect(read[0]).toMatchObject({ id: null, error: { code: -32600 } });
        expect(JSON.stringify(read[1])).toBe(JSON.stringify(JSON.parse(JSON.stringify(next))));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the envelope check", () => {
  it("never throws, and answers only with -32600 or -32602, with the input's id or null", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.record({ jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()), id: fc.jsonValue(), method: fc.jsonValue(), params: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] })), (value) => {
        const checked = checkMessage(value);
        if (checked.message) return;
        expect([-32600, -32602]).toContain(checked.error.error.code);
        const given = (value as { id?: unknown } | null)?.id;
        expect(checked.error.id === null || checked.error.id === given).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it("accepts every well-formed request, and the message is the input, unchanged", () => {
    fc.assert(
      fc.property(request, (message) => {
        const wire = JSON.parse(JSON.stringify(message));
        expect(checkMessage(wire).message).toBe(wire);
      }),
      { numRuns: RUNS },
    );
  });

  it("parses any bytes without throwing; invalid UTF-8 is -32700, exactly as a fatal TextDecoder says", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const parsed = parseJson(Buffer.from(bytes));
        let valid = true;
        try {
          decoder.decode(bytes);
        } catch {
          valid = false;
        }
        if (!valid) expect(parsed.error).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: invalid UTF-8" } });
        else if (parsed.error) expect(parsed.error.error.code).toBe(-32700);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe("depth", () => {
  it("deeperThan agrees with a reference depth, and the byte scan agrees with both", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, max) => {
        expect(deeperThan(value, max)).toBe(depth(value) > max);
        expect(scanJson(Buffer.from(JSON.stringify(value)), max) === TOO_DEEP).toBe(depth(value) > max);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe("the one scan of a large message (wire/scan.ts)", () => {
  /** JSON text, often broken: a valid text with a character cut, doubled or swapped. */
  const text = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v, null, Math.random() < 0.3 ? 1 : 0)),
    fc.tuple(fc.jsonValue({ maxDepth: 6 }), fc.nat(), fc.constantFrom("", "\\", '"', ",", ":", "}", "]", "{", "[", "-", "0", ".", "e", "t", "\\u00", "\\t", "\t", "\x01", " ")).map(([v, at, insert]) => {
      const json = JSON.stringify(v);
      const i = at % (json.length + 1);
      return json.slice(0, i) + insert + json.slice(i + (at % 3 === 0 ? 1 : 0));
    }),
  );

  it("accepts exactly what JSON.parse accepts", () => {
    fc.assert(
      fc.property(text, (json) => {
        let valid = true;
        try {
          JSON.parse(json);
        } catch {
          valid = false;
        }
        expect(scanJson(Buffer.from(json), 1000) !== INVALID, json).toBe(valid);
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads a large response's result lazily, as JSON.parse reads it, keys repeated or not", () => {
    const pad = "x".repeat(20_000);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 })), fc.oneof(fc.string(), fc.integer()), (members, id) => {
        const result = { ...members, pad };
        const line = `{"result":${JSON.stringify(result)},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
        const parsed = parseJson(Buffer.from(line));
        expect(parsed.value).toEqual(JSON.parse(line));
        expect(Object.isFrozen((parsed.value as { result: object }).result)).toBe(true);
      }),
      { numRuns: 500 },
    );
    const repeated = `{"jsonrpc":"2.0","id":1,"result":{"a":1,"pad":"${pad}","a":2}}`;
    expect(parseJson(Buffer.from(repeated)).value).toEqual(JSON.parse(repeated));
    const twoResults = `{"jsonrpc":"2.0","id":1,"result":{"pad":"${pad}"},"result":{"b":2}}`;
    expect(parseJson(Buffer.from(twoResults)).value).toEqual(JSON.parse(twoResults));
  });
});

describe("ids", () => {
  it("come back in the error reply exactly as sent, of the same type", () => {
    fc.assert(
      fc.property(id, (value) => {
        const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: value, method: "x", params: [] }));
        const checked = readMessage(line);
        expect(checked.error?.id).toStrictEqual(JSON.parse(JSON.stringify(value)));
        expect(checked.error?.error.code).toBe(-32602);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the corpus of inputs that once broke a check", () => {
  const corpus = JSON.parse(readFileSync(new URL("./corpus.json", import.meta.url), "utf8")) as { name: string; base64?: string; text?: string; repeat?: [string, number, string] }[];
  it.each(corpus.map((c) => [c.name, c] as const))("%s: one outcome, no throw", (_name, entry) => {
    const bytes = entry.base64 !== undefined ? Buffer.from(entry.base64, "base64")
      : entry.repeat ? Buffer.from(entry.repeat[0].repeat(entry.repeat[1]) + entry.repeat[2].repeat(entry.repeat[1]))
      : Buffer.from(entry.text!);
    const before = ({} as Record<string, unknown>).polluted;
    const read = readAll([bytes, Buffer.from("\n")], 1024 * 1024);
    expect(read.length).toBeLessThanOrEqual(1);
    expect(({} as Record<string, unknown>).polluted).toBe(before);
  });
});

describe("params checks", () => {
  it("accept every well-typed call of the client methods, and name the field of a wrong-typed one", () => {
    const text = fc.string({ maxLength: 8 });
    const strings = fc.dictionary(text, text, { maxKeys: 4 });
    const args = fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    fc.assert(
      fc.property(text, strings, args, (name, promptArgs, toolArgs) => {
        expect(checkParams("tools/call", { name, arguments: toolArgs })).toBeUndefined();
        expect(checkParams("tools/call", { name })).toBeUndefined();
        expect(checkParams("prompts/get", { name, arguments: promptArgs })).toBeUndefined();
        expect(checkParams("resources/read", { uri: name })).toBeUndefined();
        expect(checkParams("tools/list", {})).toBeUndefined();
        expect(checkParams("tools/list", undefined)).toBeUndefined();
        expect(checkParams("logging/setLevel", { level: "warning" })).toBeUndefined();
        expect(checkParams("some/extension", { anything: 1 })).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
    expect(checkParams("prompts/get", { name: "p", arguments: { a: 1 } })?.message).toBe('Invalid params for prompts/get: "arguments" must be an object of strings');
    expect(checkParams("tools/call", { arguments: {} })?.message).toBe('Invalid params for tools/call: "name" must be a string');
    expect(checkParams("logging/setLevel", { level: "loud" })?.code).toBe(-32602);
  });
});

// Server-sent events (text/event-stream), read and written: the incremental parser every SSE reader
// in core uses (the HTTP backend transport, the 2026 client transport), and the one event format
// every SSE writer uses.

/** Largest event (or line) read. Default of every SSE reader (as the stdio transports' 10 MiB). */
export const DEFAULT_MAX_EVENT_BYTES = 10 * 1024 * 1024;

/** A comment: keeps a quiet stream's connection (and its proxies) from timing out. */
export const SSE_KEEPALIVE = ": keepalive\n\n";

export interface SseEvent {
  event: string;
  data: string;
  /** The `id` field of this event, if it had one. */
  id: string | undefined;
}

/**
 * An incremental text/event-stream parser, fed text as it arrives: lines end in CRLF, CR or LF (a
 * CRLF may be split across chunks), `data` lines join with a newline, comments (keep-alives) are
 * skipped, `retry` takes digits only, an id holding NUL is ignored, a leading BOM is dropped. An
 * event with only an id (a priming event) is still reported, so its id can be resumed from.
 */
export class SseParser {
  readonly #onEvent: (event: SseEvent) => void;
  readonly #onRetry: (ms: number) => void;
  readonly #maxBytes: number;
  #pending = "";
  #started = false;
  #event = "";
  #data = "";
  #hasData = false;
  #id: string | undefined;

  constructor(options: { onEvent: (event: SseEvent) => void; onRetry?: ((ms: number) => void) | undefined; maxBytes?: number | undefined }) {
    this.#onEvent = options.onEvent;
    this.#onRetry = options.onRetry ?? noop;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Reads a chunk; false once a line or an event grew over maxBytes (the stream should be dropped). */
  push(chunk: string): boolean {
    let text = this.#pending ? this.#pending + chunk : chunk;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    let noCr = false;
    for (;;) {
      const lf = text.indexOf("\n", start);
      const cr = noCr ? -1 : text.indexOf("\r", start);
      if (cr === -1) noCr = true;
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        if (cr === text.length - 1) break; // perhaps the first half of a CRLF
        end = cr;
        next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(text, start, end);
      start = next;
      if (this.#data.length > this.#maxBytes) return false;
    }
    this.#pending = start === 0 ? text : text.slice(start);
    return this.#pending.length <= this.#maxBytes;
  }

  /** The stream ended: an event whose data came but not its blank line is still reported. */
  end(): void {
    if (this.#hasData) this.#dispatch();
  }

  #line(text: string, start: number, end: number): void {
    if (end === start) return this.#dispatch();
    if (text.charCodeAt(start) === 58) return; // ":" a comment
    const colon = text.indexOf(":", start);
    let field: string;
    let value: string;
    if (colon === -1 || colon >= end) {
      field = text.slice(start, end);
      value = "";
    } else {
      field = text.slice(start, colon);
      const from = text.charCodeAt(colon + 1) === 32 && colon + 1 < end ? colon + 2 : colon + 1;
      value = text.slice(from, end);
    }
    if (field === "data") {
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
      this.#hasData = true;
    } else if (field === "event") {
      this.#event = value;
    } else if (field === "id") {
      if (!value.includes("\0")) this.#id = value;
    } else if (field === "retry") {
      if (/^\d+$/.test(value)) this.#onRetry(Number(value));
    }
  }

  #dispatch(): void {
    if (this.#hasData || this.#id !== undefined) this.#onEvent({ event: this.#event, data: this.#data, id: this.#id });
    this.#event = "";
    this.#data = "";
    this.#hasData = false;
    this.#id = undefined;
  }
}

/**
 * One event as text: its fields in the order event, id, retry, data; data holding newlines is
 * written as one `data:` line each (a JSON text has none). An empty data still ends the event.
 */
export function formatSseEvent({ event, id, retry, data }: { event?: string | undefined; id?: string | undefined; retry?: number | undefined; data: string }): string {
  let text = event === undefined ? "" : `event: ${event}\n`;
  if (id !== undefined) text += `id: ${id}\n`;
  if (retry !== undefined) text += `retry: ${retry}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/**
 * The JSON value of every event with data in an SSE body (undefined for data that is not JSON),
 * read with `SseParser`; an event over `maxEventBytes` throws. The body is cancelled when done.
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>, maxEventBytes = DEFAULT_MAX_EVENT_BYTES): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let ready: string[] = [];
  const parser = new SseParser({ maxBytes: maxEventBytes, onEvent: ({ data }) => void (data && ready.push(data)) });
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) parser.end();
      else if (!parser.push(decoder.decode(value, { stream: true }))) throw new Error(`SSE event larger than ${maxEventBytes} bytes`);
      const events = ready;
      ready = [];
      for (const data of events) yield parseJson(data);
      if (done) break;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function noop(): void {}

// One HTTP/1.1 keep-alive connection written and read by hand: what a test needs to see exactly
// which connection a request goes on, whether it is read, and when it is closed.
import { connect, type Socket } from "node:net";

export type RawAnswer = { status: number; head: string; body: string };

/** A connection to `url`, for POSTs to it (answers with a Content-Length; heads lower-cased). */
export class RawConnection {
  readonly socket: Socket;
  closed = false;
  #buffered = "";
  #waiting: (() => void) | undefined;

  constructor(readonly url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => ((this.#buffered += chunk), this.#waiting?.()));
    this.socket.on("error", () => {});
    this.socket.on("close", () => ((this.closed = true), this.#waiting?.()));
  }

  /** Sends a POST of `body` (JSON). */
  post(headers: Record<string, string>, body: unknown): void {
    const text = JSON.stringify(body);
    const { pathname, host } = new URL(this.url);
    const head = [`POST ${pathname} HTTP/1.1`, `host: ${host}`, "content-type: application/json", "accept: application/json, text/event-stream"];
    for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
    this.socket.write([...head, `content-length: ${Buffer.byteLength(text)}`, "", text].join("\r\n"));
  }

  /** The next answer on the connection. */
  async answer(): Promise<RawAnswer> {
    for (;;) {
      const end = this.#buffered.indexOf("\r\n\r\n");
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(this.#buffered.slice(0, end))?.[1]);
      if (end >= 0 && this.#buffered.length >= end + 4 + length) {
        const answer = { status: Number(this.#buffered.slice(9, 12)), head: this.#buffered.slice(0, end).toLowerCase(), body: this.#buffered.slice(end + 4, end + 4 + length) };
        this.#buffered = this.#buffered.slice(end + 4 + length);
        return answer;
      }
      if (this.closed) throw new Error(`closed before a whole answer: ${JSON.stringify(this.#buffered)}`);
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

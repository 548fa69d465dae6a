// Reading a streamed HTTP answer: `text/event-stream` events carrying JSON-RPC messages.

/** Yields the JSON value of every `data:` event of an SSE body; comments and other fields are skipped. */
export async function* sseMessages(body: ReadableStream<Uint8Array>, maxEventBytes = 10 * 1024 * 1024): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      if (buffer.length > maxEventBytes) throw new Error(`SSE event larger than ${maxEventBytes} bytes`);
      let newline: number;
      while ((newline = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(buffer[newline] === "\r" ? newline + 2 : newline + 1);
        if (line === "") {
          if (data.length > 0) yield parse(data.join("\n"));
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line[5] === " " ? 6 : 5));
        }
      }
    }
    if (data.length > 0) yield parse(data.join("\n"));
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

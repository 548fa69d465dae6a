import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A web Request for a Node request whose JSON body was already read: headers and signal only. The
 * body is handed to the SDK parsed (`parsedBody`), which then never reads the Request's own. Its
 * signal aborts when the client goes away before the answer is written (the request's own "close"
 * has fired by then: its body was read).
 */
export function toRequest(req: IncomingMessage, res: ServerResponse): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === "content-length" || name === "transfer-encoding") continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const controller = new AbortController();
  res.once("close", () => res.writableFinished || controller.abort());
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { method: req.method ?? "GET", headers, signal: controller.signal });
}

/** A web Response's headers, as Node writes them. */
export function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return headers;
}

/** Writes a web Response to a Node response, streaming its body with backpressure; stops when the client goes. */
export async function sendResponse(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, headersOf(response));
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  const gone = () => void reader.cancel().catch(() => {});
  res.once("close", gone);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((resolve) => (res.once("drain", resolve), res.once("close", resolve)));
      if (res.destroyed) break;
    }
  } catch {
    // the body was cancelled because the client went away
  } finally {
    res.off("close", gone);
    res.end();
  }
}

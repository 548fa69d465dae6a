import type { IncomingMessage, ServerResponse } from "node:http";

/** A web Request for a Node request whose JSON body was already read (`body`). */
export function toRequest(req: IncomingMessage, body: unknown): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === "content-length" || name === "transfer-encoding") continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const controller = new AbortController();
  req.once("close", () => controller.abort());
  const hasBody = body !== undefined && req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method ?? "GET",
    headers,
    signal: controller.signal,
    ...(hasBody ? { body: JSON.stringify(body) } : {}),
  });
}

/** Writes a web Response to a Node response, streaming its body with backpressure; stops when the client goes. */
export async function sendResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, headers);
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

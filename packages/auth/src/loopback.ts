import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What an authorization response must match before its code is redeemed. */
export interface Expected {
  state: string | undefined;
  /** The issuer recorded from the authorization server's metadata (RFC 9207: compared as a plain string). */
  issuer: string | undefined;
  /** The metadata says the server sends `iss`. */
  issRequired: boolean;
}

/** Why an authorization response is refused, or undefined when its code may be redeemed. */
export function refusal(params: URLSearchParams, expected: Expected): string | undefined {
  const iss = params.get("iss");
  if (params.get("error")) return `the authorization server refused: ${params.get("error")}`;
  if (params.get("state") !== expected.state) return "the callback's state does not match this sign-in";
  if (iss !== null && expected.issuer && iss !== expected.issuer) return `the callback came from issuer ${iss}, not ${expected.issuer} (RFC 9207)`;
  if (iss === null && expected.issRequired) return "the callback has no iss, though the authorization server says it sends one (RFC 9207)";
  if (!params.get("code")) return "the callback has no code";
  return undefined;
}

/**
 * A one-shot loopback redirect target (`http://127.0.0.1:<port>/callback`) for an operator's sign-in:
 * it answers the browser, checks the response, and gives the code.
 */
export class LoopbackCallback {
  private constructor(
    readonly server: Server,
    readonly url: string,
    readonly code: Promise<string>,
  ) {}

  static async listen(port: number, expected: () => Expected, label: string): Promise<LoopbackCallback> {
    let settle!: { resolve: (code: string) => void; reject: (error: Error) => void };
    const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    code.catch(() => {}); // awaited by the caller; a refusal may come before that
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (url.pathname !== "/callback") return void res.writeHead(404).end();
      const failure = refusal(url.searchParams, expected());
      res.writeHead(failure ? 400 : 200, { "content-type": "text/plain" }).end(failure ? `Sign-in failed: ${failure}` : "Signed in: you can close this window.");
      if (failure) settle.reject(new Error(`${label} failed: ${failure}`));
      else settle.resolve(url.searchParams.get("code") as string);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => reject(new Error(`${label}: cannot listen on 127.0.0.1:${port} for the callback (${error.code ?? error.message})`)));
      server.listen(port, "127.0.0.1", resolve);
    });
    return new LoopbackCallback(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, code);
  }

  /** The code, or a rejection after `timeoutMs`; the listener is closed either way. */
  async wait(timeoutMs: number, label: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label} timed out`)), timeoutMs)));
    try {
      return await Promise.race([this.code, timeout]);
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections?.();
  }
}

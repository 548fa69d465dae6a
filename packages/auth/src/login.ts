import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { auth, extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";
import { guarded } from "./egress.js";
import { storedTokenProvider, type StoredTokenOptions } from "./stored-tokens.js";

export interface LoginOptions extends Omit<StoredTokenOptions, "redirectUrl" | "onAuthorizationUrl"> {
  /** The backend's MCP URL. */
  serverUrl: string;
  /** Shows the user the authorization URL (open a browser, print it). */
  open: (url: URL) => void | Promise<void>;
  /** Loopback port for the callback. Default: a free one. */
  callbackPort?: number;
  /** How long to wait for the user, ms. Default 5 min. */
  timeoutMs?: number;
}

/**
 * `fastmcp-proxy auth login <server>`: the authorization code flow with PKCE through the user's
 * browser and a loopback callback; `state` and the RFC 9207 `iss` are checked before the code is
 * redeemed, and the tokens are written to the backend's 0600 token file.
 */
export async function login(backend: string, options: LoginOptions): Promise<{ tokenFile: string; issuer: string | undefined }> {
  let settle: { resolve: (code: string) => void; reject: (error: Error) => void } | undefined;
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  code.catch(() => {}); // awaited below; a refusal may come before that
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/callback") return void res.writeHead(404).end();
    const stored = provider.file.read();
    const issuer = stored.discovery?.authorizationServerMetadata?.issuer;
    const failure =
      url.searchParams.get("error") ? `the authorization server refused: ${url.searchParams.get("error")}`
      : url.searchParams.get("state") !== stored.state ? "the callback's state does not match this login"
      : issuer && url.searchParams.has("iss") && url.searchParams.get("iss") !== issuer ? `the callback came from issuer ${url.searchParams.get("iss")}, not ${issuer} (RFC 9207)`
      : !url.searchParams.has("iss") && (stored.discovery?.authorizationServerMetadata as { authorization_response_iss_parameter_supported?: boolean } | undefined)?.authorization_response_iss_parameter_supported ? "the callback has no iss, though the authorization server says it sends one (RFC 9207)"
      : !url.searchParams.get("code") ? "the callback has no code"
      : undefined;
    res.writeHead(failure ? 400 : 200, { "content-type": "text/plain" }).end(failure ? `Login failed: ${failure}` : "Signed in: you can close this window.");
    if (failure) settle?.reject(new Error(`login to "${backend}" failed: ${failure}`));
    else settle?.resolve(url.searchParams.get("code") as string);
  });
  await new Promise<void>((resolve) => server.listen(options.callbackPort ?? 0, "127.0.0.1", resolve));
  const redirectUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const provider = guarded(storedTokenProvider(backend, { ...options, redirectUrl, onAuthorizationUrl: options.open }), backend, options.issuer ? [options.issuer] : undefined);
  const timer = setTimeout(() => settle?.reject(new Error(`login to "${backend}" timed out`)), options.timeoutMs ?? 300_000);
  try {
    // Ask the server first: its 401 may name the metadata (and the scope) that well-known paths would miss.
    const challenge = await probe(options.serverUrl);
    const scope = options.scope ?? challenge.scope;
    const params = { serverUrl: options.serverUrl, ...(scope ? { scope } : {}), ...(challenge.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}) };
    const first = await auth(provider, params);
    if (first === "REDIRECT") {
      const result = await auth(provider, { ...params, authorizationCode: await code });
      if (result !== "AUTHORIZED") throw new Error(`login to "${backend}" did not complete`);
    }
    return { tokenFile: provider.file.path, issuer: provider.file.read().issuer };
  } finally {
    clearTimeout(timer);
    server.close();
  }
}

/** The `resource_metadata` and `scope` of the server's 401 to an initialize, if it answers one. */
async function probe(serverUrl: string): Promise<{ resourceMetadataUrl?: URL; scope?: string }> {
  const response = await fetch(serverUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "fastmcp-proxy-login", version: "1" } } }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  await response?.body?.cancel().catch(() => {});
  if (response?.status !== 401) return {};
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(response);
  return { ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(scope ? { scope } : {}) };
}

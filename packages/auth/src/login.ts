import { auth, extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";
import { guarded } from "./egress.js";
import { guardedFetch, type EgressOptions } from "./guarded-fetch.js";
import { boundTokens, dpopFetch, keyInFile } from "./dpop.js";
import { LoopbackCallback } from "./loopback.js";
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
  /** What the OAuth discovery may reach beyond the public internet (see guardedFetch). */
  egress?: EgressOptions;
  /** Bind the tokens to a key of the proxy's (RFC 9449 DPoP), kept in the token file. */
  dpop?: boolean;
}

/**
 * `fastmcp-proxy auth login <server>`: the authorization code flow with PKCE through the user's
 * browser and a loopback callback; `state` and the RFC 9207 `iss` are checked before the code is
 * redeemed, and the tokens are written to the backend's 0600 token file.
 */
export async function login(backend: string, options: LoginOptions): Promise<{ tokenFile: string; issuer: string | undefined }> {
  const label = `login to "${backend}"`;
  const expected = () => {
    const stored = provider.file.read();
    const metadata = stored.discovery?.authorizationServerMetadata as { issuer?: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
    return { state: stored.state, issuer: metadata?.issuer, issRequired: metadata?.authorization_response_iss_parameter_supported === true };
  };
  const callback = await LoopbackCallback.listen(options.callbackPort ?? 0, expected, label);
  const stored = storedTokenProvider(backend, { ...options, redirectUrl: callback.url, onAuthorizationUrl: options.open });
  const pin = options.clientSecret ? { issuer: stored.file.read().issuer } : undefined;
  const provider = guarded(stored, backend, { allowed: options.issuer ? [options.issuer] : undefined, pin });
  const guard = guardedFetch(options.serverUrl, options.egress);
  // With DPoP the grant's key is made now and kept in the token file, with the tokens bound to it.
  const fetchFn = options.dpop ? dpopFetch(guard, { key: keyInFile(stored.file), bound: boundTokens(() => stored.file.read().tokens) }) : guard;
  try {
    // Ask the server first: its 401 may name the metadata (and the scope) that well-known paths would miss.
    const challenge = await probe(options.serverUrl);
    const scope = options.scope ?? challenge.scope;
    const params = { serverUrl: options.serverUrl, fetchFn, ...(scope ? { scope } : {}), ...(challenge.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}) };
    const first = await auth(provider, params);
    if (first === "REDIRECT") {
      const result = await auth(provider, { ...params, authorizationCode: await callback.wait(options.timeoutMs ?? 300_000, label) });
      if (result !== "AUTHORIZED") throw new Error(`${label} did not complete`);
    }
    return { tokenFile: provider.file.path, issuer: provider.file.read().issuer };
  } finally {
    callback.close();
  }
}

/**
 * The `resource_metadata` and `scope` of the server's first 401: to an initialize, or, for a server
 * that lets initialize through, to the tools/list after it (the scope its requests need).
 */
async function probe(serverUrl: string): Promise<{ resourceMetadataUrl?: URL; scope?: string }> {
  const post = async (body: object, headers: Record<string, string> = {}) => {
    const response = await fetch(serverUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", ...body }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    await response?.body?.cancel().catch(() => {});
    return response;
  };
  const version = "2025-11-25";
  let response = await post({ id: 0, method: "initialize", params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "fastmcp-proxy-login", version: "1" } } });
  if (response?.ok) {
    const session = response.headers.get("mcp-session-id");
    const headers = { "mcp-protocol-version": version, ...(session ? { "mcp-session-id": session } : {}) };
    await post({ method: "notifications/initialized" }, headers);
    response = await post({ id: 1, method: "tools/list", params: {} }, headers);
    if (session) void fetch(serverUrl, { method: "DELETE", headers, signal: AbortSignal.timeout(5_000) }).then((r) => r.body?.cancel(), () => {});
  }
  if (response?.status !== 401) return {};
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(response);
  return { ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(scope ? { scope } : {}) };
}

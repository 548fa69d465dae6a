import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { BackendConnector, BackendCredentials } from "../backends/backend.js";
import { probeEra } from "./probe.js";
import { ModernClientTransport } from "./modern-client-transport.js";
import { ToolHeaderBook } from "./param-headers.js";

/** Which era to speak to an HTTP backend: `auto` asks with server/discover and falls back to initialize. */
export type BackendProtocol = "auto" | "legacy" | "2026-07-28";

/**
 * A connector for a 2026-07-28 HTTP backend: each session is the proxy's ordinary SDK client on a
 * ModernClientTransport. Sessions are cheap (the protocol is stateless), so it isolates like any HTTP
 * backend. With `auto`, the first connect probes the backend and `legacy` hands over to `fallback`.
 */
export function modernConnector(
  url: string,
  options: { protocol?: BackendProtocol; headers?: Record<string, string>; fallback?: BackendConnector } = {},
): BackendConnector {
  const protocol = options.protocol ?? "2026-07-28";
  const tools = new ToolHeaderBook();
  let era: Promise<"modern" | "legacy"> | undefined = protocol === "auto" ? undefined : Promise.resolve(protocol === "legacy" ? "legacy" : "modern");
  return {
    label: url,
    isolatable: true,
    async connect(newClient: () => Client, credentials?: BackendCredentials) {
      // The same credentials as a legacy HTTP backend: configured headers, the provider's over them, its OAuth client.
      const headers = { ...options.headers, ...credentials?.headers };
      const authProvider = credentials?.authProvider;
      era ??= probeEra(url, { ...headers, ...(await bearerOf(authProvider)) }).catch((error: unknown) => {
        era = undefined; // unreachable or refused now: probe again next time
        throw error;
      });
      // Refused without a token yet: an OAuth client gets one in the 2026 attempt (a probe cannot sign in).
      const verdict = await era.catch((error: unknown) => (authProvider && isRefusal(error) ? "modern" : Promise.reject(error)));
      if (verdict === "legacy") {
        if (!options.fallback) throw new Error(`${url} speaks only the legacy era and no legacy connector was given`);
        return options.fallback.connect(newClient, credentials);
      }
      const client = newClient();
      await client.connect(new ModernClientTransport({ url, headers, authProvider, tools, ...(credentials?.fetch ? { fetch: credentials.fetch } : {}) }));
      return client;
    },
  };
}

async function bearerOf(provider: OAuthClientProvider | undefined): Promise<Record<string, string>> {
  const tokens = await provider?.tokens();
  return tokens ? { authorization: `Bearer ${tokens.access_token}` } : {};
}

function isRefusal(error: unknown): boolean {
  return error instanceof StreamableHTTPError && (error.code === 401 || error.code === 403);
}

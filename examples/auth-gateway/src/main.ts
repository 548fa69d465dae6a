// An OAuth-protected MCP gateway in front of two servers you don't control:
//   notes: reached as each user: their token is exchanged for one meant for notes (RFC 8693);
//   crm:   reached with the gateway's own service account (client credentials).
// Clients sign in at your identity provider; per-tool rules decide who sees and calls what.
//
//   IDP_ISSUER=https://idp.example.com PUBLIC_URL=https://mcp.example.com/mcp \
//   NOTES_URL=https://notes.internal/mcp CRM_URL=https://crm.internal/mcp \
//   GATEWAY_CLIENT_ID=gateway GATEWAY_CLIENT_SECRET=... node dist/main.js
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FastMCPProxy } from "@fastmcp-proxy/core";
import type { RunningProxy } from "@fastmcp-proxy/core";
import { authorize, backendAuth, bearerAuth, jwtVerifier, type Rule } from "@fastmcp-proxy/auth";

export interface GatewayOptions {
  /** Your identity provider's issuer URL. */
  issuer: string;
  /** Its token endpoint, for the token exchange. Default `${issuer}/token`. */
  tokenEndpoint?: string;
  /** The gateway's public MCP URL: the audience clients get tokens for. */
  publicUrl: string;
  notesUrl: string;
  crmUrl: string;
  /** The gateway's own client at the identity provider (token exchange and the CRM service account). */
  clientId: string;
  clientSecret: string;
  host?: string;
  port?: number;
}

/** Who may do what: reading needs a scope, writing more, destructive CRM tools are for admins only. */
export const RULES: Rule[] = [
  { backend: "notes", scopes: ["notes:read"] },
  { tools: "notes_*write*", scopes: ["notes:write"] },
  { backend: "crm", scopes: ["crm:read"] },
  { tools: "crm_*", annotations: { destructiveHint: true }, roles: ["admin"], hide: true },
];

export async function runGateway(o: GatewayOptions): Promise<{ proxy: FastMCPProxy; running: RunningProxy }> {
  const auth = bearerAuth({
    resource: o.publicUrl,
    authorizationServers: [o.issuer],
    verifier: jwtVerifier({ issuer: o.issuer }),
    scopesSupported: ["notes:read", "notes:write", "crm:read"],
    implies: { "notes:write": ["notes:read"] },
  });
  const service = { type: "client_credentials", clientId: o.clientId, clientSecret: o.clientSecret, issuer: o.issuer } as const;
  const proxy = FastMCPProxy.asProxy({ mcpServers: { notes: { url: o.notesUrl }, crm: { url: o.crmUrl } } })
    // Before any cache: rules decide first.
    .use(authorize({ rules: RULES, implies: { "notes:write": ["notes:read"] } }))
    .credentials(
      backendAuth({
        notes: { type: "token_exchange", tokenEndpoint: o.tokenEndpoint ?? `${o.issuer}/token`, clientId: o.clientId, clientSecret: o.clientSecret, resource: o.notesUrl, primary: service },
        crm: service,
      }),
    );
  const publicHost = new URL(o.publicUrl).hostname;
  const running = await proxy.run({
    transport: "http",
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 8000,
    allowedHosts: [publicHost, "127.0.0.1", "localhost"],
    authenticate: auth,
    routes: [auth.route],
  });
  return { proxy, running };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (see the top of examples/auth-gateway/src/main.ts)`);
  return value;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { running } = await runGateway({
    issuer: required("IDP_ISSUER"),
    publicUrl: required("PUBLIC_URL"),
    notesUrl: required("NOTES_URL"),
    crmUrl: required("CRM_URL"),
    clientId: required("GATEWAY_CLIENT_ID"),
    clientSecret: required("GATEWAY_CLIENT_SECRET"),
    ...(process.env.IDP_TOKEN_ENDPOINT ? { tokenEndpoint: process.env.IDP_TOKEN_ENDPOINT } : {}),
    ...(process.env.PORT ? { port: Number(process.env.PORT) } : {}),
  });
  console.error(`auth gateway on ${running.url}`);
}

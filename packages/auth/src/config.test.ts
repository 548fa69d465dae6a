import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { authSectionFromFlags, backendAuthFromConfig, frontAuthFromConfig } from "./config.js";
import { UserAuthorization } from "./user-authorization.js";

/** The front's RFC 9728 document, served by its route on loopback. */
async function metadataOf(auth: ReturnType<typeof frontAuthFromConfig>): Promise<Record<string, unknown>> {
  const server = createServer((req, res) => void (auth.bearer?.route(req, res) || res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return (await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
  } finally {
    server.close();
  }
}

describe("frontAuthFromConfig", () => {
  it("builds bearerAuth and authorize from the config section", () => {
    const auth = frontAuthFromConfig(
      { issuer: "https://idp.example.com", requiredScopes: ["mcp"], rules: [{ tools: "admin_*", scopes: ["admin"], hide: true }] },
      { servedUrl: "http://127.0.0.1:8000/mcp" },
    );
    expect(auth.bearer?.resource).toBe("http://127.0.0.1:8000/mcp");
    expect(auth.bearer?.resourceMetadataUrl).toBe("http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp");
    expect(typeof auth.authorize).toBe("function");
  });

  it("prefers the configured resource to the served URL", () => {
    const auth = frontAuthFromConfig({ resource: "https://mcp.example.com/mcp", apiKeys: [{ key: "k", subject: "ci" }] }, { servedUrl: "http://127.0.0.1:8000/mcp" });
    expect(auth.bearer?.resource).toBe("https://mcp.example.com/mcp");
  });

  it("names the field at fault", () => {
    expect(() => frontAuthFromConfig({ issuer: "not a url" })).toThrow(/^auth\.issuer: /);
    expect(() => frontAuthFromConfig({ rules: [{ tool: "x" }] })).toThrow(/^auth\.rules\.0/);
    expect(() => frontAuthFromConfig({ issuer: "https://idp.example.com" })).toThrow(/auth\.resource: give the proxy's public URL/);
    expect(() => frontAuthFromConfig("yes")).toThrow(/^auth: /);
  });

  it("an introspection-only front advertises its authorization server, and refuses to start without one", async () => {
    const introspection = { endpoint: "https://idp.example.com/introspect", clientId: "rs", clientSecret: "s" };
    expect(() => frontAuthFromConfig({ resource: "https://mcp.example.com/mcp", introspection })).toThrow(/^auth\.introspection\.issuer: give the issuer/);
    const auth = frontAuthFromConfig({ resource: "https://mcp.example.com/mcp", introspection: { ...introspection, issuer: "https://idp.example.com" } });
    expect((await metadataOf(auth)).authorization_servers).toEqual(["https://idp.example.com"]);
  });

  it("lists every scope a rule can ask for in scopes_supported, so that clients register for them", async () => {
    const auth = frontAuthFromConfig({
      resource: "https://mcp.example.com/mcp",
      issuer: "https://idp.example.com",
      requiredScopes: ["mcp"],
      rules: [{ tools: "write_*", scopes: ["mcp:write"] }, { tools: "admin_*", scopes: ["mcp:admin", "mcp:write"], hide: true }],
    });
    expect((await metadataOf(auth)).scopes_supported).toEqual(["mcp", "mcp:write", "mcp:admin"]);
  });

  it("gives rules alone for a stdio front, with a fixed principal", () => {
    const auth = frontAuthFromConfig({ rules: [{ tools: "*", roles: ["ops"] }], principal: { subject: "me", claims: { roles: ["ops"] } } });
    expect(auth.bearer).toBeUndefined();
    expect(auth.authorize).toBeDefined();
  });
});

describe("backendAuthFromConfig", () => {
  it("takes a Client ID Metadata Document URL for an authorization_code backend", () => {
    expect(backendAuthFromConfig({ a: { url: "https://a.example.com/mcp", auth: { type: "authorization_code", clientMetadataUrl: "https://proxy.example.com/client.json" } } })).toBeDefined();
    expect(() => backendAuthFromConfig({ a: { auth: { type: "authorization_code", clientMetadataUrl: "not a url" } } })).toThrow(/mcpServers\.a\.auth/);
  });

  it("checks each server's auth object and leaves servers without one alone", async () => {
    const credentials = backendAuthFromConfig({ a: { auth: { type: "bearer", token: "t" } }, b: {} });
    const owner = { authInfo: undefined, sessionId: undefined };
    expect(await credentials?.({ name: "a" } as never, owner)).toEqual({ headers: { authorization: "Bearer t" } });
    expect(await credentials?.({ name: "b" } as never, owner)).toBeUndefined();
    expect(backendAuthFromConfig({ b: {} })).toBeUndefined();
  });

  it("takes an id_jag backend (SEP-990), per caller without an idToken and with one ID token for all with it", () => {
    const idJag = { type: "id_jag", idpTokenEndpoint: "https://idp.example.com/token", idpClientId: "proxy", clientId: "proxy", clientSecret: "s" };
    const backend = { name: "a" } as never;
    expect(backendAuthFromConfig({ a: { auth: idJag } })?.perCaller(backend)).toBe(true);
    expect(backendAuthFromConfig({ a: { auth: { ...idJag, idToken: "eyJ.id.token" } } })?.perCaller(backend)).toBe(false);
    expect(() => backendAuthFromConfig({ a: { auth: { ...idJag, idpTokenEndpoint: undefined } } })).toThrow(/^mcpServers\.a\.auth/);
  });

  it("refuses unknown types and missing fields, naming the server", () => {
    expect(() => backendAuthFromConfig({ gh: { auth: { type: "magic" } } })).toThrow(/^mcpServers\.gh\.auth\.type: "magic" is not one; use one of bearer, headers, client_credentials, private_key_jwt, authorization_code, workload_identity, token_exchange, id_jag, passthrough, per_user$/);
    expect(() => backendAuthFromConfig({ gh: { auth: { token: "t" } } })).toThrow(/^mcpServers\.gh\.auth\.type: missing; use one of bearer, /);
    expect(() => backendAuthFromConfig({ gh: { auth: { type: "client_credentials", clientId: "x" } } })).toThrow(/^mcpServers\.gh\.auth/);
  });
});

describe("backendAuthFromConfig: DPoP and workload identity", () => {
  it("takes dpop on the grants the proxy gets tokens for, and names them when it is put elsewhere", () => {
    for (const auth of [
      { type: "client_credentials", clientId: "svc", clientSecret: "s", dpop: true },
      { type: "authorization_code", dpop: true },
      { type: "per_user", dpop: true },
      { type: "workload_identity", clientId: "wl", tokenEnv: "WL_JWT", dpop: true },
    ]) {
      expect(backendAuthFromConfig({ a: { auth } }, { users: new UserAuthorization({ callbackUrl: "https://mcp.example.com/oauth/callback" }) }), auth.type).toBeDefined();
    }
    expect(() => backendAuthFromConfig({ a: { auth: { type: "bearer", token: "t", dpop: true } } })).toThrow(
      /^mcpServers\.a\.auth\.dpop: DPoP binds the tokens the proxy gets from an authorization server; use it with type client_credentials, private_key_jwt, authorization_code, workload_identity, per_user, not bearer$/,
    );
    expect(() => backendAuthFromConfig({ a: { auth: { type: "client_credentials", clientId: "svc", clientSecret: "s", dpop: "yes" } } })).toThrow(/^mcpServers\.a\.auth\.dpop: /);
  });

  it("a workload_identity backend names where its JWT is: tokenFile or tokenEnv, one of them", () => {
    const fix = /^backend "a" \(workload_identity\): give tokenFile \(the JWT's path\) or tokenEnv \(the name of the variable holding it\), one of them$/;
    expect(() => backendAuthFromConfig({ a: { auth: { type: "workload_identity", clientId: "wl" } } })).toThrow(fix);
    expect(() => backendAuthFromConfig({ a: { auth: { type: "workload_identity", clientId: "wl", tokenFile: "/run/wl.jwt", tokenEnv: "WL_JWT" } } })).toThrow(fix);
    expect(() => backendAuthFromConfig({ a: { auth: { type: "workload_identity", tokenFile: "/run/wl.jwt" } } })).toThrow(/^mcpServers\.a\.auth\.clientId: /);
  });
});

describe("authSectionFromFlags", () => {
  it("maps the CLI flags onto the config section, reading the API key from the environment", () => {
    const section = authSectionFromFlags(
      { issuer: "https://idp.example.com", requiredScopes: ["a", "b"], resourceUrl: "https://mcp.example.com/mcp", apiKeyEnv: "MY_KEY" },
      { MY_KEY: "secret-key" },
    );
    expect(section).toEqual({ issuer: "https://idp.example.com", requiredScopes: ["a", "b"], resource: "https://mcp.example.com/mcp", apiKeys: [{ key: "secret-key", subject: "api-key" }] });
    const auth = frontAuthFromConfig(section);
    expect(auth.bearer?.resource).toBe("https://mcp.example.com/mcp");
  });

  it("names a missing variable, never a value", () => {
    expect(() => authSectionFromFlags({ apiKeyEnv: "NOPE" }, {})).toThrow(/--api-key-env NOPE: the environment variable NOPE is not set/);
  });
});
